package cyclonedx

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir is the shared parser corpus, relative to this package.
const corpusDir = "../../../testdata/corpus"

// manifestVerdicts reads MANIFEST.md and returns, for every file listed in
// the sections about folder (e.g. "cyclonedx/"), its path relative to the
// corpus directory and its validity column.
func manifestVerdicts(t testing.TB, folder string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "MANIFEST.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			// "## cyclonedx/spec-conformance/ — ..." -> "cyclonedx/spec-conformance/"
			section = strings.Fields(strings.TrimPrefix(line, "## "))[0]
			continue
		}
		if !strings.HasPrefix(section, folder) || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		name := strings.Trim(strings.TrimSpace(cells[0]), "`")
		out[section+name] = strings.TrimSpace(cells[len(cells)-1])
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("MANIFEST.md lists no files under %s", folder)
	}
	return out
}
