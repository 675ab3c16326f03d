package anomaly

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/evident-dev/evident/internal/evidence"
)

// FuzzRead feeds arbitrary bytes to Read as YAML and as JSON. Read must not
// panic; it fails only with KindInvalid errors; and whatever it accepts is
// valid and survives a round trip through JSON unchanged.
func FuzzRead(f *testing.F) {
	for _, c := range validCases() {
		f.Add([]byte(c.in), c.f == JSON)
	}
	for _, c := range invalidCases() {
		f.Add([]byte(c.in), c.f == JSON)
	}
	files, _ := filepath.Glob("testdata/*.anomalies.*")
	invalid, _ := filepath.Glob("testdata/invalid/*")
	for _, name := range append(files, invalid...) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, filepath.Ext(name) == ".json")
	}
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		format := YAML
		if isJSON {
			format = JSON
		}
		as, err := Read(bytes.NewReader(data), format)
		if err != nil {
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Fatalf("error of kind %q: %v", evidence.KindOf(err), err)
			}
			return
		}
		if as == nil {
			t.Fatal("accepted, but returned a nil list")
		}
		ids := map[string]bool{}
		for i := range as {
			if err := as[i].Validate(); err != nil {
				t.Fatalf("accepted an invalid anomaly: %v", err)
			}
			if ids[as[i].ID] {
				t.Fatalf("accepted a duplicate id %q", as[i].ID)
			}
			ids[as[i].ID] = true
		}
		b, err := json.Marshal(map[string][]evidence.Anomaly{"anomalies": as})
		if err != nil {
			t.Fatal(err)
		}
		again, err := Read(bytes.NewReader(b), JSON)
		if err != nil {
			t.Fatalf("its own JSON encoding is rejected: %v\n%s", err, b)
		}
		if diff := cmp.Diff(as, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("JSON round trip changed the list (-first +again):\n%s", diff)
		}
	})
}
