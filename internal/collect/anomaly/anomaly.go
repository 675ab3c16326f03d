// Package anomaly reads residual-anomaly lists: a YAML or JSON document whose
// top-level "anomalies" key lists evidence.Anomaly records (IEC 62304 5.8.2,
// 5.8.3). The published JSON Schema schemas/anomalies.v1.schema.json
// describes the same document, and a test keeps the two in agreement.
//
// Reading is strict because the list is evidence: an unknown key is an error
// (a misspelt "riskAcceptible" must never silently drop an evaluation), so is
// a value of the wrong type, a duplicate key or id, a date that is not ISO
// 8601, and anything evidence.Anomaly.Validate rejects. Errors name the line
// and the anomaly, and are all reported at once.
//
// An empty list ("anomalies: []") is valid: it states there are none. A
// document without the anomalies key is an error, so that an empty or wrong
// file is never read as "no anomalies".
package anomaly

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/evident-dev/evident/internal/evidence"
)

// Format is the encoding of an anomaly list; its values are the evidence
// formats recorded in the manifest.
type Format string

// The two encodings of an anomaly list.
const (
	YAML Format = evidence.FormatAnomaliesYAML
	JSON Format = evidence.FormatAnomaliesJSON
)

// MaxSize bounds an anomaly list. A list of thousands of fully written
// anomalies stays far below it; the bound keeps a wrong file (a log, an
// image) from being read into memory whole.
const MaxSize = 16 << 20

// FormatFor picks the format from a file name: .yaml and .yml are YAML,
// .json is JSON (case does not matter); anything else is a KindInvalid error.
func FormatFor(name string) (Format, error) {
	switch strings.ToLower(path.Ext(strings.ReplaceAll(name, `\`, "/"))) {
	case ".yaml", ".yml":
		return YAML, nil
	case ".json":
		return JSON, nil
	}
	return "", evidence.Errorf(evidence.KindInvalid, "%q: an anomaly list must be a .yaml, .yml or .json file", name)
}

// Read decodes and validates one anomaly list of format f from r, reading at
// most MaxSize bytes. It returns the anomalies in file order; an empty list
// gives a non-nil empty slice. Every problem with the content is a
// KindInvalid error whose message lists each problem with its line; an error
// reading r is returned wrapped, as KindInvalid when r is a directory.
func Read(r io.Reader, f Format) ([]evidence.Anomaly, error) {
	if f != YAML && f != JSON {
		return nil, evidence.Errorf(evidence.KindInvalid, "anomaly list format %q: want %s or %s", f, YAML, JSON)
	}
	data, err := readLimited(r, MaxSize)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(data) {
		off := invalidUTF8(data)
		return nil, evidence.Errorf(evidence.KindInvalid, "line %d: not valid UTF-8 (byte %d)", 1+bytes.Count(data[:off], []byte{'\n'}), off)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark, as some editors write
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, evidence.Errorf(evidence.KindInvalid, "empty file: an anomaly list needs the anomalies key (%s states there are none)", emptyList(f))
	}
	var root *node
	if f == YAML {
		root, err = parseYAML(data)
	} else {
		root, err = parseJSON(data)
	}
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "%v", err)
	}
	return document(root, f)
}

// readLimited reads r to its end, refusing more than max bytes.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		if errors.Is(err, syscall.EISDIR) {
			return nil, &evidence.Error{Kind: evidence.KindInvalid, Message: "is a directory, not an anomaly list", Err: err}
		}
		return nil, fmt.Errorf("read anomaly list: %w", err)
	}
	if int64(len(data)) > max {
		return nil, evidence.Errorf(evidence.KindInvalid, "larger than %s: not an anomaly list", sizeString(max))
	}
	return data, nil
}

func sizeString(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

func emptyList(f Format) string {
	if f == JSON {
		return `{"anomalies": []}`
	}
	return `"anomalies: []"`
}

func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// Top-level keys of the document. "$schema" lets an editor find the
// published schema; it is accepted and ignored.
const (
	keyAnomalies = "anomalies"
	keySchema    = "$schema"
)

// document checks the top level and decodes, checks and validates every
// entry, collecting all problems.
func document(root *node, f Format) ([]evidence.Anomaly, error) {
	probs := &problems{}
	if root.kind != kindMap {
		return nil, evidence.Errorf(evidence.KindInvalid, "line %d: the document is %s; want a mapping with the anomalies key", root.line, root.describe())
	}
	var list *node
	for _, e := range root.entries {
		switch e.key {
		case keyAnomalies:
			list = e.val
		case keySchema:
			if e.val.kind != kindString {
				probs.add(e.val.line, "%s: want a string, got %s", keySchema, e.val.describe())
			}
		default:
			hint := ""
			if !probs.full() {
				hint = suggestKey(e.key, []string{keyAnomalies, keySchema})
			}
			probs.add(e.line, "unknown top-level key %q%s", clip(e.key), hint)
		}
	}
	switch {
	case list == nil:
		probs.add(0, "no anomalies key: an anomaly list is a mapping with an anomalies list (%s states there are none)", emptyList(f))
	case list.kind == kindNull:
		probs.add(list.line, "anomalies has no value: write %s to state there are none", emptyList(f))
		list = nil
	case list.kind != kindList:
		probs.add(list.line, "anomalies: want a list, got %s", list.describe())
		list = nil
	}
	var out []evidence.Anomaly
	if list != nil {
		out = make([]evidence.Anomaly, 0, len(list.items))
		d := &decoder{probs: probs, check: checkField, fields: map[reflect.Type][]field{}}
		type first struct{ index, line int }
		ids := map[string]first{}
		for i, item := range list.items {
			d.prefix = fmt.Sprintf("anomalies[%d]", i)
			if item.kind == kindMap {
				if id := item.get("id"); id != nil && id.kind == kindString && strings.TrimSpace(id.text) != "" {
					d.prefix += fmt.Sprintf(" (id %s)", clip(id.text))
				}
			}
			var a evidence.Anomaly
			before := probs.total
			d.decode(item, reflect.ValueOf(&a).Elem(), "", "")
			if probs.total == before {
				if err := a.Validate(); err != nil {
					probs.add(item.line, "anomalies[%d]: %v", i, err)
				}
			}
			if strings.TrimSpace(a.ID) != "" {
				if p, dup := ids[a.ID]; dup {
					probs.add(item.line, "%s: duplicate id, first used by anomalies[%d] at line %d (ids are never reused)", d.prefix, p.index, p.line)
				} else {
					ids[a.ID] = first{i, item.line}
				}
			}
			out = append(out, a)
		}
	}
	if !probs.empty() {
		return nil, evidence.Errorf(evidence.KindInvalid, "%s", probs)
	}
	return out, nil
}

// checkField applies the checks on a string value beyond its type, by
// field path ("safetyImpact.hazards"). The JSON Schema states the same rules
// as patterns.
func checkField(path, s string) error {
	switch path {
	case "components":
		return checkComponent(s)
	case "discovered.date", "evaluatedAt":
		return checkDate(s)
	case "links", "tests", "safetyImpact.hazards", "securityImpact.cwe":
		if strings.TrimSpace(s) == "" {
			return errors.New("empty entry")
		}
	}
	return nil
}

// dateRE is the shape of an ISO 8601 calendar date, optionally followed by
// an RFC 3339 time; time.Parse then rejects impossible days.
var dateRE = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$`)

func checkDate(s string) error {
	bad := fmt.Errorf("%q is not a date: want YYYY-MM-DD or an RFC 3339 date-time such as 2024-05-01T14:30:00Z", clip(s))
	if !dateRE.MatchString(s) {
		return bad
	}
	layout := "2006-01-02"
	if len(s) > len(layout) {
		layout = time.RFC3339
	}
	if _, err := time.Parse(layout, s); err != nil {
		return bad
	}
	return nil
}

// checkComponent accepts NAME or NAME@VERSION with evident's name and
// version rules.
func checkComponent(s string) error {
	name, version, hasVersion := strings.Cut(s, "@")
	if err := evidence.ValidateName("name", name); err != nil {
		return fmt.Errorf("want NAME or NAME@VERSION: %w", err)
	}
	if hasVersion {
		if err := evidence.ValidateVersion("version", version); err != nil {
			return fmt.Errorf("want NAME or NAME@VERSION: %w", err)
		}
	}
	return nil
}
