package interop

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the README's CI examples from the files CI runs")

// ciFileBlock is a README example that is a file CI runs: a marker naming
// the file, then a fenced block with its content.
var ciFileBlock = regexp.MustCompile("(?s)<!-- ci-file: ([^ ]+) -->\n```yaml\n(.*?)```\n")

// TestREADMEExamples checks that the README's GitHub Actions and GitLab CI
// examples are, byte for byte, the files the interop tests run: what users
// copy is what CI proved. go test -update rewrites the README's blocks.
func TestREADMEExamples(t *testing.T) {
	readme := filepath.Join(root, "README.md")
	text := string(testutil.ReadFile(t, readme))
	want := map[string]bool{"testdata/wearable/.github/workflows/release.yml": false, "testdata/wearable/.gitlab-ci.yml": false}
	updated := ciFileBlock.ReplaceAllStringFunc(text, func(block string) string {
		m := ciFileBlock.FindStringSubmatch(block)
		file, shown := m[1], m[2]
		if _, ok := want[file]; !ok {
			t.Errorf("README shows %s as a file CI runs; the interop tests do not run it", file)
			return block
		}
		want[file] = true
		content := string(testutil.ReadFile(t, filepath.Join(root, file)))
		if shown != content && !*update {
			t.Errorf("README's example of %s differs from the file (go test ./internal/interop -run TestREADMEExamples -update rewrites it)", file)
		}
		return strings.Replace(block, shown, content, 1)
	})
	for file, seen := range want {
		if !seen {
			t.Errorf("README does not show %s in a <!-- ci-file: %s --> block", file, file)
		}
	}
	if *update && updated != text {
		if err := os.WriteFile(readme, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
