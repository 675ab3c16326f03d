// Package review reads and writes change-review records, the evidence
// format evident-changes-json: the commits a release adds since the previous
// one, the pull requests each came through and those pull requests' reviews
// (IEC 62304 8.2, change control).
//
// Whether a commit counts as reviewed is decided here and only here, by
// Judge, both when a source writes a record and when a verifier re-derives
// the summary from the archived file: a record whose stored verdicts differ
// from what its own reviews say is invalid.
//
// A commit is reviewed when at least one merged pull request it belongs to
// carries an approval from someone who is neither the commit's author nor
// the pull request's author. A reviewer's approval counts when it is their
// latest decisive review (see Latest): a later "changes requested" or a
// dismissal withdraws it, a later comment does not, as on GitHub.
package review

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/evident-dev/evident/internal/evidence"
)

// Version is the record format version this package writes and reads.
const Version = 1

// MaxSize bounds a record read from anywhere: about half a million commits.
const MaxSize = 256 << 20

// Review states, as GitHub names them.
const (
	StateApproved         = "APPROVED"
	StateChangesRequested = "CHANGES_REQUESTED"
	StateCommented        = "COMMENTED"
	StateDismissed        = "DISMISSED"
	StatePending          = "PENDING"
)

// Reasons a commit is not reviewed, as recorded and reported.
const (
	ReasonNoPullRequest = "no pull request"
	ReasonNotMerged     = "pull request not merged"
	ReasonNoApproval    = "no approving review"
	ReasonSelfApproved  = "approved only by its author"
)

// Record is one change-review record: the history between two points of one
// repository.
type Record struct {
	Version    int    `json:"version"`
	Source     string `json:"source"`     // github
	Repository string `json:"repository"` // owner/name
	// Base is the previous release; nil when the record covers every
	// commit reachable from Head (a first release).
	Base *Point `json:"base,omitempty"`
	Head Point  `json:"head"`
	// Notes say how the range was chosen, for a reader of the record.
	Notes []string `json:"notes,omitempty"`
	// Commits in history order, oldest first.
	Commits []Commit `json:"commits"`
}

// Point is a place in the history: the ref as given (a tag, a branch) and
// the commit it named.
type Point struct {
	Ref string `json:"ref,omitempty"`
	SHA string `json:"sha,omitempty"`
}

// String returns the ref, or the commit when there is no ref.
func (p Point) String() string {
	if p.Ref != "" {
		return p.Ref
	}
	return p.SHA
}

// Commit is one change with the pull requests it came through.
type Commit struct {
	SHA string `json:"sha"`
	// Author is the platform login of the commit's author; AuthorName the
	// git author name, kept when the platform knows no login for it.
	Author       string        `json:"author,omitempty"`
	AuthorName   string        `json:"authorName,omitempty"`
	Title        string        `json:"title,omitempty"` // the first line of the message
	PullRequests []PullRequest `json:"pullRequests"`
	// Reviewed and Reason are Judge's verdict, stored for the reader and
	// checked against the reviews when the record is read.
	Reviewed bool   `json:"reviewed"`
	Reason   string `json:"reason,omitempty"`
}

// Who names the commit's author for a report: the login, else the git name.
func (c Commit) Who() string {
	if c.Author != "" {
		return c.Author
	}
	return c.AuthorName
}

// PullRequest is a pull request a commit belongs to, with the latest
// decisive review of each reviewer.
type PullRequest struct {
	Number    int      `json:"number"`
	URL       string   `json:"url,omitempty"`
	Author    string   `json:"author,omitempty"`
	Merged    bool     `json:"merged"`
	Reviews   []Review `json:"reviews"`   // one per reviewer, sorted by reviewer
	Approvers []string `json:"approvers"` // reviewers whose latest review approves, sorted
}

// Review is one reviewer's standing review of a pull request.
type Review struct {
	Reviewer    string `json:"reviewer"`
	State       string `json:"state"`
	SubmittedAt string `json:"submittedAt,omitempty"` // RFC 3339
	CommitID    string `json:"commitId,omitempty"`    // the head commit the review was given on
}

// Latest reduces every review of a pull request, in the order they were
// submitted, to each reviewer's standing one: their latest approval,
// change request or dismissal, or their latest comment when they never
// decided. Pending (unsubmitted) reviews and reviews without a reviewer are
// dropped. The result is sorted by reviewer.
func Latest(all []Review) []Review {
	decisive := map[string]Review{}
	comment := map[string]Review{}
	for _, r := range all {
		if r.Reviewer == "" {
			continue
		}
		switch r.State {
		case StateApproved, StateChangesRequested, StateDismissed:
			decisive[key(r.Reviewer)] = r
		case StateCommented:
			comment[key(r.Reviewer)] = r
		}
	}
	for k, r := range comment {
		if _, ok := decisive[k]; !ok {
			decisive[k] = r
		}
	}
	out := make([]Review, 0, len(decisive))
	for _, r := range decisive {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return key(out[i].Reviewer) < key(out[j].Reviewer) })
	return out
}

// approvers returns the reviewers whose standing review approves, sorted.
func approvers(reviews []Review) []string {
	out := []string{}
	for _, r := range reviews {
		if r.State == StateApproved {
			out = append(out, r.Reviewer)
		}
	}
	return out
}

// Judge decides whether a commit was reviewed by someone other than its
// author, and if not, why. Logins compare without regard to case, as
// GitHub's do. A commit whose author has no login is judged by the pull
// request's author alone.
func Judge(c Commit) (reviewed bool, reason string) {
	if len(c.PullRequests) == 0 {
		return false, ReasonNoPullRequest
	}
	merged, selfOnly := false, false
	for _, pr := range c.PullRequests {
		if !pr.Merged {
			continue
		}
		merged = true
		for _, a := range pr.Approvers {
			if key(a) == key(c.Author) || key(a) == key(pr.Author) {
				selfOnly = true
				continue
			}
			return true, ""
		}
	}
	switch {
	case !merged:
		return false, ReasonNotMerged
	case selfOnly:
		return false, ReasonSelfApproved
	}
	return false, ReasonNoApproval
}

func key(login string) string { return strings.ToLower(login) }

// Normalize puts a record in its canonical form: pull requests sorted by
// number, reviews reduced with Latest, approvers and verdicts derived. A
// source builds a record, then calls Encode, which normalizes it.
func Normalize(r *Record) {
	r.Version = Version
	if r.Commits == nil {
		r.Commits = []Commit{}
	}
	for i := range r.Commits {
		c := &r.Commits[i]
		if c.PullRequests == nil {
			c.PullRequests = []PullRequest{}
		}
		sort.Slice(c.PullRequests, func(a, b int) bool { return c.PullRequests[a].Number < c.PullRequests[b].Number })
		for j := range c.PullRequests {
			pr := &c.PullRequests[j]
			pr.Reviews = Latest(pr.Reviews)
			pr.Approvers = approvers(pr.Reviews)
		}
		c.Reviewed, c.Reason = Judge(*c)
	}
}

// Encode normalizes r and returns its canonical bytes: indented JSON with a
// trailing newline, pull requests and reviews in a fixed order, commits in
// history order. It refuses a record Read would refuse.
func Encode(r *Record) ([]byte, error) {
	Normalize(r)
	if err := r.validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("encode change-review record: %w", err)
	}
	return buf.Bytes(), nil
}

// Read decodes a record strictly (unknown fields, trailing data and more
// than MaxSize bytes are errors), checks it, re-judges every commit from
// its reviews, and returns the record with its summary. Every problem is a
// KindInvalid error.
func Read(rd io.Reader) (*Record, evidence.ChangeSummary, error) {
	var r Record
	if err := evidence.DecodeStrictJSON(rd, &r, MaxSize); err != nil {
		return nil, evidence.ChangeSummary{}, evidence.Errorf(evidence.KindInvalid, "change-review record: %v", err)
	}
	if err := r.validate(); err != nil {
		return nil, evidence.ChangeSummary{}, err
	}
	var probs []string
	for _, c := range r.Commits {
		for _, pr := range c.PullRequests {
			want := approvers(Latest(pr.Reviews))
			if strings.Join(want, ",") != strings.Join(pr.Approvers, ",") {
				probs = append(probs, fmt.Sprintf("commit %.12s: pull request #%d lists approvers %v, its reviews say %v", c.SHA, pr.Number, pr.Approvers, want))
			}
		}
		ok, why := Judge(c)
		if ok != c.Reviewed || why != c.Reason {
			probs = append(probs, fmt.Sprintf("commit %.12s: recorded as reviewed=%t (%q), its pull requests and reviews say reviewed=%t (%q)", c.SHA, c.Reviewed, c.Reason, ok, why))
		}
		if len(probs) >= 20 {
			break
		}
	}
	if len(probs) > 0 {
		return nil, evidence.ChangeSummary{}, evidence.Errorf(evidence.KindInvalid, "change-review record: %s", strings.Join(probs, "; "))
	}
	return &r, Summarize(&r), nil
}

// Summarize counts a record's commits by verdict, naming the first
// evidence.MaxListedUnreviewed unreviewed ones.
func Summarize(r *Record) evidence.ChangeSummary {
	s := evidence.ChangeSummary{Source: r.Source, Repository: r.Repository, Head: r.Head.String()}
	if r.Base != nil {
		s.Base = r.Base.String()
	}
	for _, c := range r.Commits {
		s.Commits++
		if c.Reviewed {
			s.Reviewed++
			continue
		}
		s.Unreviewed++
		if len(s.UnreviewedChanges) < evidence.MaxListedUnreviewed {
			s.UnreviewedChanges = append(s.UnreviewedChanges, evidence.UnreviewedChange{SHA: c.SHA, Author: c.Who(), Reason: c.Reason})
		}
	}
	return s
}

var (
	shaRE   = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
	loginRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._\[\]-]{0,99})$`)
)

// validate checks what Normalize cannot fix: identities, shapes and
// uniqueness.
func (r *Record) validate() error {
	var probs []string
	add := func(format string, args ...any) {
		if len(probs) < 20 {
			probs = append(probs, fmt.Sprintf(format, args...))
		}
	}
	if r.Version != Version {
		add("version %d: this evident reads version %d", r.Version, Version)
	}
	if strings.TrimSpace(r.Source) == "" {
		add("source is empty")
	}
	if strings.TrimSpace(r.Repository) == "" {
		add("repository is empty")
	}
	if r.Head.Ref == "" && r.Head.SHA == "" {
		add("head: neither ref nor sha is set")
	}
	for _, p := range []struct {
		name string
		pt   *Point
	}{{"base", r.Base}, {"head", &r.Head}} {
		if p.pt != nil && p.pt.SHA != "" && !shaRE.MatchString(p.pt.SHA) {
			add("%s.sha %q: want a full lower-case commit id", p.name, p.pt.SHA)
		}
	}
	if r.Base != nil && r.Base.Ref == "" && r.Base.SHA == "" {
		add("base: neither ref nor sha is set (omit base to cover all history)")
	}
	if r.Commits == nil {
		add("commits: missing (an empty list states there are none)")
	}
	seen := map[string]int{}
	for i, c := range r.Commits {
		where := fmt.Sprintf("commits[%d]", i)
		if !shaRE.MatchString(c.SHA) {
			add("%s: sha %q: want a full lower-case commit id", where, c.SHA)
		} else if j, dup := seen[c.SHA]; dup {
			add("%s: commit %s is also commits[%d]", where, c.SHA, j)
		} else {
			seen[c.SHA] = i
		}
		if c.Author != "" && !loginRE.MatchString(c.Author) {
			add("%s: author %q is not a login", where, c.Author)
		}
		if c.PullRequests == nil {
			add("%s: pullRequests: missing (an empty list states there are none)", where)
		}
		prs := map[int]bool{}
		for _, pr := range c.PullRequests {
			if pr.Number <= 0 {
				add("%s: pull request number %d", where, pr.Number)
			} else if prs[pr.Number] {
				add("%s: pull request #%d listed twice", where, pr.Number)
			}
			prs[pr.Number] = true
			if pr.Reviews == nil || pr.Approvers == nil {
				add("%s: pull request #%d: reviews and approvers are required (empty lists state there are none)", where, pr.Number)
			}
			reviewers := map[string]bool{}
			for _, rv := range pr.Reviews {
				switch {
				case !loginRE.MatchString(rv.Reviewer):
					add("%s: pull request #%d: reviewer %q is not a login", where, pr.Number, rv.Reviewer)
				case reviewers[key(rv.Reviewer)]:
					add("%s: pull request #%d: reviewer %s has two standing reviews", where, pr.Number, rv.Reviewer)
				}
				reviewers[key(rv.Reviewer)] = true
				switch rv.State {
				case StateApproved, StateChangesRequested, StateCommented, StateDismissed:
				default:
					add("%s: pull request #%d: review state %q: want %s, %s, %s or %s", where, pr.Number, rv.State,
						StateApproved, StateChangesRequested, StateCommented, StateDismissed)
				}
				if rv.SubmittedAt != "" {
					if _, err := time.Parse(time.RFC3339, rv.SubmittedAt); err != nil {
						add("%s: pull request #%d: submittedAt %q is not an RFC 3339 time", where, pr.Number, rv.SubmittedAt)
					}
				}
			}
		}
	}
	if len(probs) > 0 {
		return evidence.Errorf(evidence.KindInvalid, "change-review record: %s", strings.Join(probs, "; "))
	}
	return nil
}
