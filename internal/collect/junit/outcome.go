package junit

import "github.com/evident-dev/evident/internal/evidence"

// resultKind is a result child of a <testcase>, as a bit so that a test
// case can record which kinds it has.
type resultKind uint8

const (
	resultFailure      resultKind = 1 << iota // <failure>
	resultError                               // <error>
	resultSkipped                             // <skipped>
	resultFlakyFailure                        // Surefire: failed, then passed on a rerun
	resultFlakyError                          // Surefire: errored, then passed on a rerun
	resultRerunFailure                        // Surefire: a rerun after <failure>/<error> failed too
	resultRerunError                          // Surefire: a rerun after <failure>/<error> errored too
)

// resultKindOf returns the result kind of a <testcase> child element.
func resultKindOf(local string) (resultKind, bool) {
	switch local {
	case "failure":
		return resultFailure, true
	case "error":
		return resultError, true
	case "skipped":
		return resultSkipped, true
	case "flakyFailure":
		return resultFlakyFailure, true
	case "flakyError":
		return resultFlakyError, true
	case "rerunFailure":
		return resultRerunFailure, true
	case "rerunError":
		return resultRerunError, true
	}
	return 0, false
}

const resultRerun = resultRerunFailure | resultRerunError

// wantsMessage reports whether the element's message can become a listed
// failure's message.
func (k resultKind) wantsMessage() bool {
	return k&(resultFailure|resultError|resultRerun) != 0
}

// outcome is the result of one attempt or one test.
type outcome uint8

const (
	outcomePassed outcome = iota
	outcomeFailed
	outcomeError
	outcomeSkipped
)

// testcase is what has been read of the open <testcase>.
type testcase struct {
	classname, name string
	micros          int64 // duration
	hasTime         bool
	statusSkipped   bool       // status="notrun" | "disabled" | "skipped"
	seen            resultKind // result children present
	msgSet          resultKind // message slots filled (rerun kinds share one)
	rerunFirst      resultKind // the first rerun child, which decides a rerun-only outcome
	msgFailure      string
	msgError        string
	msgRerun        string
}

// has reports whether the message slot for k is already taken.
func (t *testcase) has(k resultKind) bool {
	if k&resultRerun != 0 {
		return t.msgSet&resultRerun != 0
	}
	return t.msgSet&k != 0
}

func (t *testcase) noteRerun(k resultKind) {
	if k&resultRerun != 0 && t.rerunFirst == 0 {
		t.rerunFirst = k
	}
}

func (t *testcase) setMessage(k resultKind, msg string) {
	switch {
	case k == resultFailure:
		t.msgFailure = msg
	case k == resultError:
		t.msgError = msg
	case k&resultRerun != 0:
		t.msgRerun = msg
	}
}

// attempt is one <testcase> element's outcome.
type attempt struct {
	classname, name string
	outcome         outcome
	flaky           bool // passed with Surefire flaky markers
	message         string
}

// attempt decides the test case's outcome; the order of precedence is the
// one documented on the package.
func (t *testcase) attempt() attempt {
	a := attempt{classname: t.classname, name: t.name}
	switch {
	case t.seen&resultFailure != 0:
		a.outcome, a.message = outcomeFailed, t.msgFailure
	case t.seen&resultError != 0:
		a.outcome, a.message = outcomeError, t.msgError
	case t.rerunFirst == resultRerunFailure:
		a.outcome, a.message = outcomeFailed, t.msgRerun
	case t.rerunFirst == resultRerunError:
		a.outcome, a.message = outcomeError, t.msgRerun
	case t.seen&resultSkipped != 0 || t.statusSkipped:
		a.outcome = outcomeSkipped
	default:
		a.outcome = outcomePassed
		a.flaky = t.seen&(resultFlakyFailure|resultFlakyError) != 0
	}
	return a
}

// group collects consecutive attempts of one test (see the package comment
// on reruns). The zero value is an empty group.
type group struct {
	classname, name         string
	attempts                int
	passed, failed, errored int
	flaky                   bool // a passing attempt carried flaky markers
	lastPassed              bool
	firstFail               attempt // the first failed or erroring attempt
	hasFirstFail            bool
}

// accepts reports whether a continues the group: the same non-empty name
// and classname, after attempts none of which passed.
func (g *group) accepts(a attempt) bool {
	return g.attempts > 0 && !g.lastPassed && a.name != "" &&
		a.name == g.name && a.classname == g.classname
}

func (g *group) add(a attempt) {
	if g.attempts == 0 {
		g.classname, g.name = a.classname, a.name
	}
	g.attempts++
	g.lastPassed = a.outcome == outcomePassed
	switch a.outcome {
	case outcomePassed:
		g.passed++
		g.flaky = g.flaky || a.flaky
	case outcomeFailed, outcomeError:
		if a.outcome == outcomeFailed {
			g.failed++
		} else {
			g.errored++
		}
		if !g.hasFirstFail {
			g.firstFail, g.hasFirstFail = a, true
		}
	}
}

// outcome merges the attempts into one test. For a failed or erroring test
// it returns the test case to list.
func (g *group) outcome() (evidence.TestCase, outcome, bool) {
	switch {
	case g.passed > 0:
		return evidence.TestCase{}, outcomePassed, g.flaky || g.failed+g.errored > 0
	case g.failed+g.errored > 0:
		tc := evidence.TestCase{
			Classname: g.firstFail.classname,
			Name:      g.firstFail.name,
			Outcome:   evidence.OutcomeFailed,
			Message:   g.firstFail.message,
		}
		if g.failed == 0 {
			tc.Outcome = evidence.OutcomeError
			return tc, outcomeError, false
		}
		return tc, outcomeFailed, false
	default:
		return evidence.TestCase{}, outcomeSkipped, false
	}
}
