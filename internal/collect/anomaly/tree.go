package anomaly

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// valueKind is the JSON data model kind of a parsed value. Both input
// formats are parsed into the same small tree so that every check, and every
// error message, is written once.
type valueKind int

const (
	kindNull valueKind = iota
	kindBool
	kindNumber
	kindString
	kindMap
	kindList
)

// node is one parsed value with the line it starts on (1-based).
type node struct {
	kind    valueKind
	line    int
	text    string  // string value, or the number literal
	boolean bool    // kindBool
	entries []entry // kindMap, in document order, keys unique
	items   []*node // kindList
	size    int     // nodes in this subtree, itself included (YAML alias budget)
}

// entry is one key of a mapping with the line the key is on.
type entry struct {
	key  string
	line int
	val  *node
}

// get returns the value of key, or nil.
func (n *node) get(key string) *node {
	for _, e := range n.entries {
		if e.key == key {
			return e.val
		}
	}
	return nil
}

// describe says what a value is, for "want X, got Y" messages.
func (n *node) describe() string {
	switch n.kind {
	case kindNull:
		return "an empty value (null)"
	case kindBool:
		return fmt.Sprintf("the boolean %t", n.boolean)
	case kindNumber:
		return fmt.Sprintf("the number %s", clip(n.text))
	case kindString:
		return fmt.Sprintf("the string %q", clip(n.text))
	case kindMap:
		return "a mapping"
	case kindList:
		return "a list"
	}
	return "an unknown value"
}

// clip shortens s for an error message, on a rune boundary.
func clip(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// problems collects the errors of one document, each with the line it is on,
// so that a user fixes a file in one pass rather than one error at a time.
type problems struct {
	list  []string
	total int
}

// maxProblems caps how many problems one error message lists.
const maxProblems = 20

func (p *problems) add(line int, format string, args ...any) {
	p.total++
	if len(p.list) >= maxProblems {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		msg = fmt.Sprintf("line %d: %s", line, msg)
	}
	p.list = append(p.list, msg)
}

func (p *problems) empty() bool { return p.total == 0 }

// full reports whether further problems are only counted, so that callers
// can skip work (a key suggestion) whose text would not be shown.
func (p *problems) full() bool { return len(p.list) >= maxProblems }

func (p *problems) String() string {
	s := strings.Join(p.list, "; ")
	if more := p.total - len(p.list); more > 0 {
		s += fmt.Sprintf("; and %d more problems", more)
	}
	return s
}
