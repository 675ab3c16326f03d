package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	small := []string{"-artifact-bytes", "3000", "-tests", "500", "-sbom-components", "5"}
	tests := []struct {
		name       string
		args       func(dir string) []string
		code       int
		stdout     []string // substrings
		stderr     string
		wantConfig bool
	}{
		{
			name:       "writes a project and says how to seal it",
			args:       func(dir string) []string { return append([]string{"-out", dir}, small...) },
			code:       0,
			stdout:     []string{"artifacts: 4 files, 3000 bytes", "tests:     500 test cases", "sbom:      105 SOUP components", "evident seal --config " + "DIR/evident.yaml"},
			wantConfig: true,
		},
		{
			name:   "no -out",
			args:   func(string) []string { return small },
			code:   2,
			stderr: "usage: genrelease -out DIR",
		},
		{
			name:   "an unknown flag",
			args:   func(dir string) []string { return []string{"-out", dir, "-tets", "5"} },
			code:   2,
			stderr: "flag provided but not defined: -tets",
		},
		{
			name:   "a stray argument",
			args:   func(dir string) []string { return []string{"-out", dir, "extra"} },
			code:   2,
			stderr: "usage:",
		},
		{
			name:   "sizes that cannot make a sealable project",
			args:   func(dir string) []string { return []string{"-out", dir, "-artifacts", "2", "-tests", "10"} },
			code:   1,
			stderr: "genrelease: artifacts 2: want at least 3 (one per component); tests 10: want at least 500",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "project")
			var stdout, stderr bytes.Buffer
			code := run(tt.args(dir), &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tt.code, stderr.String())
			}
			out := strings.ReplaceAll(stdout.String(), dir, "DIR")
			for _, s := range tt.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.stderr)
			}
			_, err := os.Stat(filepath.Join(dir, "evident.yaml"))
			if got := err == nil; got != tt.wantConfig {
				t.Errorf("evident.yaml written: %v, want %v", got, tt.wantConfig)
			}
		})
	}
}
