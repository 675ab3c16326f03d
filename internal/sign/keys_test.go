package sign

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"regexp"
	"testing"

	"github.com/evident-dev/evident/internal/evidence"
)

func mustGenerate(t testing.TB, alg string) *PrivateKey {
	t.Helper()
	k, err := GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func passphrase(p string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(p), nil }
}

func TestGenerateKeyAlgorithms(t *testing.T) {
	tests := []struct{ alg, want string }{
		{"", AlgECDSAP256},
		{AlgECDSAP256, AlgECDSAP256},
		{AlgEd25519, AlgEd25519},
	}
	for _, tc := range tests {
		t.Run("alg="+tc.alg, func(t *testing.T) {
			k := mustGenerate(t, tc.alg)
			if k.Algorithm() != tc.want || k.Public().Algorithm() != tc.want {
				t.Errorf("algorithm %s/%s, want %s", k.Algorithm(), k.Public().Algorithm(), tc.want)
			}
			if k.Encrypted() {
				t.Error("a generated key reports Encrypted")
			}
		})
	}
	_, err := GenerateKey("rsa-2048")
	checkErr(t, err, evidence.KindInvalid, `key algorithm "rsa-2048" is not supported`)
}

func TestKeyID(t *testing.T) {
	k := mustGenerate(t, AlgECDSAP256)
	der, err := x509.MarshalPKIXPublicKey(k.signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	if want := "sha256:" + hex.EncodeToString(sum[:]); k.Public().ID() != want {
		t.Errorf("ID %s, want %s", k.Public().ID(), want)
	}
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(k.Public().ID()) {
		t.Errorf("ID %q has the wrong form", k.Public().ID())
	}
	other := mustGenerate(t, AlgECDSAP256)
	if other.Public().ID() == k.Public().ID() {
		t.Error("two keys share an ID")
	}
}

func TestPrivateKeyRoundTrip(t *testing.T) {
	for _, alg := range []string{AlgECDSAP256, AlgEd25519} {
		k := mustGenerate(t, alg)
		plain, err := k.MarshalPKCS8PEM()
		if err != nil {
			t.Fatal(err)
		}
		enc, err := k.MarshalEncryptedPEM([]byte("correct horse"))
		if err != nil {
			t.Fatal(err)
		}
		if blk, _ := pem.Decode(enc); blk == nil || blk.Type != "ENCRYPTED SIGSTORE PRIVATE KEY" {
			t.Fatalf("%s: encrypted PEM type %v, want ENCRYPTED SIGSTORE PRIVATE KEY", alg, blk)
		}
		blk, _ := pem.Decode(enc)
		legacy := pemOf("ENCRYPTED COSIGN PRIVATE KEY", blk.Bytes)

		tests := []struct {
			name          string
			pem           []byte
			pass          string
			wantEncrypted bool
		}{
			{"PKCS#8", plain, "", false},
			{"encrypted", enc, "correct horse", true},
			{"encrypted, COSIGN type", legacy, "correct horse", true},
		}
		for _, tc := range tests {
			t.Run(alg+"/"+tc.name, func(t *testing.T) {
				calls := 0
				got, err := LoadPrivateKey(tc.pem, func() ([]byte, error) {
					calls++
					return []byte(tc.pass), nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if !got.Public().Equal(k.Public()) || got.Public().ID() != k.Public().ID() {
					t.Error("loaded key differs from the one written")
				}
				if got.Encrypted() != tc.wantEncrypted {
					t.Errorf("Encrypted() = %v, want %v", got.Encrypted(), tc.wantEncrypted)
				}
				wantCalls := 0
				if tc.wantEncrypted {
					wantCalls = 1
				}
				if calls != wantCalls {
					t.Errorf("passphrase asked %d times, want %d", calls, wantCalls)
				}
			})
		}
	}
}

func TestPublicKeyRoundTrip(t *testing.T) {
	for _, alg := range []string{AlgECDSAP256, AlgEd25519} {
		t.Run(alg, func(t *testing.T) {
			k := mustGenerate(t, alg)
			b, err := k.Public().MarshalPEM()
			if err != nil {
				t.Fatal(err)
			}
			p, err := LoadPublicKey(b)
			if err != nil {
				t.Fatal(err)
			}
			if !p.Equal(k.Public()) || p.ID() != k.Public().ID() || p.Algorithm() != alg {
				t.Errorf("loaded %s %s, want %s %s", p.Algorithm(), p.ID(), alg, k.Public().ID())
			}
		})
	}
}

func TestEncryptedKeyPassphraseErrors(t *testing.T) {
	enc, err := mustGenerate(t, AlgECDSAP256).MarshalEncryptedPEM([]byte("right"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("wrong passphrase", func(t *testing.T) {
		_, err := LoadPrivateKey(enc, passphrase("wrong"))
		checkErr(t, err, evidence.KindInvalid, "wrong passphrase for key")
		if !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("error %v does not wrap ErrWrongPassphrase", err)
		}
	})
	t.Run("empty passphrase", func(t *testing.T) {
		_, err := LoadPrivateKey(enc, passphrase(""))
		if !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("error %v does not wrap ErrWrongPassphrase", err)
		}
	})
	t.Run("no passphrase function", func(t *testing.T) {
		_, err := LoadPrivateKey(enc, nil)
		checkErr(t, err, evidence.KindInvalid, "passphrase-protected, but no passphrase was given")
	})
	t.Run("passphrase function fails", func(t *testing.T) {
		cause := errors.New("no terminal")
		_, err := LoadPrivateKey(enc, func() ([]byte, error) { return nil, cause })
		if !errors.Is(err, cause) {
			t.Errorf("error %v does not wrap the prompt's error", err)
		}
	})
	t.Run("unencrypted key never asks", func(t *testing.T) {
		plain, err := mustGenerate(t, AlgEd25519).MarshalPKCS8PEM()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := LoadPrivateKey(plain, func() ([]byte, error) {
			t.Error("passphrase asked for an unencrypted key")
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("empty passphrase refused when writing", func(t *testing.T) {
		_, err := mustGenerate(t, AlgECDSAP256).MarshalEncryptedPEM(nil)
		checkErr(t, err, evidence.KindInvalid, "passphrase is empty")
	})
}

func TestLoadPrivateKeyFormats(t *testing.T) {
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(p256)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384pkcs8, _ := x509.MarshalPKCS8PrivateKey(p384)
	p384sec1, _ := x509.MarshalECPrivateKey(p384)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaPKCS8, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	rsaEnc, err := (&PrivateKey{signer: rsaKey}).MarshalEncryptedPEM([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := mustGenerate(t, AlgECDSAP256).Public().MarshalPEM()
	plain, _ := mustGenerate(t, AlgECDSAP256).MarshalPKCS8PEM()
	// prime256v1 named-curve OID, as "openssl ecparam -genkey" writes it.
	ecParams := pemOf("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})

	tests := []struct {
		name string
		pem  []byte
		want string // "" = loads
	}{
		{"SEC1 P-256", pemOf("EC PRIVATE KEY", sec1), ""},
		{"openssl ecparam output", append(append([]byte{}, ecParams...), pemOf("EC PRIVATE KEY", sec1)...), ""},
		{"text before the PEM block", append([]byte("my signing key\n"), plain...), ""},
		{"PKCS#8 P-384", pemOf("PRIVATE KEY", p384pkcs8), "ECDSA curve P-384 is not supported"},
		{"SEC1 P-384", pemOf("EC PRIVATE KEY", p384sec1), "ECDSA curve P-384 is not supported"},
		{"PKCS#8 RSA", pemOf("PRIVATE KEY", rsaPKCS8), "RSA keys are not supported"},
		{"PKCS#1 RSA", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), "RSA keys are not supported"},
		{"encrypted RSA", rsaEnc, "RSA keys are not supported"},
		{"public key", pubPEM, "this is a public key"},
		{"openssl encrypted PKCS#8", pemOf("ENCRYPTED PRIVATE KEY", []byte{1}), `"ENCRYPTED PRIVATE KEY") are not supported`},
		{"OpenSSH key", pemOf("OPENSSH PRIVATE KEY", []byte{1}), `PEM block "OPENSSH PRIVATE KEY" is not a supported private key`},
		{"not PEM", []byte("-----BEGIN nothing"), "no PEM block found"},
		{"empty", nil, "no PEM block found"},
		{"two keys", append(append([]byte{}, plain...), plain...), "more than one PEM block"},
		{"trailing garbage", append(append([]byte{}, plain...), "garbage"...), "unexpected data after the PEM block"},
		{"garbage PKCS#8", pemOf("PRIVATE KEY", []byte("garbage")), "malformed PKCS#8 private key"},
		{"garbage SEC1", pemOf("EC PRIVATE KEY", []byte("garbage")), "malformed EC private key"},
		{"encrypted, not JSON", pemOf("ENCRYPTED SIGSTORE PRIVATE KEY", []byte("garbage")), "not cosign's JSON envelope"},
		{"encrypted, unknown KDF", pemOf("ENCRYPTED SIGSTORE PRIVATE KEY", []byte(`{"kdf":{"name":"argon2"}}`)), `key derivation "argon2" is not supported`},
		{"encrypted, huge scrypt N", pemOf("ENCRYPTED SIGSTORE PRIVATE KEY", []byte(`{"kdf":{"name":"scrypt","params":{"N":1073741824,"r":8,"p":1}}}`)), "scrypt parameters N=1073741824 r=8 p=1 are not supported"},
		{"encrypted, unknown cipher", pemOf("ENCRYPTED SIGSTORE PRIVATE KEY", []byte(`{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1}},"cipher":{"name":"aes"}}`)), `cipher "aes" is not supported`},
		{"encrypted, short nonce", pemOf("ENCRYPTED SIGSTORE PRIVATE KEY", []byte(`{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1}},"cipher":{"name":"nacl/secretbox","nonce":"AAAA"}}`)), "nonce has 3 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := LoadPrivateKey(tc.pem, passphrase("pw"))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("LoadPrivateKey: %v", err)
				}
				if k.Algorithm() != AlgECDSAP256 {
					t.Errorf("algorithm %s", k.Algorithm())
				}
				return
			}
			checkErr(t, err, evidence.KindInvalid, tc.want)
		})
	}
}

func TestLoadPublicKeyFormats(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384der, _ := x509.MarshalPKIXPublicKey(p384.Public())
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKIXPublicKey(rsaKey.Public())
	priv, _ := mustGenerate(t, AlgECDSAP256).MarshalPKCS8PEM()
	corpusKey := readFile(t, corpusSigstore+"/conformance_managed-key.pub")

	tests := []struct {
		name string
		pem  []byte
		want string
	}{
		{"cosign-style public key from the corpus", corpusKey, ""},
		{"P-384", pemOf("PUBLIC KEY", p384der), "ECDSA curve P-384 is not supported"},
		{"RSA", pemOf("PUBLIC KEY", rsaDER), "RSA keys are not supported"},
		{"PKCS#1 RSA public key", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)), `PEM block "RSA PUBLIC KEY" is not a public key`},
		{"private key", priv, `PEM block "PRIVATE KEY" is not a public key`},
		{"garbage DER", pemOf("PUBLIC KEY", []byte("garbage")), "malformed PKIX public key"},
		{"not PEM", []byte("ssh-ed25519 AAAA"), "no PEM block found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := LoadPublicKey(tc.pem)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("LoadPublicKey: %v", err)
				}
				again, _ := p.MarshalPEM()
				if q, err := LoadPublicKey(again); err != nil || q.ID() != p.ID() {
					t.Errorf("re-marshalled key loads as %v, %v", q, err)
				}
				return
			}
			checkErr(t, err, evidence.KindInvalid, tc.want)
		})
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
