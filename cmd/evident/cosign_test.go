package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/testutil"
)

// A release sealed with a key verifies with the real cosign, offline, for
// every released file, as the README promises; a file that is not part of
// the release, another predicate type and another key do not. cosign is
// found through EVIDENT_COSIGN, then PATH (testutil.Cosign).
func TestCosignVerifiesSealedRelease(t *testing.T) {
	bin := testutil.Cosign(t)
	project := testutil.GitProject(t, testutil.Wearable)
	priv, pub := keyFiles(t, localEnv()) // ECDSA P-256, cosign's encrypted format
	out := filepath.Join(t.TempDir(), "release")
	wantCode(t, evident(t, localEnv(), "seal", "--config", configFile(project), "--key", priv, "--out", out), exitOK)
	bundle := filepath.Join(out, "bundle.sigstore.json")

	cosign := func(key, predicateType, artifact string) (string, error) {
		return testutil.RunCosign(t, bin, project, nil, "verify-blob-attestation",
			"--bundle", bundle, "--key", key, "--insecure-ignore-tlog", "--type", predicateType, artifact)
	}
	files := 0
	for _, c := range testutil.ReadManifest(t, out).Components {
		for _, a := range c.Artifacts {
			if a.MediaType == "application/vnd.oci.image.manifest.v1+json" {
				continue // an image is checked by its digest, not as a file
			}
			files++
			t.Run(a.Name, func(t *testing.T) {
				out, err := cosign(pub, evidence.PredicateTypeRelease, filepath.Join(project, filepath.FromSlash(a.Name)))
				if err != nil || !strings.Contains(out, "Verified OK") {
					t.Errorf("cosign verify-blob-attestation %s: %v\n%s", a.Name, err, out)
				}
			})
		}
	}
	if files != 5 {
		t.Errorf("%d released files checked, want the example's 5", files)
	}

	other := testutil.NewKey(t, t.TempDir(), "other").PublicFile
	changed := filepath.Join(t.TempDir(), "wm-fw-3.1.2.bin")
	testutil.WriteFile(t, changed, testutil.ReadFile(t, filepath.Join(project, "build/fw/wm-fw-3.1.2.bin")))
	testutil.FlipByte(t, changed, 0)
	firmware := filepath.Join(project, "build/fw/wm-fw-3.1.2.bin")
	for _, tt := range []struct {
		name, key, predicateType, artifact string
	}{
		{"a file that is not released", pub, evidence.PredicateTypeRelease, configFile(project)},
		{"a released file with one byte changed", pub, evidence.PredicateTypeRelease, changed},
		{"another predicate type", pub, "https://evident.dev/attestation/approval/v1", firmware},
		{"another key", other, evidence.PredicateTypeRelease, firmware},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := cosign(tt.key, tt.predicateType, tt.artifact)
			if err == nil || strings.Contains(out, "Verified OK") {
				t.Errorf("cosign verified it:\n%s", out)
			}
		})
	}
}
