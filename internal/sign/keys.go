package sign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

// Key algorithms, as named in configuration and on the command line.
const (
	AlgECDSAP256 = "ecdsa-p256" // the default
	AlgEd25519   = "ed25519"
)

// PEM block types read and written. The two encrypted types are cosign's:
// it writes SIGSTORE and still reads COSIGN, and so does this package.
const (
	pemPrivateKey         = "PRIVATE KEY" // PKCS#8
	pemECPrivateKey       = "EC PRIVATE KEY"
	pemPublicKey          = "PUBLIC KEY"
	pemEncryptedSigstore  = "ENCRYPTED SIGSTORE PRIVATE KEY"
	pemEncryptedCosign    = "ENCRYPTED COSIGN PRIVATE KEY"
	pemECParameters       = "EC PARAMETERS" // openssl ecparam -genkey writes it before the key
	supportedPrivateTypes = `"PRIVATE KEY" (PKCS#8), "EC PRIVATE KEY" or cosign's "ENCRYPTED SIGSTORE PRIVATE KEY"`
)

// ErrWrongPassphrase is wrapped by the error LoadPrivateKey returns when an
// encrypted key does not decrypt with the passphrase given, so that a
// prompt can ask again.
var ErrWrongPassphrase = errors.New("wrong passphrase for key")

// PrivateKey is a signing key: ECDSA P-256 or Ed25519.
type PrivateKey struct {
	signer    crypto.Signer // *ecdsa.PrivateKey or ed25519.PrivateKey
	pub       *PublicKey
	encrypted bool
}

// PublicKey is a verification key: ECDSA P-256 or Ed25519.
type PublicKey struct {
	key crypto.PublicKey // *ecdsa.PublicKey or ed25519.PublicKey
	der []byte           // PKIX
	id  string
}

// GenerateKey makes a new key; alg is AlgECDSAP256 (also for "") or
// AlgEd25519.
func GenerateKey(alg string) (*PrivateKey, error) {
	var s crypto.Signer
	switch alg {
	case "", AlgECDSAP256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate %s key: %w", AlgECDSAP256, err)
		}
		s = k
	case AlgEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate %s key: %w", AlgEd25519, err)
		}
		s = k
	default:
		return nil, evidence.Errorf(evidence.KindInvalid, "key algorithm %q is not supported; want %s or %s", alg, AlgECDSAP256, AlgEd25519)
	}
	return newPrivateKey(s, false)
}

// LoadPrivateKey reads a PEM private key: PKCS#8 ("PRIVATE KEY"), SEC 1
// ("EC PRIVATE KEY"), or cosign's passphrase-protected format ("ENCRYPTED
// SIGSTORE PRIVATE KEY", or the older "ENCRYPTED COSIGN PRIVATE KEY"; scrypt
// and NaCl secretbox around a PKCS#8 key). passphrase is called only for an
// encrypted key, at most once; a nil passphrase with an encrypted key is an
// error. A passphrase that does not decrypt the key gives an error wrapping
// ErrWrongPassphrase. Only ECDSA P-256 and Ed25519 keys are accepted. All
// errors about the file are evidence.KindInvalid.
func LoadPrivateKey(pemBytes []byte, passphrase func() ([]byte, error)) (*PrivateKey, error) {
	block, err := onePEMBlock(pemBytes, "private key")
	if err != nil {
		return nil, err
	}
	switch block.Type {
	case pemPrivateKey:
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, evidence.Errorf(evidence.KindInvalid, "malformed PKCS#8 private key: %v", err)
		}
		return privateFromParsed(k, false)
	case pemECPrivateKey:
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, evidence.Errorf(evidence.KindInvalid, "malformed EC private key: %v", err)
		}
		return privateFromParsed(k, false)
	case pemEncryptedSigstore, pemEncryptedCosign:
		return loadEncrypted(block, passphrase)
	case pemPublicKey:
		return nil, evidence.Errorf(evidence.KindInvalid, "this is a public key; a private key is needed to sign")
	case "RSA PRIVATE KEY":
		return nil, evidence.Errorf(evidence.KindInvalid, "RSA keys are not supported; use an ECDSA P-256 or Ed25519 key")
	case "ENCRYPTED PRIVATE KEY":
		return nil, evidence.Errorf(evidence.KindInvalid, `password-protected PKCS#8 keys ("ENCRYPTED PRIVATE KEY") are not supported; use cosign's format (evident or cosign generate-key-pair) or an unencrypted PKCS#8 key`)
	default:
		return nil, evidence.Errorf(evidence.KindInvalid, "PEM block %q is not a supported private key; want %s", block.Type, supportedPrivateTypes)
	}
}

func loadEncrypted(block *pem.Block, passphrase func() ([]byte, error)) (*PrivateKey, error) {
	if err := checkEncryptedEnvelope(block.Bytes); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "malformed encrypted private key: %v", err)
	}
	if passphrase == nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "private key is passphrase-protected, but no passphrase was given")
	}
	pass, err := passphrase()
	if err != nil {
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	der, err := encrypted.Decrypt(block.Bytes, pass)
	if err != nil {
		// checkEncryptedEnvelope ruled out everything but a failed
		// authentication of the ciphertext: the key derived from the
		// passphrase is not the one that sealed it.
		return nil, &evidence.Error{Kind: evidence.KindInvalid, Message: ErrWrongPassphrase.Error(), Err: ErrWrongPassphrase}
	}
	defer clear(der)
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "encrypted private key does not hold a PKCS#8 key: %v", err)
	}
	return privateFromParsed(k, true)
}

// checkEncryptedEnvelope checks the JSON around the ciphertext as far as
// possible without the passphrase, so that a decryption failure after it
// can only mean a wrong passphrase (or a corrupted ciphertext, which
// secretbox cannot tell apart). The accepted scrypt parameters are the ones
// go-securesystemslib accepts; anything else it would refuse anyway.
func checkEncryptedEnvelope(b []byte) error {
	var env struct {
		KDF struct {
			Name   string `json:"name"`
			Params struct {
				N int `json:"N"`
				R int `json:"r"`
				P int `json:"p"`
			} `json:"params"`
			Salt []byte `json:"salt"`
		} `json:"kdf"`
		Cipher struct {
			Name  string `json:"name"`
			Nonce []byte `json:"nonce"`
		} `json:"cipher"`
		Ciphertext []byte `json:"ciphertext"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("not cosign's JSON envelope: %v", err)
	}
	if env.KDF.Name != "scrypt" {
		return fmt.Errorf("key derivation %q is not supported; want scrypt", env.KDF.Name)
	}
	switch p := env.KDF.Params; {
	case p.R == 8 && p.P == 1 && (p.N == 1<<15 || p.N == 1<<16 || p.N == 1<<17):
	default:
		return fmt.Errorf("scrypt parameters N=%d r=%d p=%d are not supported", p.N, p.R, p.P)
	}
	if env.Cipher.Name != "nacl/secretbox" {
		return fmt.Errorf("cipher %q is not supported; want nacl/secretbox", env.Cipher.Name)
	}
	if len(env.Cipher.Nonce) != 24 {
		return fmt.Errorf("nonce has %d bytes, want 24", len(env.Cipher.Nonce))
	}
	if len(env.Ciphertext) == 0 {
		return errors.New("ciphertext is empty")
	}
	return nil
}

// LoadPublicKey reads a PEM "PUBLIC KEY" (PKIX), ECDSA P-256 or Ed25519.
// Errors are evidence.KindInvalid.
func LoadPublicKey(pemBytes []byte) (*PublicKey, error) {
	block, err := onePEMBlock(pemBytes, "public key")
	if err != nil {
		return nil, err
	}
	if block.Type != pemPublicKey {
		return nil, evidence.Errorf(evidence.KindInvalid, "PEM block %q is not a public key; want %q (PKIX)", block.Type, pemPublicKey)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "malformed PKIX public key: %v", err)
	}
	return newPublicKey(k)
}

// onePEMBlock returns the single key block of a PEM file. openssl's
// "EC PARAMETERS" block is skipped; any other second block is an error,
// because which of two keys was meant cannot be guessed.
func onePEMBlock(b []byte, what string) (*pem.Block, error) {
	var found *pem.Block
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type == pemECParameters {
			continue
		}
		if found != nil {
			return nil, evidence.Errorf(evidence.KindInvalid, "more than one PEM block (%q and %q); want exactly one %s", found.Type, blk.Type, what)
		}
		found = blk
	}
	if found == nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "no PEM block found; want a PEM-encoded %s", what)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, evidence.Errorf(evidence.KindInvalid, "unexpected data after the PEM block")
	}
	return found, nil
}

func privateFromParsed(k any, wasEncrypted bool) (*PrivateKey, error) {
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return newPrivateKey(k, wasEncrypted)
	case ed25519.PrivateKey:
		return newPrivateKey(k, wasEncrypted)
	case *rsa.PrivateKey:
		return nil, evidence.Errorf(evidence.KindInvalid, "RSA keys are not supported; use an ECDSA P-256 or Ed25519 key")
	default:
		return nil, evidence.Errorf(evidence.KindInvalid, "key type %T is not supported; use an ECDSA P-256 or Ed25519 key", k)
	}
}

func newPrivateKey(s crypto.Signer, wasEncrypted bool) (*PrivateKey, error) {
	pub, err := newPublicKey(s.Public())
	if err != nil {
		return nil, err
	}
	return &PrivateKey{signer: s, pub: pub, encrypted: wasEncrypted}, nil
}

func newPublicKey(k crypto.PublicKey) (*PublicKey, error) {
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, evidence.Errorf(evidence.KindInvalid, "ECDSA curve %s is not supported; use P-256", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, evidence.Errorf(evidence.KindInvalid, "Ed25519 public key has %d bytes, want %d", len(k), ed25519.PublicKeySize)
		}
	case *rsa.PublicKey:
		return nil, evidence.Errorf(evidence.KindInvalid, "RSA keys are not supported; use an ECDSA P-256 or Ed25519 key")
	default:
		return nil, evidence.Errorf(evidence.KindInvalid, "key type %T is not supported; use an ECDSA P-256 or Ed25519 key", k)
	}
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "encode public key: %v", err)
	}
	return &PublicKey{key: k, der: der, id: digest.FromBytes(der).String()}, nil
}

// Public returns the key's public half.
func (k *PrivateKey) Public() *PublicKey { return k.pub }

// Algorithm returns AlgECDSAP256 or AlgEd25519.
func (k *PrivateKey) Algorithm() string { return k.pub.Algorithm() }

// Encrypted reports whether the key was read from a passphrase-protected
// file. A generated key is not; writing it with MarshalEncryptedPEM does not
// change what this reports.
func (k *PrivateKey) Encrypted() bool { return k.encrypted }

// MarshalPKCS8PEM returns the key as an unencrypted PKCS#8 "PRIVATE KEY".
func (k *PrivateKey) MarshalPKCS8PEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.signer)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	defer clear(der)
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// MarshalEncryptedPEM returns the key in cosign's passphrase-protected
// format ("ENCRYPTED SIGSTORE PRIVATE KEY": scrypt N=2^16 r=8 p=1 and NaCl
// secretbox around the PKCS#8 key), which cosign reads as --key. An empty
// passphrase is refused: that would only look protected.
func (k *PrivateKey) MarshalEncryptedPEM(passphrase []byte) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, evidence.Errorf(evidence.KindInvalid, "passphrase is empty; use MarshalPKCS8PEM for an unprotected key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.signer)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	defer clear(der)
	enc, err := encrypted.Encrypt(der, passphrase)
	if err != nil {
		return nil, fmt.Errorf("encrypt private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemEncryptedSigstore, Bytes: enc}), nil
}

// ID returns the key's fingerprint, "sha256:" and the hex SHA-256 of its
// PKIX (DER) encoding. It is stable for the key's lifetime, is written as the
// key hint of the bundles it signs, and names the signer in Verified.
func (p *PublicKey) ID() string { return p.id }

// Algorithm returns AlgECDSAP256 or AlgEd25519.
func (p *PublicKey) Algorithm() string {
	if _, ok := p.key.(ed25519.PublicKey); ok {
		return AlgEd25519
	}
	return AlgECDSAP256
}

// Equal reports whether p and o are the same key.
func (p *PublicKey) Equal(o *PublicKey) bool {
	return p != nil && o != nil && bytes.Equal(p.der, o.der)
}

// MarshalPEM returns the key as a PEM "PUBLIC KEY" (PKIX), the form cosign
// reads as --key.
func (p *PublicKey) MarshalPEM() ([]byte, error) {
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: p.der}), nil
}
