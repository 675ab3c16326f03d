package anomaly

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"unicode"

	"github.com/evident-dev/evident/internal/evidence"
)

// An anomaly tracked as an issue (GitHub, GitLab) carries its evaluation in
// the issue body, in one of two shapes:
//
//   - issue-form sections, as GitHub renders an issue form: "### Label",
//     a blank line, the value ("_No response_" for an empty field). A
//     section whose label names an anomaly field (see issueFields: "Kind",
//     "Risk acceptable", "Rationale", "Evaluated by", "Evaluated at", ...)
//     sets that field; other sections ("Steps to reproduce") are ignored,
//     unless their label is a near miss of a field's, which is an error.
//   - a fenced YAML block (```yaml) holding the fields with the keys of an
//     anomaly list entry (kind, riskAcceptable, rationale, ...): the body's
//     only YAML block, or the one marked ```yaml anomaly. In a body with
//     issue-form sections only a marked block, or one before the first
//     heading, counts; the sections may not repeat a field it gives.
//
// Values are read as strictly as in an anomaly list: an unknown key in the
// YAML block, a value of the wrong type, a date that is not ISO 8601, an
// unknown kind or status are errors.

// ErrNoIssueFields is wrapped by ParseIssueBody's error for a body that has
// neither a section naming an anomaly field nor a YAML block.
var ErrNoIssueFields = errors.New("no anomaly fields in the issue body")

// issueField maps an issue-form label to an anomaly field.
type issueField struct {
	label string // as shown in messages and the example issue form
	path  string // json path of the field in evidence.Anomaly
}

// issueFields lists the labels an issue form may use, each field under its
// preferred label first; a label matches when it equals one of these
// ignoring case, spaces and punctuation, so "Risk acceptable?" and
// "riskAcceptable" both name riskAcceptable.
var issueFields = []issueField{
	{"ID", "id"}, {"Anomaly ID", "id"},
	{"Title", "title"},
	{"Description", "description"},
	{"Kind", "kind"}, {"Anomaly kind", "kind"},
	{"Affected components", "components"}, {"Components", "components"},
	{"Discovered", "discovered.date"}, {"Discovery date", "discovered.date"}, {"Discovered on", "discovered.date"},
	{"How discovered", "discovered.how"}, {"Discovered how", "discovered.how"}, {"Discovery method", "discovered.how"},
	{"Discovered by", "discovered.by"},
	{"Links", "links"}, {"Source links", "links"},
	{"Hazards", "safetyImpact.hazards"}, {"Hazard IDs", "safetyImpact.hazards"}, {"Risk IDs", "safetyImpact.hazards"},
	{"Severity", "safetyImpact.severity"},
	{"CWE", "securityImpact.cwe"},
	{"Exploitability", "securityImpact.exploitability"},
	{"Risk acceptable", "riskAcceptable"},
	{"Rationale", "rationale"}, {"Risk rationale", "rationale"},
	{"Mitigation", "mitigation"}, {"Mitigation or workaround", "mitigation"}, {"Workaround", "mitigation"},
	{"User disclosure", "disclosure"}, {"Disclosure", "disclosure"},
	{"Planned correction", "plannedCorrection.version"}, {"Target version", "plannedCorrection.version"},
	{"Evaluated by", "evaluatedBy"},
	{"Evaluated at", "evaluatedAt"}, {"Evaluation date", "evaluatedAt"}, {"Evaluated on", "evaluatedAt"},
	{"Status", "status"},
	{"Failing tests", "tests"}, {"Tests", "tests"},
}

// IssueFormLabel returns the preferred issue-form label of an anomaly field
// ("riskAcceptable" gives "Risk acceptable"), or "" when no label names it.
func IssueFormLabel(path string) string {
	for _, f := range issueFields {
		if f.path == path {
			return f.label
		}
	}
	return ""
}

// listFields are split into entries in an issue form: one per line or
// between commas, list bullets removed.
var listFields = map[string]bool{
	"components": true, "links": true, "tests": true, "safetyImpact.hazards": true, "securityImpact.cwe": true,
}

// lowerFields hold enum values that an issue form's dropdown may capitalise.
var lowerFields = map[string]bool{"kind": true, "status": true}

func normLabel(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func fieldForLabel(label string) (issueField, bool) {
	n := normLabel(label)
	for _, f := range issueFields {
		if normLabel(f.label) == n || normLabel(f.path) == n {
			return f, true
		}
	}
	return issueField{}, false
}

var (
	headingRE = regexp.MustCompile(`^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$`)
	fenceRE   = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})[ \t]*([^`]*)$")
)

// section is the text under one heading.
type section struct {
	heading string
	lines   []string
}

// fence is a fenced code block and the section it lies in (-1: before
// the first heading).
type fence struct {
	info    string
	section int
	lines   []string
}

// scanBody splits a Markdown body into sections (at ATX headings outside
// fenced blocks) and collects its fenced blocks.
func scanBody(body string) (sections []section, fences []fence) {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	cur := -1
	var open *fence
	var marker string
	for _, ln := range strings.Split(body, "\n") {
		if open != nil {
			if t := strings.TrimSpace(ln); strings.HasPrefix(t, marker) && strings.Trim(t, marker[:1]) == "" {
				fences = append(fences, *open)
				open = nil
			} else {
				open.lines = append(open.lines, ln)
			}
		} else if m := fenceRE.FindStringSubmatch(ln); m != nil {
			marker = m[1]
			open = &fence{info: strings.TrimSpace(m[2]), section: cur}
		} else if m := headingRE.FindStringSubmatch(ln); m != nil {
			sections = append(sections, section{heading: m[2]})
			cur = len(sections) - 1
			continue
		}
		if cur >= 0 {
			sections[cur].lines = append(sections[cur].lines, ln)
		}
	}
	if open != nil { // an unclosed fence runs to the end, as in CommonMark
		fences = append(fences, *open)
	}
	return sections, fences
}

// ParseIssueBody reads the anomaly fields of an issue body (see the shapes
// above) into an Anomaly. It does not validate the result: fields an issue
// supplies itself (id, title, status) are the caller's to fill in before
// Validate. A body without anomaly fields gives an error wrapping
// ErrNoIssueFields; every other problem is listed in one KindInvalid error.
func ParseIssueBody(body string) (evidence.Anomaly, error) {
	var a evidence.Anomaly
	if len(body) > MaxSize {
		return a, evidence.Errorf(evidence.KindInvalid, "the issue body is larger than %s", sizeString(MaxSize))
	}
	sections, fences := scanBody(body)
	probs := &problems{}
	d := &decoder{probs: probs, check: checkField, fields: map[reflect.Type][]field{}}
	known := map[int]issueField{}
	for i, s := range sections {
		if f, ok := fieldForLabel(s.heading); ok {
			known[i] = f
		} else if hint := suggestLabel(s.heading); hint != "" {
			probs.add(0, "section %q is not an anomaly field%s", clip(s.heading), hint)
		}
	}

	// The YAML block first, then the sections, which may not repeat a
	// field the block gives.
	fb, ok, err := yamlBlock(fences, known)
	if err != nil {
		return a, err
	}
	if ok {
		root, err := parseYAML([]byte(strings.Join(fb.lines, "\n")))
		if err != nil {
			return a, evidence.Errorf(evidence.KindInvalid, "the yaml block: %v", err)
		}
		if root.kind != kindMap {
			return a, evidence.Errorf(evidence.KindInvalid, "the yaml block is %s; want a mapping of anomaly fields (kind: ..., riskAcceptable: ...)", root.describe())
		}
		d.prefix = "the yaml block"
		d.decode(root, reflect.ValueOf(&a).Elem(), "", "")
	} else if len(known) == 0 {
		return a, &evidence.Error{Kind: evidence.KindInvalid, Message: ErrNoIssueFields.Error(), Err: ErrNoIssueFields}
	}
	seen := map[string]string{}
	for i, s := range sections {
		f, isField := known[i]
		if !isField {
			continue
		}
		if prev, dup := seen[f.path]; dup {
			probs.add(0, "sections %q and %q both give %s", prev, clip(s.heading), f.path)
			continue
		}
		seen[f.path] = s.heading
		n := formValue(f.path, s.lines)
		if n == nil {
			continue // left empty in the form
		}
		d.prefix = fmt.Sprintf("section %q", clip(s.heading))
		if n.kind == kindBool && n.text != "" { // neither yes nor no
			probs.add(0, "%s: %q: want yes or no", d.prefix, clip(n.text))
			continue
		}
		v := fieldAt(d, reflect.ValueOf(&a).Elem(), f.path)
		if !v.IsZero() {
			probs.add(0, "%s: %s is also given by the yaml block", d.prefix, f.path)
			continue
		}
		d.decode(n, v, "", f.path)
	}
	if !probs.empty() {
		return evidence.Anomaly{}, evidence.Errorf(evidence.KindInvalid, "%s", probs)
	}
	return a, nil
}

// yamlBlock picks the anomaly's YAML block, if any. A block marked
// "yaml anomaly" is always the one (two are an error). Otherwise, in a body
// without issue-form fields the only YAML block is; in one with them only
// a block before the first heading is (issue forms put their own
// code-rendered fields, such as logs, under headings).
func yamlBlock(fences []fence, known map[int]issueField) (fence, bool, error) {
	var plain, marked []fence
	for _, f := range fences {
		words := strings.Fields(strings.ToLower(f.info))
		if len(words) == 0 || (words[0] != "yaml" && words[0] != "yml") {
			continue
		}
		if _, inField := known[f.section]; inField {
			continue // a field's own value, rendered as code
		}
		isMarked := false
		for _, w := range words[1:] {
			isMarked = isMarked || w == "anomaly"
		}
		switch {
		case isMarked:
			marked = append(marked, f)
		case len(known) == 0 || f.section < 0:
			plain = append(plain, f)
		}
	}
	switch {
	case len(marked) == 1:
		return marked[0], true, nil
	case len(marked) > 1:
		return fence{}, false, evidence.Errorf(evidence.KindInvalid, "%d yaml blocks are marked \"yaml anomaly\"; want one", len(marked))
	case len(plain) == 1:
		return plain[0], true, nil
	case len(plain) > 1:
		return fence{}, false, evidence.Errorf(evidence.KindInvalid, "%d yaml blocks and none marked as the anomaly's: open its block with ```yaml anomaly", len(plain))
	}
	return fence{}, false, nil
}

// formValue turns a section's text into a value of the field's type: nil
// when the form left it empty; for riskAcceptable a boolean node (with the
// text kept when it is neither yes nor no); for list fields a list.
func formValue(path string, lines []string) *node {
	text := strings.TrimSpace(strings.Join(lines, "\n"))
	// A textarea rendered as code arrives fenced; the value is inside.
	if ls := strings.Split(text, "\n"); len(ls) >= 2 && fenceRE.MatchString(ls[0]) && strings.HasPrefix(strings.TrimSpace(ls[len(ls)-1]), strings.TrimSpace(ls[0])[:3]) {
		text = strings.TrimSpace(strings.Join(ls[1:len(ls)-1], "\n"))
	}
	if text == "" || text == "_No response_" {
		return nil
	}
	switch {
	case path == "riskAcceptable":
		word := strings.ToLower(strings.TrimFunc(strings.Fields(text)[0], func(r rune) bool { return !unicode.IsLetter(r) }))
		switch word {
		case "yes", "true":
			return &node{kind: kindBool, boolean: true, size: 1}
		case "no", "false":
			return &node{kind: kindBool, boolean: false, size: 1}
		}
		return &node{kind: kindBool, text: text, size: 1}
	case listFields[path]:
		n := &node{kind: kindList, size: 1}
		for _, ln := range strings.Split(text, "\n") {
			ln = strings.TrimSpace(ln)
			for _, b := range []string{"- ", "* ", "+ "} {
				ln = strings.TrimPrefix(ln, b)
			}
			for _, item := range strings.Split(ln, ",") {
				if item = strings.TrimSpace(item); item != "" {
					n.items = append(n.items, &node{kind: kindString, text: item, size: 1})
					n.size++
				}
			}
		}
		return n
	case lowerFields[path]:
		return &node{kind: kindString, text: strings.ToLower(text), size: 1}
	}
	return &node{kind: kindString, text: text, size: 1}
}

// fieldAt returns the field at a json path of a struct value, allocating
// the structs it passes through.
func fieldAt(d *decoder, v reflect.Value, path string) reflect.Value {
	for _, seg := range strings.Split(path, ".") {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		f, _ := lookup(d.fieldsOf(v.Type()), seg)
		v = v.Field(f.index)
	}
	return v
}

// suggestLabel returns "; did you mean X?" for a heading that is a near
// miss of a field's label ("Risk acceptible"), "" otherwise: most headings
// of an issue form are not anomaly fields and are rightly ignored.
func suggestLabel(heading string) string {
	n := normLabel(heading)
	if n == "" {
		return ""
	}
	best, bestDist := "", -1
	for _, f := range issueFields {
		l := normLabel(f.label)
		d := editDistance(n, l)
		if d > 0 && d <= max(1, len(l)/6) && (bestDist < 0 || d < bestDist) {
			best, bestDist = f.label, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}
