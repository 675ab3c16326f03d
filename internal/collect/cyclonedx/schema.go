package cyclonedx

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/evident-dev/evident/internal/evidence"
)

// The official CycloneDX JSON schemas, as shipped with cyclonedx-go v0.12.0
// (see schema/README.md for provenance, licence and the two local changes).
//
//go:embed schema/*.json
var schemaFS embed.FS

// spec describes one supported CycloneDX specification version.
type spec struct {
	version string // "1.6"
	file    string // embedded schema file
	id      string // the schema's $id, under which it is registered
	xmlNS   string // namespace of the XML form
}

// specs lists the supported versions, oldest first. The $id of 1.2 and 1.3
// carry a letter: that is how upstream published them.
var specs = []spec{
	{"1.2", "bom-1.2.schema.json", "http://cyclonedx.org/schema/bom-1.2b.schema.json", "http://cyclonedx.org/schema/bom/1.2"},
	{"1.3", "bom-1.3.schema.json", "http://cyclonedx.org/schema/bom-1.3a.schema.json", "http://cyclonedx.org/schema/bom/1.3"},
	{"1.4", "bom-1.4.schema.json", "http://cyclonedx.org/schema/bom-1.4.schema.json", "http://cyclonedx.org/schema/bom/1.4"},
	{"1.5", "bom-1.5.schema.json", "http://cyclonedx.org/schema/bom-1.5.schema.json", "http://cyclonedx.org/schema/bom/1.5"},
	{"1.6", "bom-1.6.schema.json", "http://cyclonedx.org/schema/bom-1.6.schema.json", "http://cyclonedx.org/schema/bom/1.6"},
	{"1.7", "bom-1.7.schema.json", "http://cyclonedx.org/schema/bom-1.7.schema.json", "http://cyclonedx.org/schema/bom/1.7"},
}

// sharedSchemas are the documents the bom schemas $ref by relative URL,
// registered under their $id so that nothing is ever fetched.
var sharedSchemas = []struct{ file, id string }{
	{"spdx.schema.json", "http://cyclonedx.org/schema/spdx.schema.json"},
	{"jsf-0.82.schemax.json", "http://cyclonedx.org/schema/jsf-0.82.schema.json"},
	{"cryptography-defs.schema.json", "http://cyclonedx.org/schema/cryptography-defs.schema.json"},
}

// unsupportedSpec is the error for a specVersion evident does not read.
func unsupportedSpec(v string) error {
	switch v {
	case "1.0", "1.1":
		return evidence.Errorf(evidence.KindInvalid, "spec version %s is not supported (1.2–1.7 are)", v)
	}
	return evidence.Errorf(evidence.KindInvalid, "spec version %q is not supported (1.2–1.7 are)", v)
}

// schemaSet is the compiled schema of one spec version: the whole document,
// and the definitions of the array elements that are validated one at a
// time while streaming.
type schemaSet struct {
	spec          spec
	root          *jsonschema.Schema
	component     *jsonschema.Schema
	dependency    *jsonschema.Schema
	vulnerability *jsonschema.Schema // nil before 1.4
}

// compiled holds one lazily compiled schemaSet per entry of specs. Compiling
// bom-1.7 takes tens of milliseconds, too slow to repeat per SBOM, so the
// result is computed once and is read-only afterwards (compiled schemas are
// safe for concurrent use).
var compiled = func() []func() (*schemaSet, error) {
	fs := make([]func() (*schemaSet, error), len(specs))
	for i, s := range specs {
		fs[i] = sync.OnceValues(func() (*schemaSet, error) { return compileSpec(s) })
	}
	return fs
}()

// schemasFor returns the compiled schemas of version v.
func schemasFor(v string) (*schemaSet, error) {
	for i, s := range specs {
		if s.version == v {
			return compiled[i]()
		}
	}
	return nil, unsupportedSpec(v)
}

// compileSpec compiles the schema of s with every referenced document
// registered locally: the loader is removed, so an unknown $ref fails to
// compile instead of reaching for the network or the file system.
func compileSpec(s spec) (*schemaSet, error) {
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	c.DefaultDraft(jsonschema.Draft7)
	// Draft-07 asserts formats by default in this library; say so explicitly,
	// the conformance suite's invalid-metadata-timestamp and
	// invalid-serialnumber cases depend on it.
	c.AssertFormat()
	add := func(file, id string) error {
		b, err := schemaFS.ReadFile("schema/" + file)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		return c.AddResource(id, doc)
	}
	for _, sh := range sharedSchemas {
		if err := add(sh.file, sh.id); err != nil {
			return nil, fmt.Errorf("cyclonedx schema: %w", err)
		}
	}
	if err := add(s.file, s.id); err != nil {
		return nil, fmt.Errorf("cyclonedx schema: %w", err)
	}
	set := &schemaSet{spec: s}
	var err error
	if set.root, err = c.Compile(s.id); err != nil {
		return nil, fmt.Errorf("cyclonedx schema %s: %w", s.version, err)
	}
	if set.component, err = c.Compile(s.id + "#/definitions/component"); err != nil {
		return nil, fmt.Errorf("cyclonedx schema %s: %w", s.version, err)
	}
	if set.dependency, err = c.Compile(s.id + "#/definitions/dependency"); err != nil {
		return nil, fmt.Errorf("cyclonedx schema %s: %w", s.version, err)
	}
	if s.version >= "1.4" {
		if set.vulnerability, err = c.Compile(s.id + "#/definitions/vulnerability"); err != nil {
			return nil, fmt.Errorf("cyclonedx schema %s: %w", s.version, err)
		}
	}
	return set, nil
}

// noLoader refuses every URL the compiler did not get as a resource.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema %s is not embedded; evident never fetches schemas", url)
}

// maxSchemaErrors caps the schema violations quoted in one error.
const maxSchemaErrors = 3

// schemaError turns a validation failure of the value at JSON pointer
// prefix ("" for the document, "/components/7" for a streamed element) into
// an invalid-input error quoting the first few violations, each as
// "at POINTER: reason". The violations are the leaves of the validator's
// error tree: the summary nodes above them ("oneOf failed", "$ref failed")
// say nothing a reader can act on.
func schemaError(version, prefix string, err error) error {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return evidence.Errorf(evidence.KindInvalid, "does not match the CycloneDX %s schema: %v", version, err)
	}
	var msgs []string
	seen := map[string]bool{}
	total := 0
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		m := fmt.Sprintf("at %s: %s", pointer(prefix, e.InstanceLocation), leafMessage(e))
		if seen[m] {
			return
		}
		seen[m] = true
		total++
		if len(msgs) < maxSchemaErrors {
			msgs = append(msgs, m)
		}
	}
	walk(ve)
	more := ""
	if total > len(msgs) {
		more = fmt.Sprintf(" (and %d more)", total-len(msgs))
	}
	return evidence.Errorf(evidence.KindInvalid, "does not match the CycloneDX %s schema: %s%s", version, strings.Join(msgs, "; "), more)
}

// maxReason caps one violation's text: an enumeration such as the SPDX
// licence list would otherwise quote hundreds of values.
const maxReason = 200

// leafMessage is the validator's English message for one violation.
func leafMessage(e *jsonschema.ValidationError) string {
	leaf := &jsonschema.ValidationError{SchemaURL: e.SchemaURL, InstanceLocation: e.InstanceLocation, ErrorKind: e.ErrorKind}
	msg := "value does not match"
	if out := leaf.BasicOutput(); out.Error != nil {
		msg = out.Error.String()
	}
	if len(msg) > maxReason {
		cut := maxReason
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// pointer renders prefix plus the instance location as a JSON pointer.
func pointer(prefix string, loc []string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, tok := range loc {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(tok))
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}
