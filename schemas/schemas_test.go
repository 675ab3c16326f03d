package schemas_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/evident-dev/evident/schemas"
)

// TestSchemasCompile checks that each published schema is valid draft
// 2020-12 (the compiler validates it against the meta-schema), that its $id
// is the exported constant, and that callers cannot corrupt the embedded copy.
func TestSchemasCompile(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   string
		doc  func() []byte
	}{
		{"manifest", schemas.ManifestID, schemas.Manifest},
		{"anomalies", schemas.AnomaliesID, schemas.Anomalies},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var head struct {
				Schema string `json:"$schema"`
				ID     string `json:"$id"`
			}
			if err := json.Unmarshal(tc.doc(), &head); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if head.ID != tc.id {
				t.Errorf("$id = %q, want %q", head.ID, tc.id)
			}
			if head.Schema != "https://json-schema.org/draft/2020-12/schema" {
				t.Errorf("$schema = %q, want draft 2020-12", head.Schema)
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(tc.doc()))
			if err != nil {
				t.Fatal(err)
			}
			c := jsonschema.NewCompiler()
			c.AssertFormat()
			if err := c.AddResource(tc.id, doc); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Compile(tc.id); err != nil {
				t.Fatalf("compile: %v", err)
			}

			b := tc.doc()
			b[0] = 'X'
			if tc.doc()[0] == 'X' {
				t.Error("the returned slice aliases the embedded schema")
			}
		})
	}
}

// TestClosedObjects: every object the schemas define refuses unknown
// properties, so that a misspelt key is an error for schema users too.
func TestClosedObjects(t *testing.T) {
	for name, doc := range map[string][]byte{"manifest": schemas.Manifest(), "anomalies": schemas.Anomalies()} {
		t.Run(name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal(doc, &v); err != nil {
				t.Fatal(err)
			}
			objects := 0
			var walk func(v any, at string)
			walk = func(v any, at string) {
				switch x := v.(type) {
				case map[string]any:
					if x["type"] == "object" {
						objects++
						if x["additionalProperties"] != false {
							t.Errorf("%s: an object without \"additionalProperties\": false", at)
						}
					}
					for k, c := range x {
						walk(c, at+"/"+k)
					}
				case []any:
					for i, c := range x {
						walk(c, fmt.Sprintf("%s/%d", at, i))
					}
				}
			}
			walk(v, "#")
			if objects == 0 {
				t.Fatal("found no object schemas")
			}
		})
	}
}
