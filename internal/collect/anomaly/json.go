package anomaly

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxDepth bounds nesting in either format. A valid anomaly list is four
// levels deep; the bound only keeps hostile input from exhausting the stack.
const maxDepth = 64

// jsonParser turns a JSON document into a tree, recording the line of every
// key and value and rejecting duplicate keys, which encoding/json would
// silently resolve to the last one.
type jsonParser struct {
	data []byte
	dec  *json.Decoder
	off  int // data[:off] has been scanned for newlines
	line int // line at off
}

func parseJSON(data []byte) (*node, error) {
	p := &jsonParser{data: data, dec: json.NewDecoder(bytes.NewReader(data)), line: 1}
	p.dec.UseNumber()
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	line := p.next()
	if _, err := p.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("line %d: unexpected data after the JSON document", line)
	}
	return n, nil
}

// next returns the line of the next token: the decoder's offset is the end
// of the previous token, so separators and white space are skipped first.
func (p *jsonParser) next() int {
	end := int(p.dec.InputOffset())
	for end < len(p.data) {
		switch p.data[end] {
		case ' ', '\t', '\r', '\n', ',', ':':
			end++
			continue
		}
		break
	}
	return p.lineAt(end)
}

// lineAt returns the line of byte offset off; offsets only grow.
func (p *jsonParser) lineAt(off int) int {
	if off > len(p.data) {
		off = len(p.data)
	}
	if off > p.off {
		p.line += bytes.Count(p.data[p.off:off], []byte{'\n'})
		p.off = off
	}
	return p.line
}

func (p *jsonParser) token() (json.Token, error) {
	tok, err := p.dec.Token()
	if err == nil {
		return tok, nil
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		line := 1 + bytes.Count(p.data[:min(int(se.Offset), len(p.data))], []byte{'\n'})
		return nil, fmt.Errorf("line %d: malformed JSON: %v", line, se)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return nil, errors.New("truncated JSON: the document ends inside a value")
	}
	return nil, fmt.Errorf("malformed JSON: %v", err)
}

func (p *jsonParser) value(depth int) (*node, error) {
	line := p.next()
	if depth > maxDepth {
		return nil, fmt.Errorf("line %d: nested deeper than %d levels", line, maxDepth)
	}
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return &node{kind: kindNull, line: line, size: 1}, nil
	case bool:
		return &node{kind: kindBool, line: line, boolean: t, size: 1}, nil
	case json.Number:
		return &node{kind: kindNumber, line: line, text: t.String(), size: 1}, nil
	case string:
		return &node{kind: kindString, line: line, text: t, size: 1}, nil
	case json.Delim:
		switch t {
		case '{':
			return p.object(line, depth)
		case '[':
			return p.array(line, depth)
		}
	}
	return nil, fmt.Errorf("line %d: malformed JSON: unexpected %v", line, tok)
}

func (p *jsonParser) object(line, depth int) (*node, error) {
	n := &node{kind: kindMap, line: line, size: 1}
	seen := map[string]int{}
	for p.dec.More() {
		kline := p.next()
		tok, err := p.token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok { // the decoder reports this as a syntax error; be safe anyway
			return nil, fmt.Errorf("line %d: malformed JSON: object key is not a string", kline)
		}
		if first, dup := seen[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q (first at line %d)", kline, key, first)
		}
		seen[key] = kline
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		n.entries = append(n.entries, entry{key: key, line: kline, val: v})
		n.size += v.size
	}
	if _, err := p.token(); err != nil { // '}'
		return nil, err
	}
	return n, nil
}

func (p *jsonParser) array(line, depth int) (*node, error) {
	n := &node{kind: kindList, line: line, size: 1}
	for p.dec.More() {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		n.items = append(n.items, v)
		n.size += v.size
	}
	if _, err := p.token(); err != nil { // ']'
		return nil, err
	}
	return n, nil
}
