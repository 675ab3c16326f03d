package cyclonedx

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/evident-dev/evident/internal/evidence"
)

// FuzzRead feeds arbitrary bytes to Sniff and Read. Whatever the input, they
// must not panic or hang; any error must be an invalid-input error (the
// bytes are in memory, so no I/O can fail); and an accepted document must
// have reported exactly the entries it counted.
func FuzzRead(f *testing.F) {
	for _, dir := range []string{"cyclonedx", "spdx"} {
		err := filepath.WalkDir(filepath.Join(corpusDir, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err == nil && len(b) <= 64<<10 { // large files slow every iteration down
				f.Add(b)
			}
			return err
		})
		if err != nil {
			f.Fatal(err)
		}
	}
	f.Add([]byte(mappingJSON))
	f.Add([]byte(mappingXML))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, sum, err := readBytes(b)
		if err != nil {
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Fatalf("error of kind %q: %v", evidence.KindOf(err), err)
			}
			return
		}
		if sum.Components != len(entries) {
			t.Fatalf("summary counts %d components, fn got %d", sum.Components, len(entries))
		}
		if sum.Format != "CycloneDX" || sum.SpecVersion == "" || sum.Completeness == "" {
			t.Fatalf("incomplete summary %+v", sum)
		}
	})
}
