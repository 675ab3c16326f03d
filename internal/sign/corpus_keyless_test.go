package sign

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/evident-dev/evident/internal/evidence"
)

// Real keyless bundles of the corpus, checked offline against the
// public-good trusted root of the corpus: certificate chain, SCT, Rekor
// entry (signed entry timestamp and inclusion proof) and identity.
func TestVerifyCorpusKeyless(t *testing.T) {
	tr, err := ParseTrustedRoot(readFile(t, filepath.Join(corpusSigstore, "sigstore-go_trusted-root_public-good.json")))
	if err != nil {
		t.Fatal(err)
	}
	const (
		bcrWorkflow = "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml@refs/tags/v0.0.1"
		reusable    = "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d"
		hammerTime  = "https://token.actions.githubusercontent.com/hammer-time"
	)
	tests := []struct {
		file    string
		id      Identity
		kind    evidence.Kind // "" when it verifies
		want    string        // error text, or the signer identity
		logTime string        // Rekor's integrated time, when it verifies
	}{
		{"bazel-central-registry_publish-to-bcr_bundle-v0.3_slsa-v1.0.intoto.jsonl",
			Identity{Issuer: githubIssuer, SubjectRegexp: `https://github\.com/bazel-contrib/publish-to-bcr/\.github/workflows/publish\.yaml@refs/tags/v.*`},
			"", githubIssuer + "|" + bcrWorkflow, "2025-03-26T23:47:30Z"},
		{"bazel-central-registry_publish-to-bcr_bundle-v0.3_slsa-v1.0.intoto.jsonl",
			Identity{Issuer: githubIssuer, SubjectRegexp: `https://github\.com/bazel-contrib/publish-to-bcr/\.github/workflows/publish\.yaml@refs/heads/.*`},
			evidence.KindVerification, `signed by "` + bcrWorkflow + `"`, ""},
		{"github_attestation_reusable-workflow.json",
			Identity{Issuer: githubIssuer, Subject: reusable},
			"", githubIssuer + "|" + reusable, "2024-05-24T19:14:24Z"},
		{"github_attestation_custom-issuer.json",
			Identity{Issuer: hammerTime, SubjectRegexp: `https://github\.com/too-legit/attest/.*`},
			"", hammerTime + "|https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main", "2024-09-11T19:19:03Z"},
		{"github_attestation_custom-issuer.json", // the default issuer is not the enterprise one
			Identity{Issuer: githubIssuer, SubjectRegexp: `https://github\.com/too-legit/attest/.*`},
			evidence.KindVerification, `(OIDC issuer "` + hammerTime + `"), which matches none`, ""},
		{"conformance_bundle-v0.3_github-actions-slsa-v1_dsse.json",
			Identity{Issuer: githubIssuer, SubjectRegexp: `https://github\.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.*`},
			"", githubIssuer + "|https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main", "2024-12-16T18:42:56Z"},
		{"conformance_FAIL_dsse-mismatch-envelope.json",
			Identity{Issuer: githubIssuer, SubjectRegexp: ".*"},
			evidence.KindVerification, "transparency log signature does not match", ""},
		// Another Sigstore instance (GitHub's, TSA only): not this root.
		{"github_attestation_bundle-v0.3_no-tlog_tsa-only.jsonl",
			Identity{Issuer: githubIssuer, SubjectRegexp: ".*"},
			evidence.KindVerification, "keyless signature does not verify against the trusted root", ""},
		// Signed by a trusted identity, but an in-toto v0.1 statement.
		{"trivy_cosign-bundle-v0.3_cyclonedx-attestation.json",
			Identity{Issuer: "https://github.com/login/oauth", Subject: "thomas.grininger@ringodev.com"},
			evidence.KindInvalid, `signed payload: statement: _type "https://in-toto.io/Statement/v0.1" is not supported`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.id.String(), func(t *testing.T) {
			v, err := Verify(context.Background(), readFile(t, filepath.Join(corpusSigstore, tc.file)), Trust{Identities: []Identity{tc.id}, TrustedRoot: tr})
			if tc.kind != "" {
				checkErr(t, err, tc.kind, tc.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.SignerIdentity != tc.want {
				t.Errorf("SignerIdentity %q, want %q", v.SignerIdentity, tc.want)
			}
			at, ok := v.SigningTime()
			if want, _ := time.Parse(time.RFC3339, tc.logTime); !ok || !at.Equal(want) || v.Timestamps[0].Source != TimeSourceRekor {
				t.Errorf("SigningTime %v (%+v), want Rekor's %s", at, v.Timestamps, tc.logTime)
			}
		})
	}
}
