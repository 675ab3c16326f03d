package anomaly

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxAliasNodes bounds how many nodes YAML aliases may add to a document in
// total. Anchors and aliases are legitimate (a shared evaluation block), but
// nested aliases grow exponentially ("billion laughs"); a real anomaly list
// stays far below this.
const maxAliasNodes = 100_000

// parseYAML turns a single-document YAML file into a tree. It decodes into
// yaml.Node, which does not expand aliases, and expands them itself under a
// budget. Scalars keep their source text: an unquoted 2024-05-01 (which YAML
// resolves as a timestamp) stays the string "2024-05-01".
func parseYAML(data []byte) (*node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New(`no YAML document, only comments: an anomaly list needs the anomalies key ("anomalies: []" states there are none)`)
		}
		return nil, yamlError(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, fmt.Errorf("line %d: a second YAML document: an anomaly list is one document", max(extra.Line, 1))
	case !errors.Is(err, io.EOF):
		return nil, yamlError(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("the file holds no YAML document")
	}
	c := &yamlConverter{memo: map[*yaml.Node]*node{}, busy: map[*yaml.Node]bool{}}
	return c.convert(doc.Content[0], 0)
}

// yamlError rewrites a parser error ("yaml: line 3: did not find expected
// key") for a reader who is told the file name by the caller.
func yamlError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if strings.HasPrefix(msg, "line ") {
		if i := strings.Index(msg, ": "); i > 0 {
			return fmt.Errorf("%s: malformed YAML: %s", msg[:i], msg[i+2:])
		}
	}
	return fmt.Errorf("malformed YAML: %s", msg)
}

type yamlConverter struct {
	memo    map[*yaml.Node]*node // anchored nodes already converted
	busy    map[*yaml.Node]bool  // anchored nodes being converted (cycle check)
	aliased int                  // nodes added through aliases so far
}

func (c *yamlConverter) convert(y *yaml.Node, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("line %d: nested deeper than %d levels", y.Line, maxDepth)
	}
	if y.Kind == yaml.AliasNode {
		return c.alias(y, depth)
	}
	if y.Anchor != "" {
		if n, ok := c.memo[y]; ok {
			return n, nil
		}
		c.busy[y] = true
		defer delete(c.busy, y)
	}
	var n *node
	var err error
	switch y.Kind {
	case yaml.ScalarNode:
		n, err = scalar(y)
	case yaml.SequenceNode:
		n, err = c.sequence(y, depth)
	case yaml.MappingNode:
		n, err = c.mapping(y, depth)
	case yaml.DocumentNode:
		err = fmt.Errorf("line %d: a nested YAML document", y.Line)
	default:
		err = fmt.Errorf("line %d: unsupported YAML node", y.Line)
	}
	if err != nil {
		return nil, err
	}
	if y.Anchor != "" {
		c.memo[y] = n
	}
	return n, nil
}

// alias returns the anchored value, shared rather than copied, and charges
// its size against the alias budget.
func (c *yamlConverter) alias(y *yaml.Node, depth int) (*node, error) {
	target := y.Alias
	if target == nil {
		return nil, fmt.Errorf("line %d: unknown anchor %q", y.Line, y.Value)
	}
	if c.busy[target] {
		return nil, fmt.Errorf("line %d: alias *%s refers to a value that contains it", y.Line, y.Value)
	}
	n, err := c.convert(target, depth)
	if err != nil {
		return nil, err
	}
	c.aliased += n.size
	if c.aliased > maxAliasNodes {
		return nil, fmt.Errorf("line %d: YAML aliases expand to more than %d values; refusing (alias bomb?)", y.Line, maxAliasNodes)
	}
	return n, nil
}

func scalar(y *yaml.Node) (*node, error) {
	n := &node{line: y.Line, size: 1, text: y.Value}
	switch tag := y.ShortTag(); tag {
	case "!!str", "!!timestamp":
		// A timestamp is kept as written: the Go field is a string and
		// the reader checks the date format itself.
		n.kind = kindString
	case "!!int", "!!float":
		n.kind = kindNumber
	case "!!null":
		n.kind = kindNull
	case "!!bool":
		n.kind = kindBool
		switch strings.ToLower(y.Value) {
		case "true":
			n.boolean = true
		case "false":
		default:
			return nil, fmt.Errorf("line %d: %q is not a boolean: use true or false", y.Line, clip(y.Value))
		}
	default:
		return nil, fmt.Errorf("line %d: unsupported YAML tag %s", y.Line, tag)
	}
	return n, nil
}

func (c *yamlConverter) sequence(y *yaml.Node, depth int) (*node, error) {
	n := &node{kind: kindList, line: y.Line, size: 1}
	if t := y.ShortTag(); t != "!!seq" {
		return nil, fmt.Errorf("line %d: unsupported YAML tag %s on a list", y.Line, t)
	}
	for _, item := range y.Content {
		v, err := c.convert(item, depth+1)
		if err != nil {
			return nil, err
		}
		n.items = append(n.items, v)
		n.size += v.size
	}
	return n, nil
}

// mapping converts a mapping, rejecting duplicate and non-string keys and
// applying merge keys ("<<: *base"): explicit keys win over merged ones, and
// earlier merged mappings over later ones, as the YAML merge spec says.
func (c *yamlConverter) mapping(y *yaml.Node, depth int) (*node, error) {
	n := &node{kind: kindMap, line: y.Line, size: 1}
	if t := y.ShortTag(); t != "!!map" {
		return nil, fmt.Errorf("line %d: unsupported YAML tag %s on a mapping", y.Line, t)
	}
	if len(y.Content)%2 != 0 {
		return nil, fmt.Errorf("line %d: malformed YAML mapping", y.Line)
	}
	seen := map[string]int{}
	var merges []*yaml.Node
	for i := 0; i < len(y.Content); i += 2 {
		k, v := y.Content[i], y.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: a mapping key must be a plain string", k.Line)
		}
		if first, dup := seen[k.Value]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q (first at line %d)", k.Line, clip(k.Value), first)
		}
		seen[k.Value] = k.Line
		val, err := c.convert(v, depth+1)
		if err != nil {
			return nil, err
		}
		n.entries = append(n.entries, entry{key: k.Value, line: k.Line, val: val})
		n.size += val.size
	}
	for _, m := range merges {
		sources := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			sources = m.Content
		}
		for _, s := range sources {
			src, err := c.convert(s, depth+1)
			if err != nil {
				return nil, err
			}
			if src.kind != kindMap {
				return nil, fmt.Errorf("line %d: a merge key (<<) needs a mapping or a list of mappings", s.Line)
			}
			for _, e := range src.entries {
				if _, ok := seen[e.key]; ok {
					continue
				}
				seen[e.key] = e.line
				n.entries = append(n.entries, e)
				n.size += e.val.size
			}
		}
	}
	return n, nil
}
