package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/testutil"
)

// edit changes a copy of the example project before it is sealed.
type edit func(t *testing.T, project string)

// replace edits one file of the project: the first occurrence of old
// becomes new.
func replace(file, old, new string) edit {
	return func(t *testing.T, project string) {
		testutil.Replace(t, filepath.Join(project, file), old, new)
	}
}

// write replaces (or creates) one file of the project.
func write(file, content string) edit {
	return func(t *testing.T, project string) {
		testutil.WriteFile(t, filepath.Join(project, file), []byte(content))
	}
}

// sparse makes a file of the project size bytes long; what it adds is a
// hole that reads as NUL bytes and takes no disk space. It returns the
// file's size before.
func sparse(t *testing.T, path string, size int64) int64 {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// Bad input fails the seal with exit code 1 and one line on stderr that
// names the config key, the file and the problem; nothing is written, not
// even a staging directory.
func TestSealBadInput(t *testing.T) {
	const twoGiB = 2 << 30
	tests := []struct {
		name string
		edit edit
		// want are the parts of the message; "{size}" is replaced by the
		// size of the edited file before a sparse edit.
		want []string
	}{
		{
			name: "malformed JUnit XML",
			edit: write("reports/fw/hil.xml", `<testsuite name="hil" tests="1"><testcase name="a">`),
			want: []string{"components[0] (wm-firmware).tests[1]: reports/fw/hil.xml: truncated or malformed report: unexpected end of file on line 1 inside <testcase>"},
		},
		{
			name: "malformed CycloneDX JSON",
			edit: write("sbom/fw.cdx.json", `{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [`),
			want: []string{"components[0] (wm-firmware).sbom: sbom/fw.cdx.json: malformed JSON"},
		},
		{
			name: "malformed CycloneDX XML",
			edit: write("sbom/dashboard.cdx.xml", `<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1"><components>`),
			want: []string{"components[3] (wm-dashboard).sbom: sbom/dashboard.cdx.xml:"},
		},
		{
			name: "an SPDX document given as the SBOM",
			edit: func(t *testing.T, project string) {
				spdx := testutil.ReadFile(t, "../../testdata/corpus/spdx/spdx-spec-example_v2.3.spdx.json")
				testutil.WriteFile(t, filepath.Join(project, "sbom/fw.cdx.json"), spdx)
			},
			want: []string{"components[0] (wm-firmware).sbom: sbom/fw.cdx.json: this is an SPDX document (JSON), not CycloneDX"},
		},
		{
			name: "malformed anomaly YAML",
			edit: write("anomalies/fw.yaml", "anomalies:\n  - id: ANOM-FW-0042\n    title: [unclosed\n"),
			want: []string{"components[0] (wm-firmware).anomalies: anomalies/fw.yaml: line ", "malformed YAML"},
		},
		{
			name: "an anomaly field of the wrong type",
			edit: replace("anomalies/fw.yaml", "riskAcceptable: true", `riskAcceptable: "yes"`),
			want: []string{`anomalies/fw.yaml: line 14: anomalies[0] (id ANOM-FW-0042): riskAcceptable: want true or false, got the string "yes"`},
		},
		{
			name: "a misspelt anomaly key",
			edit: replace("anomalies/fw.yaml", "riskAcceptable:", "riskAcceptible:"),
			want: []string{`anomalies/fw.yaml: line 14: anomalies[0] (id ANOM-FW-0042): unknown key "riskAcceptible"; did you mean "riskAcceptable"?`},
		},
		{
			name: "an anomaly id in two lists of a component",
			edit: func(t *testing.T, project string) {
				write("anomalies/fw-more.yaml", "anomalies:\n  - id: ANOM-FW-0039\n    title: Another anomaly under a used id\n    kind: defect\n    status: closed\n")(t, project)
				replace("evident.yaml", `anomalies: ["anomalies/fw.yaml"]`, `anomalies: ["anomalies/fw.yaml", "anomalies/fw-more.yaml"]`)(t, project)
			},
			want: []string{"components[0] (wm-firmware).anomalies: anomaly id ANOM-FW-0039 appears in both anomalies/fw.yaml and anomalies/fw-more.yaml"},
		},
		{
			name: "invalid UTF-8 in a test report",
			edit: write("reports/fw/hil.xml", "<testsuite name=\"hil \xff\xfe\" tests=\"1\"><testcase name=\"a\"/></testsuite>\n"),
			want: []string{"components[0] (wm-firmware).tests[1]: reports/fw/hil.xml: invalid UTF-8 on line 1"},
		},
		{
			name: "a directory where a test report is expected",
			edit: func(t *testing.T, project string) {
				p := filepath.Join(project, "reports/fw/hil.xml")
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(p, 0o755); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{`components[0] (wm-firmware).tests[1].path: "reports/fw/hil.xml" is a directory, want files`},
		},
		{
			name: "a glob that matches only a directory",
			edit: func(t *testing.T, project string) {
				for _, f := range []string{"unit-detector.xml", "unit-drivers.xml"} {
					if err := os.Remove(filepath.Join(project, "reports/fw", f)); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.Mkdir(filepath.Join(project, "reports/fw/unit-all.xml"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{`components[0] (wm-firmware).tests[0].path: "reports/fw/unit-*.xml" matches no file`},
		},
		{
			name: "a glob that matches nothing",
			edit: replace("evident.yaml", `path: "reports/fw/hil.xml"`, `path: "reports/fw/hil-*.xml"`),
			want: []string{`components[0] (wm-firmware).tests[1].path: "reports/fw/hil-*.xml" matches no file`},
		},
		{
			name: "a path outside the project",
			edit: replace("evident.yaml", `path: "reports/fw/hil.xml"`, `path: "../hil.xml"`),
			want: []string{`evident.yaml: components[0] (wm-firmware).tests[1].path: "../hil.xml" leaves the config file's directory`},
		},
		{
			name: "a component without a version",
			edit: replace("evident.yaml", "    version: 3.1.2\n", ""),
			want: []string{"evident.yaml: components[0] (wm-firmware).version is empty"},
		},
		{
			name: "two components with the same name",
			edit: replace("evident.yaml", "name: wm-app\n", "name: wm-firmware\n"),
			want: []string{`evident.yaml: components[1] (wm-firmware): name "wm-firmware" is already used by components[0]`},
		},
		{
			name: "a misspelt config key",
			edit: replace("evident.yaml", "    artifacts: [\"build/fw/*.bin\"", "    artefacts: [\"build/fw/*.bin\""),
			want: []string{`evident.yaml: components[0]: unknown key "artefacts" at line 10`},
		},
		{
			name: "an image not pinned by digest",
			edit: replace("evident.yaml", "wm-alert-service:1.8.0@sha256:4f1d9c2b7a6e5d3c8b0a1f2e3d4c5b6a79880716253443526170819a2b3c4d5e", "wm-alert-service:1.8.0"),
			want: []string{`evident.yaml: components[2] (wm-alert-service).images[0]: image "registry.example.com/acme/wm-alert-service:1.8.0": want NAME@sha256:HEX`},
		},
		{
			name: "a 2 GiB sparse file as a JUnit report",
			edit: func(t *testing.T, project string) { sparse(t, filepath.Join(project, "reports/fw/hil.xml"), twoGiB) },
			want: []string{"components[0] (wm-firmware).tests[1]: reports/fw/hil.xml: byte {size} is a NUL byte: not a text file"},
		},
		{
			name: "a 2 GiB sparse file that is all hole as a JUnit report",
			edit: func(t *testing.T, project string) {
				p := filepath.Join(project, "reports/fw/hil.xml")
				sparse(t, p, 0)
				sparse(t, p, twoGiB)
			},
			want: []string{"components[0] (wm-firmware).tests[1]: reports/fw/hil.xml: byte 0 is a NUL byte: not a text file"},
		},
		{
			name: "a 2 GiB sparse file as go test JSON",
			edit: func(t *testing.T, project string) {
				sparse(t, filepath.Join(project, "reports/alert/unit-go-test.json"), twoGiB)
			},
			want: []string{"components[2] (wm-alert-service).tests[0]: reports/alert/unit-go-test.json: byte {size} is a NUL byte"},
		},
		{
			name: "a 2 GiB sparse file as a CycloneDX XML SBOM",
			edit: func(t *testing.T, project string) {
				sparse(t, filepath.Join(project, "sbom/dashboard.cdx.xml"), twoGiB)
			},
			want: []string{"components[3] (wm-dashboard).sbom: sbom/dashboard.cdx.xml: byte {size} is a NUL byte"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project := testutil.Project(t, testutil.Wearable)
			sizes := map[string]int64{}
			for _, f := range []string{"reports/fw/hil.xml", "reports/alert/unit-go-test.json", "sbom/dashboard.cdx.xml"} {
				if st, err := os.Stat(filepath.Join(project, f)); err == nil {
					sizes[f] = st.Size()
				}
			}
			tt.edit(t, project)
			out := filepath.Join(t.TempDir(), "release")
			r := evident(t, ciEnv(), "seal", "--config", configFile(project), "--key", unencryptedKey(t), "--out", out)
			wantCode(t, r, exitError)

			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "evident: ") {
				t.Errorf("want one line on stderr, got:\n%s", r.stderr)
			}
			for _, w := range tt.want {
				if strings.Contains(w, "{size}") {
					for f, n := range sizes {
						if strings.Contains(w, f) {
							w = strings.ReplaceAll(w, "{size}", fmt.Sprint(n))
						}
					}
				}
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "panic") || r.stdout != "" {
				t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}
			testutil.NoOutput(t, out)
		})
	}
}

// unencryptedKey writes an unencrypted key, for tests that are not about
// the key (decrypting one costs a scrypt).
func unencryptedKey(t *testing.T) string {
	t.Helper()
	priv, _ := keyFiles(t, nil, "--unencrypted")
	return priv
}

// A released artifact is hashed as a stream: a 2 GiB file seals with its
// size and digest recorded, in the memory of a small one.
func TestSealLargeArtifact(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes 2 GiB")
	}
	project := testutil.Project(t, testutil.Wearable)
	sparse(t, filepath.Join(project, "build/fw/wm-fw-3.1.2-full.bin"), 2<<30)
	out := filepath.Join(t.TempDir(), "release")
	r := evident(t, ciEnv(), "seal", "--config", configFile(project), "--key", unencryptedKey(t), "--out", out)
	wantCode(t, r, exitOK)
	var found *evidence.Artifact
	for _, a := range testutil.ReadManifest(t, out).Component("wm-firmware").Artifacts {
		if a.Name == "build/fw/wm-fw-3.1.2-full.bin" {
			found = &a
		}
	}
	// sha256 of 2 GiB of zero bytes: head -c 2G /dev/zero | sha256sum
	const zeros = "sha256:a7c744c13cc101ed66c29f672f92455547889cc586ce6d44fe76ae824958ea51"
	if found == nil || found.Size != 2147483648 || found.Digest.String() != zeros {
		t.Errorf("artifact recorded as %+v, want size 2147483648 and digest %s", found, zeros)
	}
}

// A release that fails its policy is never sealed: exit code 4, a report
// naming the component, the rule and what is missing, and nothing written.
// collect reports the same but writes the (unsigned) directory.
func TestPolicyFailure(t *testing.T) {
	tests := []struct {
		name string
		edit edit
		// scope and rule of the failing rule, and an item it lists as missing.
		scope, rule, missing string
	}{
		{
			name:    "a class C component without integration tests",
			edit:    replace("evident.yaml", "      - {path: \"reports/fw/hil.xml\", level: integration}\n", ""),
			scope:   "wm-firmware",
			rule:    "tests.integration",
			missing: "",
		},
		{
			name:    "an unevaluated anomaly",
			edit:    appendTo("anomalies/fw.yaml", "\n  - id: ANOM-FW-0099\n    title: Display flickers below 5 % battery\n    kind: usability\n    status: open\n"),
			scope:   "wm-firmware",
			rule:    "anomalies.evaluated",
			missing: "ANOM-FW-0099: no riskAcceptable, rationale, evaluatedBy, evaluatedAt",
		},
		{
			name:    "a failing test no anomaly explains",
			edit:    replace("anomalies/fw.yaml", "    tests: [tests.hil.test_connectivity.test_hil_ble_reconnect_after_idle]\n", ""),
			scope:   "wm-firmware",
			rule:    "tests.passing",
			missing: "reports/fw/hil.xml: tests.hil.test_connectivity.test_hil_ble_reconnect_after_idle (failed)",
		},
		{
			name:  "no system tests",
			edit:  replace("evident.yaml", "      - {path: \"reports/system/alert-chain.xml\", level: system}\n", ""),
			scope: "release",
			rule:  "tests.system",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project := testutil.Project(t, testutil.Wearable)
			tt.edit(t, project)
			key := unencryptedKey(t)
			failLine := regexp.MustCompile(`(?m)^  FAIL  ` + regexp.QuoteMeta(tt.scope+"  "+tt.rule) + ` \(IEC 62304 [^)]*\): \S`)

			out := filepath.Join(t.TempDir(), "release")
			r := evident(t, ciEnv(), "seal", "--config", configFile(project), "--key", key, "--out", out)
			wantCode(t, r, exitPolicy)
			if !strings.Contains(r.stdout, "NOT SEALED: policy failed") || !failLine.MatchString(r.stdout) ||
				(tt.missing != "" && !strings.Contains(r.stdout, "          - "+tt.missing)) {
				t.Errorf("the report does not name %s %s (missing %q):\n%s", tt.scope, tt.rule, tt.missing, r.stdout)
			}
			if r.stderr != "" {
				t.Errorf("stderr:\n%s", r.stderr)
			}
			testutil.NoOutput(t, out)

			r = evident(t, ciEnv(), "seal", "--config", configFile(project), "--key", key, "--out", out, "--json")
			wantCode(t, r, exitPolicy)
			var res struct {
				Signed   bool               `json:"signed"`
				Out      string             `json:"out"`
				Manifest *evidence.Manifest `json:"manifest"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
				t.Fatalf("seal --json: %v\n%s", err, r.stdout)
			}
			if res.Signed || res.Out != "" || res.Manifest == nil {
				t.Fatalf("seal --json of a failing release: signed %v, out %q", res.Signed, res.Out)
			}
			checkFailed(t, res.Manifest.Policy, tt.scope, tt.rule, tt.missing)
			testutil.NoOutput(t, out)

			r = evident(t, ciEnv(), "collect", "--config", configFile(project), "--out", out)
			wantCode(t, r, exitPolicy)
			if !failLine.MatchString(r.stdout) || !strings.Contains(r.stdout, "Written to "+out) {
				t.Errorf("collect report:\n%s", r.stdout)
			}
			checkFailed(t, checkReleaseDir(t, out, false).Policy, tt.scope, tt.rule, tt.missing)
			testutil.NoStaging(t, out)
		})
	}
}

// appendTo adds content at the end of a file of the project.
func appendTo(file, content string) edit {
	return func(t *testing.T, project string) {
		p := filepath.Join(project, file)
		testutil.WriteFile(t, p, append(testutil.ReadFile(t, p), content...))
	}
}

// checkFailed fails the test unless p failed, with the rule failing for
// scope ("release" for release-wide rules) and listing missing.
func checkFailed(t *testing.T, p evidence.PolicyResult, scope, rule, missing string) {
	t.Helper()
	if p.Outcome != evidence.OutcomeFail {
		t.Errorf("policy outcome %q", p.Outcome)
	}
	for _, r := range p.Rules {
		s := r.Component
		if s == "" {
			s = "release"
		}
		if s != scope || r.Rule != rule {
			continue
		}
		if r.Outcome != evidence.OutcomeFail {
			t.Errorf("%s %s: outcome %q", scope, rule, r.Outcome)
		}
		if missing != "" && !strings.Contains(strings.Join(r.Missing, "\n"), missing) {
			t.Errorf("%s %s: missing %q does not list %q", scope, rule, r.Missing, missing)
		}
		return
	}
	t.Errorf("no result for %s %s", scope, rule)
}
