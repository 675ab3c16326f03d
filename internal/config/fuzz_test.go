package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/evident-dev/evident/internal/config"
	"github.com/evident-dev/evident/internal/evidence"
)

// FuzzLoad: Load never panics, every error it returns is an invalid-input
// error, and what it accepts validates.
func FuzzLoad(f *testing.F) {
	wearable, err := os.ReadFile("../../testdata/wearable/evident.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		string(wearable), fullYAML, baseYAML, component(), "",
		component("version: 1.10"), component("SafetyClass: B"), component("build: {command: make, tools: [gcc]}"),
		component(`tests: [{path: r.xml, level: unit, lvl: 2}]`), component("artifacts: a"),
		"x: &c {name: c, kind: app, version: '1', safetyClass: B, artifacts: [a]}\nproduct: {name: p, version: '1'}\ncomponents: [*c]\n",
		"base: &b {kind: app}\nproduct: {name: p, version: '1'}\ncomponents:\n  - <<: *b\n    name: c\n    version: '1'\n    safetyClass: B\n    artifacts: [a]\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body string) {
		p := filepath.Join(dir, config.DefaultFile)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(config.LoadOptions{Path: p, Sets: []string{"product.version=1"}})
		if err != nil {
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Fatalf("kind %q: %v", evidence.KindOf(err), err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Load accepted a config Validate refuses: %v", err)
		}
	})
}
