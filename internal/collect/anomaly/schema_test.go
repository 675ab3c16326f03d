package anomaly

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/evident-dev/evident/schemas"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemas.Anomalies()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat() // "date" and "date-time" are checked, as a strict consumer would
	if err := c.AddResource(schemas.AnomaliesID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schemas.AnomaliesID)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// schemaCheck validates a document against the published schema the way a
// user without evident would: JSON as it is; YAML first converted to JSON
// with yaml.v3 (which resolves anchors, merge keys and timestamps).
func schemaCheck(sch *jsonschema.Schema, data []byte, f Format) error {
	if f == YAML {
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		data = b
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

// knownDifferences are the cases where Read and the schema disagree, and
// why. Each is asserted, so the list cannot go stale.
var knownDifferences = map[string]string{
	// What JSON Schema cannot express.
	"duplicate id":      "unique ids across items need comparing values; uniqueItems compares whole items",
	"duplicate-id.json": "unique ids across items need comparing values; uniqueItems compares whole items",
	// What the JSON data model has no room for: the document given to the
	// schema validator has already lost it.
	"duplicate key json":           "the JSON data model has no duplicate keys; decoders keep the last one",
	"duplicate anomalies key json": "the JSON data model has no duplicate keys; decoders keep the last one",
	"duplicate-key.json":           "the JSON data model has no duplicate keys; decoders keep the last one",
	"invalid UTF-8 json":           "encoding/json replaces invalid UTF-8 with U+FFFD before the schema sees it",
	"latin1.json":                  "encoding/json replaces invalid UTF-8 with U+FFFD before the schema sees it",
	"byte order mark":              "the reader ignores a UTF-8 byte order mark, as RFC 8259 allows; the schema tool's JSON parser does not (reader accepts, schema rejects)",
	// YAML to JSON conversion, which is the user's, not the schema's.
	"two documents":         "yaml.Unmarshal converts only the first document",
	"empty second document": "yaml.Unmarshal converts only the first document",
	"two-documents.yaml":    "yaml.Unmarshal converts only the first document",
	"space instead of T":    "yaml.v3 resolves an unquoted '2024-05-01 14:30:00' to a timestamp and converts it to RFC 3339; the reader keeps the text as written",
	"custom tag":            "yaml.Unmarshal ignores an unknown local tag; the reader refuses it",
	"binary tag":            "yaml.Unmarshal decodes !!binary into a string; the reader refuses it",
}

type schemaCase struct {
	name string
	f    Format
	data []byte
}

func schemaCases(t *testing.T) []schemaCase {
	var cases []schemaCase
	for _, c := range validCases() {
		cases = append(cases, schemaCase{c.name, c.f, []byte(c.in)})
	}
	for _, c := range invalidCases() {
		cases = append(cases, schemaCase{c.name, c.f, []byte(c.in)})
	}
	files, err := filepath.Glob("testdata/*.anomalies.*")
	if err != nil {
		t.Fatal(err)
	}
	invalid, err := filepath.Glob("testdata/invalid/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append(files, invalid...) {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := FormatFor(name)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, schemaCase{filepath.Base(name), f, data})
	}
	return cases
}

// TestSchemaAgreesWithReader runs every fixture and every table case through
// both the published JSON Schema and Read and requires the same verdict.
func TestSchemaAgreesWithReader(t *testing.T) {
	sch := compileSchema(t)
	seen := map[string]bool{}
	for _, c := range schemaCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if seen[c.name] {
				t.Fatalf("two cases named %q", c.name)
			}
			seen[c.name] = true
			_, readErr := Read(bytes.NewReader(c.data), c.f)
			schemaErr := schemaCheck(sch, c.data, c.f)
			if why, ok := knownDifferences[c.name]; ok {
				if (readErr == nil) == (schemaErr == nil) {
					t.Fatalf("listed as a known difference (%s), but both agree (read: %v; schema: %v): remove it from the list", why, readErr, schemaErr)
				}
				return
			}
			switch {
			case readErr == nil && schemaErr != nil:
				t.Errorf("Read accepts, the schema rejects:\n%v", schemaErr)
			case readErr != nil && schemaErr == nil:
				t.Errorf("the schema accepts, Read rejects: %v", readErr)
			}
		})
	}
	for name := range knownDifferences {
		if !seen[name] {
			t.Errorf("known difference %q names no case", name)
		}
	}
}

// TestSchemaRejectsWhatItShould spot-checks that agreement is not two
// validators that accept everything: each mutation of a valid record must
// be rejected by the schema.
func TestSchemaRejectsWhatItShould(t *testing.T) {
	sch := compileSchema(t)
	valid := `{"anomalies":[{"id":"A-1","title":"t","kind":"defect","status":"open"%s}]}`
	if err := schemaCheck(sch, []byte(strings.Replace(valid, "%s", "", 1)), JSON); err != nil {
		t.Fatalf("the minimal record is rejected: %v", err)
	}
	for _, extra := range []string{
		`,"riskAcceptible":true`,
		`,"riskAcceptable":true`,
		`,"riskAcceptable":true,"rationale":" "`,
		`,"evaluatedAt":"2024-02-30"`,
		`,"discovered":{"date":"2024-05-01","who":"x"}`,
		`,"components":["a b"]`,
		`,"tests":"x"`,
		`,"plannedCorrection":{"version":2.1}`,
	} {
		if err := schemaCheck(sch, []byte(strings.Replace(valid, "%s", extra, 1)), JSON); err == nil {
			t.Errorf("schema accepts a record with %s", extra)
		}
	}
}

// TestYAMLv3RefusesAliasBomb pins the protection that schemaCheck's
// yaml.Unmarshal relies on. Read does not rely on it: it decodes into
// yaml.Node, which does not expand aliases, and budgets expansion itself
// (see alias-bomb.yaml in TestInvalidFixtures).
func TestYAMLv3RefusesAliasBomb(t *testing.T) {
	data, err := os.ReadFile("testdata/invalid/alias-bomb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var v any
	err = yaml.Unmarshal(data, &v)
	if err == nil || !strings.Contains(err.Error(), "excessive aliasing") {
		t.Fatalf("yaml.Unmarshal = %v; want the excessive aliasing error", err)
	}
}
