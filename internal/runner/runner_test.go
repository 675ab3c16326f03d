package runner_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/ci"
	"github.com/evident-dev/evident/internal/config"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/runner"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/testutil"
)

// loadConfig loads the evident.yaml of a project copy.
func loadConfig(t *testing.T, project string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{Path: filepath.Join(project, "evident.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// collectOptions collects cfg into out, built in GitHub Actions.
func collectOptions(cfg *config.Config, out string) runner.Options {
	return runner.Options{Config: cfg, Out: out, Env: ci.MapEnv(testutil.GitHubEnv()), Now: testutil.Now, Version: "test"}
}

// recordingSigner returns a fixed bundle and remembers what it signed.
type recordingSigner struct {
	payloads [][]byte
	err      error
}

func (s *recordingSigner) Sign(_ context.Context, payload []byte) ([]byte, error) {
	s.payloads = append(s.payloads, payload)
	if s.err != nil {
		return nil, s.err
	}
	return []byte(`{"bundle":"from the test"}`), nil
}

// The output path is checked before anything is collected: a release is
// never written over anything. Collect creates missing parents and accepts
// an empty directory.
func TestCollectOutputPath(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, out string)
		wantErr string // "" for success
	}{
		{"does not exist", func(*testing.T, string) {}, ""},
		{"has missing parents", nil, ""},
		{"is an empty directory", func(t *testing.T, out string) { mkdir(t, out) }, ""},
		{"is a directory with a file", func(t *testing.T, out string) {
			testutil.WriteFile(t, filepath.Join(out, "old-release.txt"), []byte("keep me\n"))
		}, "is not empty; choose a new one"},
		{"is a directory with an empty directory", func(t *testing.T, out string) { mkdir(t, filepath.Join(out, "evidence")) }, "is not empty"},
		{"is a file", func(t *testing.T, out string) { testutil.WriteFile(t, out, []byte("keep me\n")) }, "exists and is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project := testutil.Project(t, testutil.Wearable)
			out := filepath.Join(t.TempDir(), "release")
			if tt.prepare == nil {
				out = filepath.Join(t.TempDir(), "a", "b", "release")
			} else {
				tt.prepare(t, out)
			}
			if tt.wantErr != "" {
				// A project that would fail to collect: the output path
				// must be refused before any of it is read.
				if err := os.Remove(filepath.Join(project, "reports/fw/hil.xml")); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshot(t, out)
			st, err := runner.Collect(context.Background(), collectOptions(loadConfig(t, project), out))
			if tt.wantErr != "" {
				if err == nil {
					st.Discard()
					t.Fatal("Collect succeeded")
				}
				if !evidence.IsKind(err, evidence.KindInvalid) || !strings.Contains(err.Error(), out) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q (%s), want %s naming %s", err, evidence.KindOf(err), tt.wantErr, out)
				}
				if diff := cmp.Diff(before, snapshot(t, out)); diff != "" {
					t.Errorf("the existing output changed:\n%s", diff)
				}
				testutil.NoStaging(t, out)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer st.Discard()
			if _, err := os.Stat(filepath.Join(out, "manifest.json")); !os.IsNotExist(err) {
				t.Errorf("manifest.json is in the output before Commit: %v", err)
			}
			got, err := st.Commit()
			if err != nil {
				t.Fatal(err)
			}
			if got != out {
				t.Errorf("Commit returned %s, want %s", got, out)
			}
			if b := testutil.ReadFile(t, filepath.Join(out, "manifest.json")); !bytes.Equal(b, st.ManifestBytes) {
				t.Error("manifest.json is not Staged.ManifestBytes")
			}
			if st.Digest != digest.FromBytes(st.ManifestBytes) {
				t.Errorf("Staged.Digest %s is not the digest of ManifestBytes", st.Digest)
			}
			testutil.NoStaging(t, out)
		})
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// snapshot maps every path under root (or root itself) to its content.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	_ = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if fi.IsDir() {
			out[p] = "dir"
		} else {
			out[p] = string(testutil.ReadFile(t, p))
		}
		return nil
	})
	return out
}

// Commit moves the staging directory into place only if the output is
// still free; otherwise it fails and what is there is left alone.
func TestCommitRefusesOutputCreatedMeanwhile(t *testing.T) {
	project := testutil.Project(t, testutil.Wearable)
	out := filepath.Join(t.TempDir(), "release")
	st, err := runner.Collect(context.Background(), collectOptions(loadConfig(t, project), out))
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, filepath.Join(out, "manifest.json"), []byte("another run's\n"))
	if _, err := st.Commit(); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("Commit over a directory written meanwhile: %v", err)
	}
	if got := string(testutil.ReadFile(t, filepath.Join(out, "manifest.json"))); got != "another run's\n" {
		t.Errorf("the other run's manifest was replaced: %q", got)
	}
	st.Discard()
	testutil.NoStaging(t, out)
}

// Discard removes the staging directory and leaves no output; after Commit
// it does nothing.
func TestDiscard(t *testing.T) {
	project := testutil.Project(t, testutil.Wearable)
	cfg := loadConfig(t, project)
	out := filepath.Join(t.TempDir(), "release")
	st, err := runner.Collect(context.Background(), collectOptions(cfg, out))
	if err != nil {
		t.Fatal(err)
	}
	st.Discard()
	st.Discard()
	testutil.NoOutput(t, out)

	st, err = runner.Collect(context.Background(), collectOptions(cfg, out))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	st.Discard()
	if _, err := os.Stat(filepath.Join(out, "manifest.json")); err != nil {
		t.Errorf("Discard after Commit removed the release: %v", err)
	}
}

// A collection that fails, for bad input or because it was cancelled,
// leaves nothing: no output and no staging directory.
func TestCollectFailureLeavesNothing(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		edit    func(t *testing.T, project string)
		wantErr string
		kind    evidence.Kind
	}{
		{
			name: "a malformed SBOM after other evidence was stored",
			ctx:  context.Background(),
			edit: func(t *testing.T, project string) {
				testutil.WriteFile(t, filepath.Join(project, "sbom/dashboard.cdx.xml"), []byte("<bom"))
			},
			wantErr: "components[3] (wm-dashboard).sbom: sbom/dashboard.cdx.xml: ",
			kind:    evidence.KindInvalid,
		},
		{
			name:    "cancelled",
			ctx:     cancelled,
			edit:    func(*testing.T, string) {},
			wantErr: context.Canceled.Error(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project := testutil.Project(t, testutil.Wearable)
			tt.edit(t, project)
			out := filepath.Join(t.TempDir(), "release")
			st, err := runner.Collect(tt.ctx, collectOptions(loadConfig(t, project), out))
			if err == nil {
				st.Discard()
				t.Fatal("Collect succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) || (tt.kind != "" && evidence.KindOf(err) != tt.kind) {
				t.Errorf("error %q (%s), want %q (%s)", err, evidence.KindOf(err), tt.wantErr, tt.kind)
			}
			if tt.ctx.Err() != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("error %v does not wrap context.Canceled", err)
			}
			testutil.NoOutput(t, out)
		})
	}
}

// Evidence is stored once per content, however many components name it,
// each file under the digest of exactly the bytes that were read, with
// nothing else left in the store.
func TestStoreDedups(t *testing.T) {
	project := testutil.Project(t, testutil.Wearable)
	// The app ships the firmware's installation procedure too.
	testutil.Replace(t, filepath.Join(project, "evident.yaml"),
		"    releaseNotes: docs/app-release-notes.md\n",
		"    releaseNotes: docs/app-release-notes.md\n    installation: docs/install-update.md\n")
	out := filepath.Join(t.TempDir(), "release")
	st, err := runner.Collect(context.Background(), collectOptions(loadConfig(t, project), out))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()
	if _, err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	m := st.Manifest

	var install []evidence.EvidenceRef
	for _, ref := range m.AllEvidence() {
		if ref.Name == "docs/install-update.md" {
			install = append(install, ref)
		}
	}
	if len(install) != 2 || install[0].Digest != install[1].Digest {
		t.Fatalf("docs/install-update.md recorded as %+v, want twice with one digest", install)
	}

	blobs, err := os.ReadDir(filepath.Join(out, "evidence", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != len(m.EvidenceDigests()) || len(blobs) >= len(m.AllEvidence()) {
		t.Errorf("%d files stored for %d digests and %d references", len(blobs), len(m.EvidenceDigests()), len(m.AllEvidence()))
	}
	if left, _ := filepath.Glob(filepath.Join(out, "evidence", ".put-*")); len(left) > 0 {
		t.Errorf("temporary files left in the store: %v", left)
	}
	for _, ref := range m.AllEvidence() {
		stored := testutil.ReadFile(t, filepath.Join(out, runner.EvidencePath(ref.Digest)))
		if digest.FromBytes(stored) != ref.Digest || int64(len(stored)) != ref.Size {
			t.Errorf("%s: stored %d bytes with digest %s, recorded %d and %s", ref.Name, len(stored), digest.FromBytes(stored), ref.Size, ref.Digest)
		}
		src, err := os.ReadFile(filepath.Join(project, filepath.FromSlash(ref.Name)))
		if err != nil {
			continue // derived or generated: SOUP lists, provenance, the policy
		}
		if !bytes.Equal(src, stored) {
			t.Errorf("%s: the stored evidence is not the project's file", ref.Name)
		}
	}
}

// The statement names every released artifact, files and images, and
// carries the manifest bytes; Sign signs exactly it and writes the bundle.
func TestSign(t *testing.T) {
	project := testutil.Project(t, testutil.Wearable)
	out := filepath.Join(t.TempDir(), "release")
	st, err := runner.Collect(context.Background(), collectOptions(loadConfig(t, project), out))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()

	failing := &recordingSigner{err: errors.New("HSM unavailable")}
	if err := st.Sign(context.Background(), failing); err == nil || !strings.Contains(err.Error(), "HSM unavailable") || st.Signed {
		t.Fatalf("Sign with a failing signer: %v (Signed %v)", err, st.Signed)
	}
	signer := &recordingSigner{}
	if err := st.Sign(context.Background(), signer); err != nil {
		t.Fatal(err)
	}
	if !st.Signed || len(signer.payloads) != 1 {
		t.Fatalf("Signed %v after %d signatures", st.Signed, len(signer.payloads))
	}
	got, err := sign.DecodeStatement(signer.payloads[0])
	if err != nil {
		t.Fatal(err)
	}
	var want []sign.Subject
	for _, c := range st.Manifest.Components {
		for _, a := range c.Artifacts {
			want = append(want, sign.Subject{Name: a.Name, Digest: a.Digest})
		}
	}
	if diff := cmp.Diff(want, got.Subjects, cmp.Comparer(func(a, b digest.Digest) bool { return a == b })); diff != "" {
		t.Errorf("subjects (-artifacts +signed):\n%s", diff)
	}
	if len(want) != 6 || got.PredicateType != evidence.PredicateTypeRelease || !bytes.Equal(bytes.TrimSpace(got.Predicate), bytes.TrimSpace(st.ManifestBytes)) {
		t.Errorf("statement: %d subjects, predicate type %s, predicate is the manifest: %v",
			len(want), got.PredicateType, bytes.Equal(bytes.TrimSpace(got.Predicate), bytes.TrimSpace(st.ManifestBytes)))
	}
	if _, err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	if b := testutil.ReadFile(t, filepath.Join(out, runner.BundleFile)); string(b) != `{"bundle":"from the test"}` {
		t.Errorf("bundle.sigstore.json is %q, not what the signer returned", b)
	}
}

// A release whose policy fails is never signed: Sign refuses before the
// signer sees anything, and a committed release has no bundle.
func TestSignRefusesFailingPolicy(t *testing.T) {
	project := testutil.Project(t, testutil.Wearable)
	p := filepath.Join(project, "anomalies/fw.yaml")
	testutil.WriteFile(t, p, append(testutil.ReadFile(t, p),
		"\n  - id: ANOM-FW-0099\n    title: Display flickers below 5 % battery\n    kind: usability\n    status: open\n"...))
	out := filepath.Join(t.TempDir(), "release")
	st, err := runner.Collect(context.Background(), collectOptions(loadConfig(t, project), out))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()
	if st.Manifest.Policy.Passed() {
		t.Fatal("the policy passed; the test needs a failing release")
	}
	signer := &recordingSigner{}
	err = st.Sign(context.Background(), signer)
	if !evidence.IsKind(err, evidence.KindPolicy) || len(signer.payloads) != 0 || st.Signed {
		t.Fatalf("Sign of a failing release: %v (%s), signer called %d times, Signed %v", err, evidence.KindOf(err), len(signer.payloads), st.Signed)
	}
	if _, err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, runner.BundleFile)); !os.IsNotExist(err) {
		t.Errorf("a failing release has a bundle: %v", err)
	}
}

// Container images are artifacts pinned by digest: recorded with the
// reference as name, no size and the OCI manifest media type, and signed as
// subjects like files. The runner refuses an image that is not pinned even
// when its config was not validated.
func TestImages(t *testing.T) {
	const hex = "4f1d9c2b7a6e5d3c8b0a1f2e3d4c5b6a79880716253443526170819a2b3c4d5e"
	tests := []struct {
		name    string
		images  []string
		wantErr string
	}{
		{name: "pinned with a tag", images: []string{"registry.example.com/acme/wm-alert-service:1.8.0@sha256:" + hex}},
		{name: "two images", images: []string{"registry.example.com/acme/wm-alert-service@sha256:" + hex, "registry.example.com/acme/wm-alert-migrate@sha256:" + strings.Repeat("ab", 32)}},
		{name: "a tag only", images: []string{"registry.example.com/acme/wm-alert-service:1.8.0"}, wantErr: "want NAME@sha256:HEX"},
		{name: "another algorithm", images: []string{"registry.example.com/acme/wm-alert-service@sha512:" + hex + hex}, wantErr: "want NAME@sha256:HEX"},
		{name: "a short digest", images: []string{"registry.example.com/acme/wm-alert-service@sha256:" + hex[:12]}, wantErr: "want NAME@sha256:HEX"},
		{name: "white space in the name", images: []string{"registry.example.com/acme/wm alert@sha256:" + hex}, wantErr: "white space"},
	}
	project := testutil.Project(t, testutil.Wearable)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConfig(t, project)
			var alert *config.Component
			for i := range cfg.Components {
				if cfg.Components[i].Name == "wm-alert-service" {
					alert = &cfg.Components[i]
				}
			}
			alert.Images = tt.images
			out := filepath.Join(t.TempDir(), "release")
			st, err := runner.Collect(context.Background(), collectOptions(cfg, out))
			if tt.wantErr != "" {
				if err == nil {
					st.Discard()
					t.Fatal("Collect succeeded")
				}
				if !evidence.IsKind(err, evidence.KindInvalid) || !strings.Contains(err.Error(), "(wm-alert-service).images: ") || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q (%s), want %q", err, evidence.KindOf(err), tt.wantErr)
				}
				testutil.NoOutput(t, out)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer st.Discard()
			var want []evidence.Artifact
			for _, ref := range tt.images {
				i := strings.LastIndex(ref, "@")
				d, err := digest.Parse(ref[i+1:])
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, evidence.Artifact{Name: ref, Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json"})
			}
			got := st.Manifest.Component("wm-alert-service").Artifacts
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b digest.Digest) bool { return a == b })); diff != "" {
				t.Errorf("artifacts (-want +got):\n%s", diff)
			}
			subjects := map[string]digest.Digest{}
			for _, s := range st.Statement().Subjects {
				subjects[s.Name] = s.Digest
			}
			for _, a := range want {
				if subjects[a.Name] != a.Digest {
					t.Errorf("image %s is not a subject with its digest", a.Name)
				}
			}
		})
	}
}

// Parsed evidence is text: a NUL byte fails it where it is, without reading
// the rest (a sparse file would otherwise be read to its end). go test -v
// output is exempt, because it holds whatever the tests printed.
func TestTextEvidence(t *testing.T) {
	t.Run("a NUL byte in a JUnit report", func(t *testing.T) {
		project := testutil.Project(t, testutil.Wearable)
		p := filepath.Join(project, "reports/fw/hil.xml")
		b := testutil.ReadFile(t, p)
		at := bytes.Index(b, []byte("<testcase"))
		testutil.WriteFile(t, p, append(b[:at:at], append([]byte{0}, b[at:]...)...))
		out := filepath.Join(t.TempDir(), "release")
		_, err := runner.Collect(context.Background(), collectOptions(loadConfig(t, project), out))
		want := "components[0] (wm-firmware).tests[1]: reports/fw/hil.xml: byte " + strconv.Itoa(at) + " is a NUL byte: not a text file"
		if !evidence.IsKind(err, evidence.KindInvalid) || err.Error() != want+" (a binary, sparse or zero-padded file?)" {
			t.Errorf("error %q (%s), want %q", err, evidence.KindOf(err), want)
		}
		testutil.NoOutput(t, out)
	})
	t.Run("a NUL byte in go test -v output", func(t *testing.T) {
		project := testutil.Project(t, testutil.Wearable)
		text := testutil.ReadFile(t, "../collect/gotest/testdata/go-test-v_calc.txt")
		at := bytes.Index(text, []byte("\n")) + 1
		text = append(text[:at:at], append([]byte("calc: printed \x00 raw\n"), text[at:]...)...)
		testutil.WriteFile(t, filepath.Join(project, "reports/alert/unit.txt"), text)
		testutil.Replace(t, filepath.Join(project, "evident.yaml"),
			`{path: "reports/alert/unit-go-test.json", level: unit, format: go-test-json}`,
			`{path: "reports/alert/unit.txt", level: unit, format: go-test-text}`)
		out := filepath.Join(t.TempDir(), "release")
		st, err := runner.Collect(context.Background(), collectOptions(loadConfig(t, project), out))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Discard()
		for _, ref := range st.Manifest.Component("wm-alert-service").Evidence {
			if ref.Name == "reports/alert/unit.txt" && ref.Digest == digest.FromBytes(text) && ref.Tests != nil && ref.Tests.Tests > 0 {
				return
			}
		}
		t.Errorf("reports/alert/unit.txt is not recorded as a test report with its digest %s", digest.FromBytes(text))
	})
}
