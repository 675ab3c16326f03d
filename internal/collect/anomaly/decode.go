package anomaly

import (
	"fmt"
	"reflect"
	"strings"
)

// decoder fills a Go value from a tree strictly: every key must name a field
// (by its json tag), every value must have the field's type, and nothing is
// coerced — a YAML 1.10 is a number, not the version "1.10", and "yes" is a
// string, not true. The Go types stay the single definition of the format;
// a field added to evidence.Anomaly is read without a change here.
type decoder struct {
	probs  *problems
	prefix string                     // "anomalies[2] (id ANOM-7)"
	check  func(path, s string) error // extra checks on string values, by field path
	fields map[reflect.Type][]field
}

// field is a struct field and the key it is written under.
type field struct {
	key   string
	index int
}

func (d *decoder) fieldsOf(t reflect.Type) []field {
	if fs, ok := d.fields[t]; ok {
		return fs
	}
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || key == "-" {
			continue
		}
		if key == "" {
			key = sf.Name
		}
		fs = append(fs, field{key: key, index: i})
	}
	d.fields[t] = fs
	return fs
}

// at names a place for a message: the anomaly, then the field path.
func (d *decoder) at(where string) string {
	if where == "" {
		return d.prefix
	}
	return d.prefix + ": " + where
}

// decode fills v from n. where is the field path shown to the user
// ("safetyImpact.hazards[1]"); path is the same without list indices, the key
// passed to d.check.
func (d *decoder) decode(n *node, v reflect.Value, where, path string) {
	if n.kind == kindNull {
		d.probs.add(n.line, "%s: no value: give one or remove the key", d.at(where))
		return
	}
	switch v.Kind() {
	case reflect.String:
		if n.kind != kindString {
			d.probs.add(n.line, "%s: want a string, got %s%s", d.at(where), n.describe(), quoteHint(n))
			return
		}
		v.SetString(n.text)
		if err := d.check(path, n.text); err != nil {
			d.probs.add(n.line, "%s: %v", d.at(where), err)
		}
	case reflect.Bool:
		if n.kind != kindBool {
			d.probs.add(n.line, "%s: want true or false, got %s", d.at(where), n.describe())
			return
		}
		v.SetBool(n.boolean)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), where, path)
		v.Set(p)
	case reflect.Slice:
		if n.kind != kindList {
			d.probs.add(n.line, "%s: want a list, got %s", d.at(where), n.describe())
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.items), len(n.items))
		for i, item := range n.items {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", where, i), path)
		}
		v.Set(s)
	case reflect.Struct:
		if n.kind != kindMap {
			d.probs.add(n.line, "%s: want a mapping, got %s", d.at(where), n.describe())
			return
		}
		fs := d.fieldsOf(v.Type())
		for _, e := range n.entries {
			f, ok := lookup(fs, e.key)
			if !ok {
				hint := ""
				if !d.probs.full() {
					hint = suggest(e.key, fs)
				}
				d.probs.add(e.line, "%s: unknown key %q%s", d.at(where), clip(e.key), hint)
				continue
			}
			d.decode(e.val, v.Field(f.index), join(where, e.key), join(path, e.key))
		}
	default:
		// Only reachable if evidence.Anomaly gains a field of a kind
		// this decoder does not know; a test decodes every field.
		d.probs.add(n.line, "%s: internal error: cannot decode into Go %s", d.at(where), v.Type())
	}
}

func lookup(fs []field, key string) (field, bool) {
	for _, f := range fs {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// quoteHint tells a YAML author why 1.10 or 2024 was not taken as text.
func quoteHint(n *node) string {
	if n.kind == kindNumber || n.kind == kindBool {
		return " (put it in quotes)"
	}
	return ""
}

// suggest returns "; did you mean X?" for the known key closest to a
// misspelt one, or "" when none is close.
func suggest(key string, fs []field) string {
	keys := make([]string, len(fs))
	for i, f := range fs {
		keys[i] = f.key
	}
	return suggestKey(key, keys)
}

func suggestKey(key string, known []string) string {
	best, bestDist := "", -1
	for _, k := range known {
		d := editDistance(strings.ToLower(key), strings.ToLower(k))
		if d <= 1+len(k)/4 && (bestDist < 0 || d < bestDist) {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance is the Levenshtein distance of two short strings, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 { // keys are short; do not spend time on junk
		return len(a) + len(b)
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
