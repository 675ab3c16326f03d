package verify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/policy"
	"github.com/evident-dev/evident/internal/rederive"
	"github.com/evident-dev/evident/internal/runner"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/testutil"
	"github.com/evident-dev/evident/internal/verify"
)

// allChecks are the checks of a release that verifies, in order.
var allChecks = []string{"manifest", "signature", "statement", "subjects", "evidence", "summaries", "policy"}

func newKey(t *testing.T) *sign.PrivateKey {
	t.Helper()
	k, err := sign.GenerateKey(sign.AlgECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func trust(keys ...*sign.PrivateKey) sign.Trust {
	var tr sign.Trust
	for _, k := range keys {
		tr.Keys = append(tr.Keys, k.Public())
	}
	return tr
}

// sealed seals the example product (built in GitHub Actions) and returns
// the release directory, the key and the manifest.
func sealed(t *testing.T) (string, *sign.PrivateKey, *evidence.Manifest) {
	t.Helper()
	project := testutil.Project(t, testutil.Wearable)
	key := newKey(t)
	dir := filepath.Join(t.TempDir(), "release")
	m := testutil.Seal(t, project, dir, key, testutil.GitHubEnv())
	return dir, key, m
}

func verifyDir(t *testing.T, dir string, opts verify.Options) *verify.Report {
	t.Helper()
	rep, err := verify.Release(context.Background(), os.DirFS(dir), opts)
	if err != nil {
		t.Fatalf("Release: %v", err)
	}
	return rep
}

func names(cs []verify.Check) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestReleaseVerifies(t *testing.T) {
	dir, key, m := sealed(t)
	other := newKey(t)
	for _, tt := range []struct {
		name  string
		trust sign.Trust
	}{
		{"the sealing key", trust(key)},
		{"the sealing key among others", trust(other, key)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := verifyDir(t, dir, verify.Options{Derive: rederive.Check, Trust: tt.trust})
			if !rep.OK || rep.Err() != nil {
				t.Fatalf("not verified: %v", rep.Err())
			}
			if diff := cmp.Diff(allChecks, names(rep.Checks)); diff != "" {
				t.Errorf("checks (-want +got):\n%s", diff)
			}
			for _, c := range rep.Checks {
				if c.Name == "summaries" && !strings.Contains(c.Detail, "anomalies, change reviews)") {
					t.Errorf("the summaries check does not name every kind it re-derives: %q", c.Detail)
				}
			}
			mb := testutil.ReadFile(t, filepath.Join(dir, "manifest.json"))
			want := verify.Report{
				OK: true, Release: "wearable-monitor@2.4.0", ManifestDigest: digest.FromBytes(mb).String(),
				Signer: key.Public().ID(), Artifacts: 6, EvidenceFiles: len(m.EvidenceDigests()),
			}
			got := *rep
			got.Checks, got.Manifest = nil, nil
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			if !evidence.Equal(rep.Manifest, m) {
				t.Error("the report's manifest is not the sealed one")
			}
		})
	}
}

// Verification fails closed: without a trusted key, without a release, or
// when cancelled, nothing verifies.
func TestReleaseFailsClosed(t *testing.T) {
	dir, key, _ := sealed(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		dir    string
		opts   verify.Options
		failed []string
	}{
		{"no trusted key", context.Background(), dir, verify.Options{Derive: rederive.Check}, []string{"trust"}},
		{"no deriver", context.Background(), dir, verify.Options{Trust: trust(key)}, []string{"summaries"}},
		{"an empty directory", context.Background(), t.TempDir(), verify.Options{Derive: rederive.Check, Trust: trust(key)}, []string{"manifest"}},
		{"a cancelled context", cancelled, dir, verify.Options{Derive: rederive.Check, Trust: trust(key)}, []string{"signature"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := verify.Release(tt.ctx, os.DirFS(tt.dir), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK {
				t.Fatal("verified")
			}
			if diff := cmp.Diff(tt.failed, names(rep.Failures())); diff != "" {
				t.Errorf("failed checks (-want +got):\n%s", diff)
			}
			if err := rep.Err(); !evidence.IsKind(err, evidence.KindVerification) || !strings.Contains(err.Error(), tt.failed[0]+": ") {
				t.Errorf("Err() = %v", err)
			}
		})
	}
}

// editManifest decodes dir/manifest.json, lets edit change it and writes it
// back canonically encoded: a change that keeps the manifest well-formed.
func editManifest(t *testing.T, dir string, edit func(m *evidence.Manifest)) {
	t.Helper()
	m := testutil.ReadManifest(t, dir)
	edit(m)
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, filepath.Join(dir, "manifest.json"), b)
}

// testReport returns the manifest's record of a component's test report.
func testReport(t *testing.T, m *evidence.Manifest, component, name string) *evidence.EvidenceRef {
	t.Helper()
	c := m.Component(component)
	if c == nil {
		t.Fatalf("no component %s", component)
	}
	for i := range c.Evidence {
		if c.Evidence[i].Name == name {
			return &c.Evidence[i]
		}
	}
	t.Fatalf("%s has no evidence %s", component, name)
	return nil
}

// payload returns the signed statement of the release in dir.
func payload(t *testing.T, dir string) sign.Statement {
	t.Helper()
	var b struct {
		DSSE struct {
			Payload []byte `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(testutil.ReadFile(t, filepath.Join(dir, "bundle.sigstore.json")), &b); err != nil {
		t.Fatal(err)
	}
	st, err := sign.DecodeStatement(b.DSSE.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return *st
}

// blob is the path of an evidence file in a release directory.
func blob(dir string, d digest.Digest) string {
	return filepath.Join(dir, filepath.FromSlash(verify.EvidencePath(d)))
}

// Each change to a sealed release fails exactly the checks that cover what
// was changed, with a detail that says what.
func TestReleaseTampered(t *testing.T) {
	dir, key, m := sealed(t)
	other := newKey(t)
	hil := testReport(t, m, "wm-firmware", "reports/fw/hil.xml")
	first := m.Components[0].Artifacts[0].Name // the first subject
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		trust  sign.Trust // the sealing key when empty
		failed []string
		detail string // in the first failed check's detail
	}{
		{
			name: "manifest: product version changed",
			tamper: func(t *testing.T, dir string) {
				testutil.Replace(t, filepath.Join(dir, "manifest.json"), `"version": "2.4.0"`, `"version": "2.4.1"`)
			},
			failed: []string{"statement"},
			detail: "the signed predicate is not this manifest",
		},
		{
			name: "manifest: a test count changed",
			tamper: func(t *testing.T, dir string) {
				editManifest(t, dir, func(m *evidence.Manifest) {
					r := testReport(t, m, "wm-firmware", hil.Name)
					r.Tests.Tests++
					r.Tests.Passed++
				})
			},
			failed: []string{"statement"},
			detail: "the signed predicate is not this manifest",
		},
		{
			name: "manifest: re-indented",
			tamper: func(t *testing.T, dir string) {
				var b bytes.Buffer
				if err := json.Indent(&b, testutil.ReadFile(t, filepath.Join(dir, "manifest.json")), "", "    "); err != nil {
					t.Fatal(err)
				}
				testutil.WriteFile(t, filepath.Join(dir, "manifest.json"), b.Bytes())
			},
			failed: []string{"manifest"},
			detail: "manifest.json is not in canonical form",
		},
		{
			name:   "manifest: missing",
			tamper: func(t *testing.T, dir string) { remove(t, filepath.Join(dir, "manifest.json")) },
			failed: []string{"manifest"},
			detail: "manifest.json is missing",
		},
		{
			name: "manifest: not JSON",
			tamper: func(t *testing.T, dir string) {
				testutil.WriteFile(t, filepath.Join(dir, "manifest.json"), []byte("wearable-monitor 2.4.0\n"))
			},
			failed: []string{"manifest"},
			detail: "malformed JSON",
		},
		{
			name:   "bundle: a signature byte flipped",
			tamper: flipSignature,
			failed: []string{"signature"},
			detail: "signature does not verify with trusted key " + key.Public().ID(),
		},
		{
			name:   "bundle: the same statement signed by another key",
			tamper: func(t *testing.T, dir string) { testutil.SignStatement(t, dir, payload(t, dir), other) },
			failed: []string{"signature"},
			detail: "signed by an unknown key",
		},
		{
			name:   "bundle: missing",
			tamper: func(t *testing.T, dir string) { remove(t, filepath.Join(dir, "bundle.sigstore.json")) },
			failed: []string{"signature"},
			detail: "bundle.sigstore.json is missing",
		},
		{
			name: "bundle: signed over another manifest",
			tamper: func(t *testing.T, dir string) {
				st := payload(t, dir)
				st.Predicate = bytes.Replace(st.Predicate, []byte(`"version": "2.4.0"`), []byte(`"version": "2.4.1"`), 1)
				testutil.SignStatement(t, dir, st, key)
			},
			failed: []string{"statement"},
			detail: "the signed predicate is not this manifest",
		},
		{
			name: "bundle: another predicate type",
			tamper: func(t *testing.T, dir string) {
				st := payload(t, dir)
				st.PredicateType = "https://evident.dev/attestation/approval/v1"
				testutil.SignStatement(t, dir, st, key)
			},
			failed: []string{"statement"},
			detail: `predicate type "https://evident.dev/attestation/approval/v1"`,
		},
		{
			name: "bundle: a subject left out",
			tamper: func(t *testing.T, dir string) {
				st := payload(t, dir)
				st.Subjects = st.Subjects[1:]
				testutil.SignStatement(t, dir, st, key)
			},
			failed: []string{"subjects"},
			detail: "artifact " + first + " is not a signed subject",
		},
		{
			name: "bundle: a subject added",
			tamper: func(t *testing.T, dir string) {
				st := payload(t, dir)
				st.Subjects = append(st.Subjects, sign.Subject{Name: "build/fw/backdoor.bin", Digest: digest.FromBytes([]byte("x"))})
				testutil.SignStatement(t, dir, st, key)
			},
			failed: []string{"subjects"},
			detail: "signed subject build/fw/backdoor.bin is not an artifact of the manifest",
		},
		{
			name: "bundle: a subject's digest changed",
			tamper: func(t *testing.T, dir string) {
				st := payload(t, dir)
				st.Subjects[0].Digest = digest.FromBytes([]byte("another firmware"))
				testutil.SignStatement(t, dir, st, key)
			},
			failed: []string{"subjects"},
			detail: "artifact " + first + ": manifest says " + m.Components[0].Artifacts[0].Digest.String() + ", signature covers sha256:",
		},
		{
			name:   "evidence: a file deleted",
			tamper: func(t *testing.T, dir string) { remove(t, blob(dir, hil.Digest)) },
			failed: []string{"evidence"},
			detail: "reports/fw/hil.xml (" + hil.Digest.String() + "): missing",
		},
		{
			name: "evidence: a file truncated",
			tamper: func(t *testing.T, dir string) {
				if err := os.Truncate(blob(dir, hil.Digest), hil.Size-1); err != nil {
					t.Fatal(err)
				}
			},
			failed: []string{"evidence"},
			detail: "reports/fw/hil.xml (" + hil.Digest.String() + "):",
		},
		{
			name: "evidence: a file grown",
			tamper: func(t *testing.T, dir string) {
				p := blob(dir, hil.Digest)
				testutil.WriteFile(t, p, append(testutil.ReadFile(t, p), '\n'))
			},
			failed: []string{"evidence"},
			detail: "reports/fw/hil.xml (" + hil.Digest.String() + "):",
		},
		{
			name: "evidence: an extra file beside the manifest",
			tamper: func(t *testing.T, dir string) {
				testutil.WriteFile(t, filepath.Join(dir, "notes.txt"), []byte("trust me\n"))
			},
			failed: []string{"evidence"},
			detail: "notes.txt: not part of the release",
		},
		{
			name: "evidence: an extra blob",
			tamper: func(t *testing.T, dir string) {
				extra := []byte("<testsuite/>\n")
				testutil.WriteFile(t, blob(dir, digest.FromBytes(extra)), extra)
			},
			failed: []string{"evidence"},
			detail: "evidence/sha256/" + digest.FromBytes([]byte("<testsuite/>\n")).Hex() + ": not part of the release",
		},
		{
			name:   "the wrong public key",
			tamper: func(*testing.T, string) {},
			trust:  trust(other),
			failed: []string{"signature"},
			detail: "signed by an unknown key",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testutil.CopyRelease(t, dir)
			tt.tamper(t, d)
			tr := tt.trust
			if len(tr.Keys) == 0 {
				tr = trust(key)
			}
			rep := verifyDir(t, d, verify.Options{Derive: rederive.Check, Trust: tr})
			if rep.OK {
				t.Fatal("a tampered release verified")
			}
			fails := rep.Failures()
			if diff := cmp.Diff(tt.failed, names(fails)); diff != "" {
				t.Fatalf("failed checks (-want +got):\n%s\nreport: %v", diff, rep.Err())
			}
			if !strings.Contains(fails[0].Detail, tt.detail) {
				t.Errorf("%s: detail %q does not say %q", fails[0].Name, fails[0].Detail, tt.detail)
			}
		})
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// flipSignature inverts one byte of the DSSE signature in the bundle,
// leaving the bundle well-formed.
func flipSignature(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "bundle.sigstore.json")
	var b map[string]any
	if err := json.Unmarshal(testutil.ReadFile(t, path), &b); err != nil {
		t.Fatal(err)
	}
	sigs := b["dsseEnvelope"].(map[string]any)["signatures"].([]any)
	s := sigs[0].(map[string]any)
	raw, err := base64.StdEncoding.DecodeString(s["sig"].(string))
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x01
	s["sig"] = base64.StdEncoding.EncodeToString(raw)
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, path, out)
}

// A manifest that lies, re-signed by someone whose key the verifier trusts
// (a compromised CI key, or a verifier tricked into trusting an attacker's
// key): the signature checks pass, and the evidence still gives the lie
// away, because every summary is derived again and the archived policy is
// evaluated again.
func TestReleaseResignedLies(t *testing.T) {
	dir, _, m := sealed(t)
	attacker := newKey(t)
	hil := testReport(t, m, "wm-firmware", "reports/fw/hil.xml")
	if hil.Tests.Failed == 0 || len(hil.Tests.Failures) == 0 {
		t.Fatalf("the example's HIL report has no failing test to hide: %+v", hil.Tests)
	}
	tests := []struct {
		name   string
		edit   func(m *evidence.Manifest)
		failed []string
		detail string // in the detail of the first failed check
	}{
		{
			name:   "nothing (the honest manifest re-signed)",
			edit:   func(*evidence.Manifest) {},
			failed: nil,
		},
		{
			name: "0 failed tests",
			edit: func(m *evidence.Manifest) {
				r := testReport(t, m, "wm-firmware", hil.Name)
				r.Tests.Passed += r.Tests.Failed
				r.Tests.Failed, r.Tests.Failures = 0, nil
			},
			failed: []string{"summaries", "policy"},
			detail: "wm-firmware: reports/fw/hil.xml: the manifest's test summary differs from the report",
		},
		{
			name: "a SOUP item fewer",
			edit: func(m *evidence.Manifest) {
				c := m.Component("wm-app")
				for i := range c.Evidence {
					if s := c.Evidence[i].SBOM; s != nil {
						s.Components--
						return
					}
				}
				t.Fatal("wm-app has no SBOM")
			},
			// The policy's SBOM rule reports the count, so its recorded
			// result no longer matches the manifest either.
			failed: []string{"summaries", "policy"},
			detail: "wm-app: sbom/app.cdx.json: the manifest's SBOM summary differs from the SBOM",
		},
		{
			name: "an anomaly dropped",
			edit: func(m *evidence.Manifest) {
				c := m.Component("wm-firmware")
				c.Anomalies = c.Anomalies[1:]
			},
			failed: []string{"summaries", "policy"},
			detail: "wm-firmware: the manifest's anomaly entries differ from the anomaly lists",
		},
		{
			name: "an anomaly's evaluation changed",
			edit: func(m *evidence.Manifest) {
				c := m.Component("wm-firmware")
				c.Anomalies[0].EvaluatedBy = "Someone Else"
			},
			failed: []string{"summaries"},
			detail: "wm-firmware: the manifest's anomaly entries differ from the anomaly lists",
		},
		{
			name:   "a policy rule's message changed",
			edit:   func(m *evidence.Manifest) { m.Policy.Rules[0].Message = "all fine" },
			failed: []string{"policy"},
			detail: "gives a different result than the manifest records",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testutil.CopyRelease(t, dir)
			lie := testutil.ReadManifest(t, d)
			tt.edit(lie)
			testutil.Resign(t, d, lie, attacker)
			rep := verifyDir(t, d, verify.Options{Derive: rederive.Check, Trust: trust(attacker)})
			if diff := cmp.Diff(tt.failed, names(rep.Failures())); diff != "" {
				t.Fatalf("failed checks (-want +got):\n%s\nreport: %v", diff, rep.Err())
			}
			if rep.OK != (tt.failed == nil) {
				t.Fatalf("OK = %v with failed checks %v", rep.OK, tt.failed)
			}
			if tt.failed == nil {
				return
			}
			if d := rep.Failures()[0].Detail; !strings.Contains(d, tt.detail) {
				t.Errorf("detail %q does not say %q", d, tt.detail)
			}
			for _, c := range rep.Checks {
				if (c.Name == "signature" || c.Name == "evidence") && !c.OK {
					t.Errorf("%s failed: the lie must be caught by what the evidence says, not by the signature", c.Name)
				}
			}
		})
	}
}

// A release that failed its policy, collected (unsigned, as collect does),
// then edited to say it passed and signed: the archived policy, evaluated
// again, gives it away. Replacing the archived policy with a laxer one
// passes the release's own check; an auditor's policy catches that.
func TestReleaseFailedPolicyResigned(t *testing.T) {
	project := testutil.Project(t, testutil.Wearable)
	path := filepath.Join(project, "anomalies/fw.yaml")
	testutil.WriteFile(t, path, append(testutil.ReadFile(t, path),
		"\n  - id: ANOM-FW-0099\n    title: Display flickers below 5 % battery\n    kind: usability\n    status: open\n"...))
	dir := filepath.Join(t.TempDir(), "release")
	st := testutil.Collect(t, project, dir, testutil.GitHubEnv())
	if st.Manifest.Policy.Passed() {
		t.Fatal("the release passes its policy; the test needs one that fails")
	}
	if _, err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	attacker := newKey(t)

	t.Run("the result edited to pass", func(t *testing.T) {
		d := testutil.CopyRelease(t, dir)
		m := testutil.ReadManifest(t, d)
		m.Policy.Outcome = evidence.OutcomePass
		for i := range m.Policy.Rules {
			if m.Policy.Rules[i].Outcome == evidence.OutcomeFail {
				m.Policy.Rules[i].Outcome = evidence.OutcomeWarn
			}
		}
		testutil.Resign(t, d, m, attacker)
		rep := verifyDir(t, d, verify.Options{Derive: rederive.Check, Trust: trust(attacker)})
		if diff := cmp.Diff([]string{"policy"}, names(rep.Failures())); diff != "" {
			t.Fatalf("failed checks (-want +got):\n%s", diff)
		}
		if d := rep.Failures()[0].Detail; !strings.Contains(d, "re-evaluating evident-iec62304-default/v1 gives a different result") {
			t.Errorf("detail: %s", d)
		}
	})

	t.Run("the result left failing", func(t *testing.T) {
		d := testutil.CopyRelease(t, dir)
		testutil.Resign(t, d, testutil.ReadManifest(t, d), attacker)
		rep := verifyDir(t, d, verify.Options{Derive: rederive.Check, Trust: trust(attacker)})
		if diff := cmp.Diff([]string{"policy"}, names(rep.Failures())); diff != "" {
			t.Fatalf("failed checks (-want +got):\n%s", diff)
		}
		if d := rep.Failures()[0].Detail; !strings.Contains(d, "the release does not pass its policy") {
			t.Errorf("detail: %s", d)
		}
	})

	t.Run("a laxer policy archived", func(t *testing.T) {
		d := testutil.CopyRelease(t, dir)
		m := testutil.ReadManifest(t, d)
		lax := policy.Default()
		lax.Name = "lax"
		lax.Rules["anomalies.evaluated"] = policy.ByClass{A: policy.Warn, B: policy.Warn, C: policy.Warn}
		b, err := lax.Encode()
		if err != nil {
			t.Fatal(err)
		}
		for i := range m.Evidence {
			if m.Evidence[i].Type == evidence.TypePolicy {
				remove(t, blob(d, m.Evidence[i].Digest))
				m.Evidence[i].Digest, m.Evidence[i].Size = digest.FromBytes(b), int64(len(b))
			}
		}
		testutil.WriteFile(t, blob(d, digest.FromBytes(b)), b)
		if m.Policy, err = policy.Evaluate(m, lax); err != nil {
			t.Fatal(err)
		}
		if !m.Policy.Passed() {
			t.Fatalf("the lax policy fails too: %+v", m.Policy)
		}
		testutil.Resign(t, d, m, attacker)

		rep := verifyDir(t, d, verify.Options{Derive: rederive.Check, Trust: trust(attacker)})
		if !rep.OK {
			t.Fatalf("a release that passes its archived policy does not verify: %v", rep.Err())
		}
		rep = verifyDir(t, d, verify.Options{Derive: rederive.Check, Trust: trust(attacker), Policy: policy.Default()})
		if diff := cmp.Diff([]string{"auditor policy"}, names(rep.Failures())); diff != "" {
			t.Fatalf("failed checks with the auditor's policy (-want +got):\n%s", diff)
		}
		if d := rep.Failures()[0].Detail; !strings.Contains(d, "wm-firmware anomalies.evaluated") {
			t.Errorf("the auditor's check does not name component and rule: %s", d)
		}
	})
}

// Options.Allowed admits files an audit pack carries beside the release;
// anything else is still not part of it.
func TestReleaseAllowed(t *testing.T) {
	dir, key, _ := sealed(t)
	d := testutil.CopyRelease(t, dir)
	testutil.WriteFile(t, filepath.Join(d, "approvals", "qa.sigstore.json"), []byte("{}\n"))
	testutil.WriteFile(t, filepath.Join(d, "stray.txt"), []byte("?\n"))
	allowed := func(name string) bool { return strings.HasPrefix(name, "approvals/") }

	rep := verifyDir(t, d, verify.Options{Derive: rederive.Check, Trust: trust(key), Allowed: allowed})
	if diff := cmp.Diff([]string{"evidence"}, names(rep.Failures())); diff != "" {
		t.Fatalf("failed checks (-want +got):\n%s", diff)
	}
	if det := rep.Failures()[0].Detail; det != "stray.txt: not part of the release" {
		t.Errorf("detail %q", det)
	}
	remove(t, filepath.Join(d, "stray.txt"))
	if rep := verifyDir(t, d, verify.Options{Derive: rederive.Check, Trust: trust(key), Allowed: allowed}); !rep.OK {
		t.Errorf("an allowed file fails verification: %v", rep.Err())
	}
}

// The staged layout constants of the runner and the verifier agree: what
// one writes the other reads.
func TestLayoutAgrees(t *testing.T) {
	d := digest.FromBytes([]byte("x"))
	if verify.ManifestFile != runner.ManifestFile || verify.BundleFile != runner.BundleFile ||
		verify.EvidencePath(d) != filepath.ToSlash(runner.EvidencePath(d)) {
		t.Errorf("runner writes %s, %s, %s; verify reads %s, %s, %s",
			runner.ManifestFile, runner.BundleFile, runner.EvidencePath(d), verify.ManifestFile, verify.BundleFile, verify.EvidencePath(d))
	}
}
