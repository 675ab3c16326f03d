package sign

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign/signtest"
)

// A key-signed bundle with an RFC 3161 timestamp still verifies with
// cosign --key --insecure-ignore-tlog, and cosign checks the timestamp
// too when given the TSA's chain as a trusted root.
func TestCosignVerifiesTimestampedBundle(t *testing.T) {
	bin := cosignBinary(t)
	dir := t.TempDir()
	tsa := signtest.NewTSA(t)
	tsaRoot := mustTSARoot(t, tsa.ChainPEM())
	art := []byte("firmware image v1.2.0\n")
	writeFile(t, filepath.Join(dir, "firmware.bin"), art)
	st := Statement{Subjects: []Subject{{Name: "firmware.bin", Digest: digest.FromBytes(art)}}, PredicateType: evidence.PredicateTypeRelease, Predicate: []byte(`{"product":{"name":"monitor","version":"1.2.0"}}`)}
	payload, _ := st.Encode()
	k := mustGenerate(t, AlgECDSAP256)
	b, err := mustKeySigner(t, k, KeySignerOptions{TSAURLs: []string{tsa.URL()}, TrustedRoot: tsaRoot}).Sign(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "release.sigstore.json"), b)
	pub, _ := k.Public().MarshalPEM()
	writeFile(t, filepath.Join(dir, "key.pub"), pub)
	js, err := tsaRoot.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "tsa_root.json"), js)
	otherJS, _ := mustTSARoot(t, signtest.NewTSA(t).ChainPEM()).MarshalJSON()
	writeFile(t, filepath.Join(dir, "other_root.json"), otherJS)

	run := func(extra ...string) (string, error) {
		args := append([]string{"verify-blob-attestation", "--bundle", "release.sigstore.json", "--key", "key.pub",
			"--insecure-ignore-tlog", "--type", evidence.PredicateTypeRelease}, extra...)
		return cosign(t, bin, dir, nil, append(args, "firmware.bin")...)
	}
	if out, err := run(); err != nil || !strings.Contains(out, "Verified OK") {
		t.Errorf("cosign --key --insecure-ignore-tlog: %v\n%s", err, out)
	}
	if out, err := run("--use-signed-timestamps", "--trusted-root", "tsa_root.json"); err != nil || !strings.Contains(out, "Verified OK") {
		t.Errorf("cosign --use-signed-timestamps with the TSA's root: %v\n%s", err, out)
	}
	if out, err := run("--use-signed-timestamps", "--trusted-root", "other_root.json"); err == nil || !strings.Contains(out, "failed to verify timestamps") {
		t.Errorf("cosign accepted the timestamp with another TSA's root:\n%s", out)
	}
}

// A keyless bundle made here verifies with cosign against the instance's
// trusted root and the signer's identity, and not with another identity.
func TestCosignVerifiesKeylessBundle(t *testing.T) {
	bin := cosignBinary(t)
	dir := t.TempDir()
	e := newKeylessEnv(t, 5*time.Minute)
	art := []byte("firmware image v1.2.0\n")
	writeFile(t, filepath.Join(dir, "firmware.bin"), art)
	st := Statement{Subjects: []Subject{{Name: "firmware.bin", Digest: digest.FromBytes(art)}}, PredicateType: evidence.PredicateTypeRelease, Predicate: []byte(`{}`)}
	payload, _ := st.Encode()
	b, err := mustKeyless(t, e.options(e.githubSource(""))).Sign(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "release.sigstore.json"), b)
	js, err := e.TrustedRoot.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "trusted_root.json"), js)

	run := func(identity, issuer string) (string, error) {
		return cosign(t, bin, dir, nil, "verify-blob-attestation", "--bundle", "release.sigstore.json",
			"--trusted-root", "trusted_root.json", "--use-signed-timestamps", "--insecure-ignore-tlog", "--insecure-ignore-sct",
			"--certificate-identity-regexp", identity, "--certificate-oidc-issuer", issuer,
			"--type", evidence.PredicateTypeRelease, "firmware.bin")
	}
	if out, err := run("^"+releasePattern+"$", githubIssuer); err != nil || !strings.Contains(out, "Verified OK") {
		t.Errorf("cosign with the release identity: %v\n%s", err, out)
	}
	if out, err := run(`^https://github\.com/acme/other/.*$`, githubIssuer); err == nil || !strings.Contains(out, "failed to verify certificate identity") {
		t.Errorf("cosign accepted another identity:\n%s", out)
	}
	if out, err := run("^"+releasePattern+"$", gitlabIssuer); err == nil || !strings.Contains(out, `expected issuer value "https://gitlab.com"`) {
		t.Errorf("cosign accepted another issuer:\n%s", out)
	}
}
