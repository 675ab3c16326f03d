package sign

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

// These tests run the real cosign (v3) offline. They find it through
// EVIDENT_COSIGN (path to the binary), then PATH; without it they skip,
// unless EVIDENT_TEST_NO_SKIP=1 makes that a failure.

func cosignBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("EVIDENT_COSIGN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("EVIDENT_COSIGN: %v", err)
		}
		return p
	}
	if p, err := exec.LookPath("cosign"); err == nil {
		return p
	}
	if os.Getenv("EVIDENT_TEST_NO_SKIP") == "1" {
		t.Fatal("cosign not found: set EVIDENT_COSIGN or put cosign on PATH (EVIDENT_TEST_NO_SKIP=1 forbids skipping)")
	}
	t.Skip("cosign not found: set EVIDENT_COSIGN=/path/to/cosign or put it on PATH")
	return ""
}

// cosign runs the binary in dir with a private HOME (cosign caches TUF
// metadata there) and the given extra environment, and returns its
// combined output.
func cosign(t *testing.T, bin, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	home := filepath.Join(dir, ".home")
	cmd.Env = append([]string{
		"HOME=" + home,
		"TUF_ROOT=" + filepath.Join(home, "tuf"),
		"PATH=" + os.Getenv("PATH"),
	}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A bundle evident signs with a key verifies with cosign
// verify-blob-attestation for every subject, ECDSA and Ed25519 alike, and
// fails for a file that is not a subject and for another predicate type.
func TestCosignVerifiesOurBundles(t *testing.T) {
	bin := cosignBinary(t)
	for _, alg := range []string{AlgECDSAP256, AlgEd25519} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			arts := map[string][]byte{
				"firmware.bin": []byte("firmware image v1.0.0\n"),
				"app.apk":      []byte("android app\n"),
			}
			st := Statement{PredicateType: evidence.PredicateTypeRelease, Predicate: []byte(`{"product":{"name":"monitor","version":"1.0.0"}}`)}
			for _, name := range []string{"firmware.bin", "app.apk"} {
				writeFile(t, filepath.Join(dir, name), arts[name])
				st.Subjects = append(st.Subjects, Subject{Name: name, Digest: digest.FromBytes(arts[name])})
			}
			writeFile(t, filepath.Join(dir, "other.bin"), []byte("not released\n"))

			k := mustGenerate(t, alg)
			writeFile(t, filepath.Join(dir, "release.sigstore.json"), signStatement(t, k, st))
			pub, _ := k.Public().MarshalPEM()
			writeFile(t, filepath.Join(dir, "key.pub"), pub)

			verify := func(predType, artifact string) (string, error) {
				return cosign(t, bin, dir, nil, "verify-blob-attestation",
					"--bundle", "release.sigstore.json", "--key", "key.pub", "--insecure-ignore-tlog",
					"--type", predType, artifact)
			}
			for _, name := range []string{"firmware.bin", "app.apk"} {
				out, err := verify(evidence.PredicateTypeRelease, name)
				if err != nil || !strings.Contains(out, "Verified OK") {
					t.Errorf("cosign verify-blob-attestation %s: %v\n%s", name, err, out)
				}
			}
			if out, err := verify(evidence.PredicateTypeRelease, "other.bin"); err == nil || strings.Contains(out, "Verified OK") {
				t.Errorf("cosign verified a file that is not a subject:\n%s", out)
			}
			if out, err := verify("https://evident.dev/attestation/approval/v1", "firmware.bin"); err == nil || strings.Contains(out, "Verified OK") {
				t.Errorf("cosign verified with the wrong predicate type:\n%s", out)
			}
		})
	}
}

// A key written by cosign generate-key-pair loads, keeps its passphrase
// protection, and the bundles it signs verify with cosign and cosign.pub.
func TestCosignKeyLoads(t *testing.T) {
	bin := cosignBinary(t)
	dir := t.TempDir()
	const pass = "cosign passphrase"
	if out, err := cosign(t, bin, dir, []string{"COSIGN_PASSWORD=" + pass}, "generate-key-pair", "--output-key-prefix", "cos"); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	keyPEM := readFile(t, filepath.Join(dir, "cos.key"))
	k, err := LoadPrivateKey(keyPEM, passphrase(pass))
	if err != nil {
		t.Fatalf("LoadPrivateKey(cosign key): %v", err)
	}
	if !k.Encrypted() {
		t.Error("cosign key does not report Encrypted")
	}
	pub, err := LoadPublicKey(readFile(t, filepath.Join(dir, "cos.pub")))
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(k.Public()) {
		t.Fatal("cosign.pub is not the public half of the loaded cosign.key")
	}
	if _, err := LoadPrivateKey(keyPEM, passphrase("not it")); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("wrong passphrase for a cosign key: %v", err)
	}

	art := []byte("artifact\n")
	writeFile(t, filepath.Join(dir, "art"), art)
	st := Statement{Subjects: []Subject{{Name: "art", Digest: digest.FromBytes(art)}}, PredicateType: evidence.PredicateTypeRelease, Predicate: []byte(`{}`)}
	writeFile(t, filepath.Join(dir, "b.json"), signStatement(t, k, st))
	out, err := cosign(t, bin, dir, nil, "verify-blob-attestation", "--bundle", "b.json", "--key", "cos.pub",
		"--insecure-ignore-tlog", "--type", evidence.PredicateTypeRelease, "art")
	if err != nil || !strings.Contains(out, "Verified OK") {
		t.Errorf("cosign verify-blob-attestation with a cosign key: %v\n%s", err, out)
	}
}

// Our encrypted key file is cosign's format: cosign derives the same public
// key from it, refuses a wrong passphrase, and signs an attestation with it
// that Verify accepts exactly when cosign itself does (always, for ECDSA).
func TestCosignReadsOurKey(t *testing.T) {
	bin := cosignBinary(t)
	for _, alg := range []string{AlgECDSAP256, AlgEd25519} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			const pass = "our passphrase"
			k := mustGenerate(t, alg)
			enc, err := k.MarshalEncryptedPEM([]byte(pass))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "ours.key"), enc)

			out, err := cosign(t, bin, dir, []string{"COSIGN_PASSWORD=" + pass}, "public-key", "--key", "ours.key")
			if err != nil {
				t.Fatalf("cosign public-key: %v\n%s", err, out)
			}
			got, err := LoadPublicKey([]byte(out))
			if err != nil {
				t.Fatalf("cosign's public key output: %v\n%s", err, out)
			}
			if got.ID() != k.Public().ID() {
				t.Errorf("cosign derived key %s, want %s", got.ID(), k.Public().ID())
			}
			if out, err := cosign(t, bin, dir, []string{"COSIGN_PASSWORD=wrong"}, "public-key", "--key", "ours.key"); err == nil {
				t.Errorf("cosign accepted a wrong passphrase:\n%s", out)
			}

			// cosign signs our statement with our key; an empty signing
			// config keeps it offline (no Rekor, no TSA).
			if out, err := cosign(t, bin, dir, nil, "signing-config", "create", "--out", "signing-config.json"); err != nil {
				t.Fatalf("cosign signing-config create: %v\n%s", err, out)
			}
			st := testStatement(t, "firmware.bin")
			payload, _ := st.Encode()
			writeFile(t, filepath.Join(dir, "statement.json"), payload)
			writeFile(t, filepath.Join(dir, "firmware.bin"), []byte("content of firmware.bin"))
			pub, _ := k.Public().MarshalPEM()
			writeFile(t, filepath.Join(dir, "ours.pub"), pub)
			out, err = cosign(t, bin, dir, []string{"COSIGN_PASSWORD=" + pass}, "attest-blob", "--key", "ours.key",
				"--signing-config", "signing-config.json", "--statement", "statement.json", "--bundle", "cosign.sigstore.json", "--yes")
			if err != nil {
				t.Fatalf("cosign attest-blob: %v\n%s", err, out)
			}
			cosignOut, cosignErr := cosign(t, bin, dir, nil, "verify-blob-attestation", "--bundle", "cosign.sigstore.json",
				"--key", "ours.pub", "--insecure-ignore-tlog", "--type", testPredType, "firmware.bin")
			v, err := Verify(context.Background(), readFile(t, filepath.Join(dir, "cosign.sigstore.json")), Trust{Keys: []*PublicKey{k.Public()}})
			if alg == AlgEd25519 {
				// cosign 3.1.3 signs DSSE with Ed25519ph for an Ed25519
				// key, and then rejects its own bundle, because DSSE
				// verifiers (its own included) use pure Ed25519. Verify
				// must agree with cosign either way, and name the key.
				if (cosignErr == nil) != (err == nil) {
					t.Fatalf("cosign and Verify disagree on cosign's Ed25519 bundle: cosign %v (%s), Verify %v", cosignErr, cosignOut, err)
				}
				if err != nil {
					checkErr(t, err, evidence.KindVerification, "signature does not verify with trusted key "+k.Public().ID()+" named by the bundle")
					return
				}
			}
			if cosignErr != nil {
				t.Errorf("cosign does not verify its own bundle: %v\n%s", cosignErr, cosignOut)
			}
			if err != nil {
				t.Fatalf("Verify(cosign's bundle): %v", err)
			}
			if v.SignerKeyID != k.Public().ID() {
				t.Errorf("SignerKeyID %s, want %s", v.SignerKeyID, k.Public().ID())
			}
			if diff := cmp.Diff(&st, v.Statement, digestCmp); diff != "" {
				t.Errorf("statement from cosign's bundle (-want +got):\n%s", diff)
			}
		})
	}
}
