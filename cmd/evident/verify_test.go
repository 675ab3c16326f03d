package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/testutil"
)

// verifyReport is the --json output of verify.
type verifyReport struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Name   string `json:"name"`
		OK     bool   `json:"ok"`
		Detail string `json:"detail"`
	} `json:"checks"`
}

func (r verifyReport) failed() (names []string, details string) {
	for _, c := range r.Checks {
		if !c.OK {
			names = append(names, c.Name)
			details += c.Name + ": " + c.Detail + "\n"
		}
	}
	return names, details
}

// sealedRelease seals the example product with a new key and returns the
// release directory, the public key file and the manifest.
func sealedRelease(t *testing.T) (dir, pub string, m *evidence.Manifest) {
	t.Helper()
	key := testutil.NewKey(t, t.TempDir(), "release")
	dir = filepath.Join(t.TempDir(), "release")
	m = testutil.Seal(t, testutil.Project(t, testutil.Wearable), dir, key.Private, testutil.GitHubEnv())
	return dir, key.PublicFile, m
}

// One changed byte in any evidence file of a release fails verification
// with exit code 3, and the report names the evidence.
func TestVerifyEveryEvidenceFileTampered(t *testing.T) {
	release, pub, m := sealedRelease(t)
	work := testutil.CopyRelease(t, release)
	digests := m.EvidenceDigests()
	if len(digests) < 30 {
		t.Fatalf("only %d evidence files in the example release", len(digests))
	}
	for i, d := range digests {
		var names []string
		var size int64
		for _, ref := range m.AllEvidence() {
			if ref.Digest == d {
				names, size = append(names, ref.Name), ref.Size
			}
		}
		t.Run(names[0], func(t *testing.T) {
			path := filepath.Join(work, "evidence", "sha256", d.Hex())
			testutil.FlipByte(t, path, size/2)
			t.Cleanup(func() { testutil.FlipByte(t, path, size/2) })

			args := []string{"verify", work, "--key", pub}
			if i%2 == 0 { // half the files through each output
				args = append(args, "--json")
			}
			r := evident(t, nil, args...)
			wantCode(t, r, exitVerification)
			var detail string
			if i%2 == 0 {
				var rep verifyReport
				if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
					t.Fatalf("verify --json: %v\n%s", err, r.stdout)
				}
				failed, details := rep.failed()
				if rep.OK || len(failed) == 0 || failed[0] != "evidence" {
					t.Fatalf("failed checks %v, want evidence first:\n%s", failed, details)
				}
				detail = details
			} else {
				line := regexp.MustCompile(`(?m)^FAIL  evidence +(.*)$`).FindStringSubmatch(r.stdout)
				if line == nil || !strings.Contains(r.stdout, "\nNOT VERIFIED "+work+": evidence") {
					t.Fatalf("verify output does not report the evidence failure:\n%s", r.stdout)
				}
				detail = line[1]
			}
			want := strings.Join(names, ", ") + " (" + d.String() + "): content changed"
			if !strings.Contains(detail, want) {
				t.Errorf("the report does not say %q:\n%s", want, detail)
			}
		})
	}
	// Every flip was undone: the working copy is the release again.
	wantCode(t, evident(t, nil, "verify", work, "--key", pub), exitOK)
}

func TestVerifyTampered(t *testing.T) {
	release, pub, m := sealedRelease(t)
	other := testutil.NewKey(t, t.TempDir(), "other")
	var hil evidence.EvidenceRef
	for _, ref := range m.Component("wm-firmware").Evidence {
		if ref.Name == "reports/fw/hil.xml" {
			hil = ref
		}
	}
	blob := func(dir string, d digest.Digest) string { return filepath.Join(dir, "evidence", "sha256", d.Hex()) }
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		key    string // pub when empty
		failed []string
		detail string
	}{
		{
			name: "manifest.json: the product version changed",
			tamper: func(t *testing.T, dir string) {
				testutil.Replace(t, filepath.Join(dir, "manifest.json"), `"version": "2.4.0"`, `"version": "2.4.1"`)
			},
			failed: []string{"statement"},
			detail: "the signed predicate is not this manifest",
		},
		{
			name: "manifest.json: a test count changed",
			tamper: func(t *testing.T, dir string) {
				lie := testutil.ReadManifest(t, dir)
				c := lie.Component("wm-firmware")
				for i := range c.Evidence {
					if s := c.Evidence[i].Tests; s != nil && s.Failed > 0 {
						s.Failed, s.Passed, s.Failures = 0, s.Passed+s.Failed, nil
					}
				}
				b, err := lie.Encode()
				if err != nil {
					t.Fatal(err)
				}
				testutil.WriteFile(t, filepath.Join(dir, "manifest.json"), b)
			},
			failed: []string{"statement"},
			detail: "the signed predicate is not this manifest",
		},
		{
			name: "manifest.json: re-indented",
			tamper: func(t *testing.T, dir string) {
				var b bytes.Buffer
				if err := json.Indent(&b, testutil.ReadFile(t, filepath.Join(dir, "manifest.json")), "", "\t"); err != nil {
					t.Fatal(err)
				}
				testutil.WriteFile(t, filepath.Join(dir, "manifest.json"), b.Bytes())
			},
			failed: []string{"manifest"},
			detail: "not in canonical form",
		},
		{
			name: "bundle.sigstore.json: a signature byte flipped",
			tamper: func(t *testing.T, dir string) {
				path := filepath.Join(dir, "bundle.sigstore.json")
				var b map[string]any
				if err := json.Unmarshal(testutil.ReadFile(t, path), &b); err != nil {
					t.Fatal(err)
				}
				sig := b["dsseEnvelope"].(map[string]any)["signatures"].([]any)[0].(map[string]any)
				raw, err := base64.StdEncoding.DecodeString(sig["sig"].(string))
				if err != nil {
					t.Fatal(err)
				}
				raw[10] ^= 0x01
				sig["sig"] = base64.StdEncoding.EncodeToString(raw)
				out, err := json.Marshal(b)
				if err != nil {
					t.Fatal(err)
				}
				testutil.WriteFile(t, path, out)
			},
			failed: []string{"signature"},
			detail: "signature does not verify with trusted key",
		},
		{
			name: "bundle.sigstore.json: replaced by one signed with another key",
			tamper: func(t *testing.T, dir string) {
				testutil.Resign(t, dir, testutil.ReadManifest(t, dir), other.Private)
			},
			failed: []string{"signature"},
			detail: "signed by an unknown key",
		},
		{
			name:   "an evidence file deleted",
			tamper: func(t *testing.T, dir string) { os.Remove(blob(dir, hil.Digest)) },
			failed: []string{"evidence"},
			detail: "reports/fw/hil.xml (" + hil.Digest.String() + "): missing",
		},
		{
			name: "a file added",
			tamper: func(t *testing.T, dir string) {
				testutil.WriteFile(t, filepath.Join(dir, "evidence", "README"), []byte("hi\n"))
			},
			failed: []string{"evidence"},
			detail: "evidence/README: not part of the release",
		},
		{
			name:   "verified with the wrong public key",
			tamper: func(*testing.T, string) {},
			key:    other.PublicFile,
			failed: []string{"signature"},
			detail: "signed by an unknown key",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testutil.CopyRelease(t, release)
			tt.tamper(t, dir)
			key := tt.key
			if key == "" {
				key = pub
			}
			r := evident(t, nil, "verify", dir, "--key", key, "--json")
			wantCode(t, r, exitVerification)
			var rep verifyReport
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("verify --json: %v\n%s", err, r.stdout)
			}
			failed, details := rep.failed()
			if diff := cmp.Diff(tt.failed, failed); diff != "" {
				t.Fatalf("failed checks (-want +got):\n%s\n%s", diff, details)
			}
			if !strings.Contains(details, tt.detail) {
				t.Errorf("the report does not say %q:\n%s", tt.detail, details)
			}
		})
	}
}

// What verify refuses before it looks at a release.
func TestVerifyErrors(t *testing.T) {
	release, pub, _ := sealedRelease(t)
	notKey := filepath.Join(t.TempDir(), "not.pub")
	testutil.WriteFile(t, notKey, []byte("not a key\n"))
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no key", []string{"verify", release}, exitUsage, "--key PUB, or --certificate-identity"},
		// A file is read as an audit pack; one that is not a pack does not
		// verify.
		{"a file that is not an audit pack", []string{"verify", filepath.Join(release, "manifest.json"), "--key", pub}, exitVerification, "manifest.json is not a valid audit pack"},
		{"a missing directory", []string{"verify", release + "-missing", "--key", pub}, exitError, release + "-missing: "},
		{"a key file that is not a key", []string{"verify", release, "--key", notKey}, exitError, "key " + notKey + ":"},
		{"a missing key file", []string{"verify", release, "--key", notKey + ".missing"}, exitError, "key " + notKey + ".missing:"},
		{"a missing auditor policy", []string{"verify", release, "--key", pub, "--policy", notKey + ".yaml"}, exitError, "policy " + notKey + ".yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := evident(t, nil, tt.args...)
			wantCode(t, r, tt.code)
			if r.stdout != "" || !strings.HasPrefix(r.stderr, "evident: ") || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("want nothing on stdout and %q on stderr:\n%v", tt.want, r)
			}
		})
	}
}
