package sign

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/evidence"
)

// Every file of the Sigstore corpus is rejected by Verify with a trust
// policy that holds only our key, with the kind and reason listed here.
// Bundles other tools made are either the wrong format for evident (older
// bundle versions, message signatures, non-in-toto payloads: KindInvalid) or
// signed by someone evident does not trust (keyless certificates:
// KindVerification). A file added to the corpus fails this test until it is
// listed.
func TestVerifyCorpus(t *testing.T) {
	const (
		v01       = "Sigstore bundle version 0.1 is not supported"
		v02       = "Sigstore bundle version 0.2 is not supported"
		msgSig    = "bundle holds a message signature, not a DSSE envelope"
		keyless   = "bundle is signed with a certificate (keyless signing), but only keys are trusted"
		notBundle = "not a supported Sigstore bundle: mediaType"
		syntax    = "malformed Sigstore bundle: syntax error"
	)
	inv, ver := evidence.KindInvalid, evidence.KindVerification
	want := map[string]struct {
		kind evidence.Kind
		msg  string
	}{
		"bazel-central-registry_publish-to-bcr_bundle-v0.3_slsa-v1.0.intoto.jsonl":      {ver, keyless},
		"conformance_FAIL_dsse-mismatch-envelope.json":                                  {ver, keyless},
		"conformance_FAIL_empty-certificate-chain.json":                                 {inv, v01},
		"conformance_FAIL_intoto-missing-inclusion-proof.json":                          {inv, v02},
		"conformance_FAIL_invalid-base64-signature.json":                                {inv, v01},
		"conformance_FAIL_malformed-json.json":                                          {inv, "malformed Sigstore bundle: unexpected EOF"},
		"conformance_FAIL_managed-key-no-key.json":                                      {inv, msgSig},
		"conformance_FAIL_negative-log-index.json":                                      {inv, v01},
		"conformance_FAIL_rekor-v2-no-timestamp.json":                                   {inv, msgSig},
		"conformance_FAIL_trusted-root-tlog-missing-validity-start.json":                {inv, notBundle + ` "application/vnd.dev.sigstore.trustedroot+json;version=0.1"`},
		"conformance_FAIL_unknown-version-99.9.json":                                    {inv, notBundle + ` "application/vnd.dev.sigstore.bundle+json;version=99.9"`},
		"conformance_artifact_a.txt":                                                    {inv, syntax},
		"conformance_bundle-v0.1_happy-path_hashedrekord.json":                          {inv, v01},
		"conformance_bundle-v0.2_happy-path_hashedrekord.json":                          {inv, v02},
		"conformance_bundle-v0.2_intoto_custom-trust-root.json":                         {inv, v02},
		"conformance_bundle-v0.3_github-actions-slsa-v1_dsse.json":                      {ver, keyless},
		"conformance_bundle-v0.3_happy-path_new-mediaType.json":                         {inv, msgSig},
		"conformance_bundle-v0.3_happy-path_old-mediaType.json":                         {inv, msgSig},
		"conformance_bundle-v0.3_managed-key_publicKey.json":                            {inv, msgSig},
		"conformance_bundle-v0.3_rekor-v2_checkpoint-cosigned.json":                     {inv, msgSig},
		"conformance_bundle-v0.3_rekor-v2_dsse.json":                                    {ver, keyless},
		"conformance_bundle-v0.3_rekor-v2_hashedrekord-0.0.2.json":                      {inv, msgSig},
		"conformance_bundle-v0.3_sct-with-extensions.json":                              {inv, msgSig},
		"conformance_managed-key.pub":                                                   {inv, syntax},
		"conformance_trusted-root_custom-intoto.json":                                   {inv, notBundle + ` "application/vnd.dev.sigstore.trustedroot+json;version=0.1"`},
		"conformance_trusted-root_rekor-v2.json":                                        {inv, notBundle + ` "application/vnd.dev.sigstore.trustedroot+json;version=0.1"`},
		"cosign_oci-attestation_bundle-v0.3_custom-predicate.json":                      {ver, keyless},
		"cosign_trusted-root_pgi.json":                                                  {inv, notBundle + ` "application/vnd.dev.sigstore.trustedroot+json;version=0.1"`},
		"cpython_3.12.5_release_bundle-v0.1.sigstore.json":                              {inv, v01},
		"gh-cli_trusted-root_public-good-two-fulcio-cas.json":                           {inv, notBundle + ` "application/vnd.dev.sigstore.trustedroot+json;version=0.1"`},
		"github_attestation_bundle-v0.3_no-tlog_tsa-only.jsonl":                         {ver, keyless},
		"github_attestation_custom-issuer.json":                                         {ver, keyless},
		"github_attestation_missing-cert_publicKey.jsonl":                               {inv, "missing bundle content"},
		"github_attestation_missing-verification-material.jsonl":                        {inv, "missing verification material"},
		"github_attestation_reusable-workflow.json":                                     {ver, keyless},
		"github_attestation_text-plain-payload.json":                                    {inv, `DSSE payloadType is "text/plain"`},
		"github_attestation_two-bundles.jsonl":                                          {inv, syntax}, // JSON Lines: one bundle per call
		"npm-cli_bundle-v0.1_slsa-v0.2_provenance.json":                                 {inv, v01},
		"npm-registry_bundle-v0.1_publish-attestation_publicKey.json":                   {inv, v01},
		"sigstore-go_bundle-v0.1_dsse-two-signatures.json":                              {inv, v01},
		"sigstore-go_bundle-v0.3_othername-san.json":                                    {inv, msgSig},
		"sigstore-go_bundle-v0.3_publicKey-tsa-only-no-tlog.json":                       {inv, msgSig},
		"sigstore-go_signing-config_v0.2.json":                                          {inv, notBundle + ` "application/vnd.dev.sigstore.signingconfig.v0.2+json"`},
		"sigstore-go_trusted-root_public-good.json":                                     {inv, notBundle + ` "application/vnd.dev.sigstore.trustedroot+json;version=0.1"`},
		"sigstore-go_trusted-root_scaffolding.json":                                     {inv, notBundle + ` "application/vnd.dev.sigstore.trustedroot+json;version=0.1"`},
		"sigstore-js_2.0.0_bundle-v0.1_slsa-v1.json":                                    {inv, v01},
		"sigstore-js_bundle-v0.1_dsse-no-inclusion-proof.json":                          {inv, v01},
		"sigstore-js_bundle-v0.1_full-cert-chain.json":                                  {inv, v01},
		"sigstore-js_bundle-v0.2_intoto.json":                                           {inv, v02},
		"sigstore-js_bundle-v0.3_dsse.json":                                             {ver, keyless},
		"sigstore-python_bundle-v0.1_no-tlog-entry.json":                                {inv, v01},
		"sigstore-python_bundle-v0.2_github-wheel.json":                                 {inv, v02},
		"sigstore-python_bundle-v0.3_cve-2022-36056.json":                               {inv, msgSig},
		"sigstore-python_bundle-v0.3_many-timestamps-61KB.json":                         {inv, msgSig},
		"sigstore-python_bundle-v0.3_rekor-v2-staging_dsse.json":                        {ver, keyless},
		"sigstore-python_bundle_mediaType-garbage.json":                                 {inv, notBundle + ` "this is completely wrong"`},
		"sigstore-python_client-trust-config_v1.json":                                   {inv, notBundle + ` "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"`},
		"sigstore-python_trusted-root_bad-mediaType.json":                               {inv, notBundle + ` "bad-media-type"`},
		"slsa-github-generator_container-based_v2.1.0_bundle-v0.2_slsa-v1.0.build.slsa": {inv, v02},
		"slsa-github-generator_delegator_v2.1.0_bundle-v0.2_slsa-v1.0.build.slsa":       {inv, v02},
		"slsa-github-generator_generic_v2.1.0_bundle-v0.3_slsa-v0.2.intoto.jsonl":       {ver, keyless},
		"trivy_cosign-bundle-v0.3_cyclonedx-attestation.json":                           {ver, keyless},
	}

	// Our own key, plus the corpus's managed key, which did sign some of
	// these (as message signatures, which are still not ours).
	managed, err := LoadPublicKey(readFile(t, filepath.Join(corpusSigstore, "conformance_managed-key.pub")))
	if err != nil {
		t.Fatal(err)
	}
	trust := Trust{Keys: []*PublicKey{mustGenerate(t, AlgECDSAP256).Public(), managed}}

	entries, err := os.ReadDir(corpusSigstore)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("corpus file %s is not listed in this test", name)
			}
			v, err := Verify(context.Background(), readFile(t, filepath.Join(corpusSigstore, name)), trust)
			if v != nil {
				t.Errorf("Verify returned a result")
			}
			checkErr(t, err, w.kind, w.msg)
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("listed file %s is not in the corpus", name)
		}
	}

	// MANIFEST.md's list of invalid and malformed files must all be
	// KindInvalid, whatever the table above says.
	for _, name := range manifestInvalid(t) {
		if w, ok := want[name]; !ok || w.kind != evidence.KindInvalid {
			t.Errorf("MANIFEST.md lists %s as invalid, but this test expects %v", name, w.kind)
		}
	}
}

// manifestInvalid returns the files MANIFEST.md lists under "Expected
// invalid / malformed in sigstore/".
func manifestInvalid(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusSigstore, "..", "MANIFEST.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	item := regexp.MustCompile("^\\* `([^`]+)`")
	var names []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "### Expected invalid / malformed in sigstore/"):
			in = true
		case in && (strings.HasPrefix(line, "#") || strings.HasPrefix(line, "Structurally valid")):
			in = false
		case in:
			if m := item.FindStringSubmatch(line); m != nil {
				names = append(names, m[1])
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(names) < 10 {
		t.Fatalf("found only %d invalid files in MANIFEST.md; has its layout changed?", len(names))
	}
	return names
}
