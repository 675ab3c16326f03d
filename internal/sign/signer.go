package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/evident-dev/evident/internal/evidence"
)

// Signer signs statements.
//
// Sign takes an encoded in-toto statement (Statement.Encode) and returns a
// Sigstore bundle v0.3 JSON holding it as a DSSE envelope with exactly one
// signature. A payload that DecodeStatement rejects is refused with an
// evidence.KindInvalid error, so nothing is signed that Verify would reject.
// Sign may do network I/O (a keyless signer asks Fulcio, a timestamp
// authority or Rekor) and honours ctx.
type Signer interface {
	Sign(ctx context.Context, payload []byte) (bundleJSON []byte, err error)
}

// NewKeySigner returns a Signer that signs with k. Its bundles carry k's
// public key ID as the key hint and no certificate, transparency log entry
// or timestamp: they are verified with the public key alone (Verify with
// Trust.Keys, or cosign with --key and --insecure-ignore-tlog).
func NewKeySigner(k *PrivateKey) Signer { return &keySigner{key: k} }

type keySigner struct{ key *PrivateKey }

func (s *keySigner) Sign(ctx context.Context, payload []byte) ([]byte, error) {
	if s.key == nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "no signing key")
	}
	kp, err := newKeypair(s.key)
	if err != nil {
		return nil, err
	}
	out, err := signDSSE(ctx, payload, kp, sgsign.BundleOptions{})
	if err != nil {
		return nil, err
	}
	// Never hand out a bundle that does not verify: this catches a broken
	// key or encoding here rather than at an auditor's desk years later.
	if _, err := Verify(ctx, out, Trust{Keys: []*PublicKey{s.key.Public()}}); err != nil {
		return nil, evidence.Errorf(evidence.KindInternal, "the bundle just signed does not verify: %w", err)
	}
	return out, nil
}

// signDSSE wraps payload in a DSSE envelope signed by kp and returns the
// Sigstore bundle as compact JSON. opts carries what a keyless signer adds
// (certificate provider, timestamp authorities, transparency logs).
func signDSSE(ctx context.Context, payload []byte, kp sgsign.Keypair, opts sgsign.BundleOptions) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := DecodeStatement(payload); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "refusing to sign: %w", err)
	}
	opts.Context = ctx
	pb, err := sgsign.Bundle(&sgsign.DSSEData{Data: payload, PayloadType: PayloadType}, kp, opts)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	raw, err := protojson.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	// protojson varies its white space from build to build on purpose;
	// compact it so that the same bundle is always the same bytes.
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	return b.Bytes(), nil
}

// keypair adapts a PrivateKey to sigstore-go's sign.Keypair.
type keypair struct {
	key *PrivateKey
	alg signature.AlgorithmDetails
}

var _ sgsign.Keypair = (*keypair)(nil)

func newKeypair(k *PrivateKey) (*keypair, error) {
	details := protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
	if k.Algorithm() == AlgEd25519 {
		details = protocommon.PublicKeyDetails_PKIX_ED25519
	}
	alg, err := signature.GetAlgorithmDetails(details)
	if err != nil {
		return nil, fmt.Errorf("signing algorithm: %w", err)
	}
	return &keypair{key: k, alg: alg}, nil
}

func (p *keypair) GetHashAlgorithm() protocommon.HashAlgorithm { return p.alg.GetProtoHashType() }

func (p *keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return p.alg.GetSignatureAlgorithm()
}

func (p *keypair) GetHint() []byte { return []byte(p.key.Public().ID()) }

func (p *keypair) GetKeyAlgorithm() string {
	if p.key.Algorithm() == AlgEd25519 {
		return "ED25519"
	}
	return "ECDSA"
}

func (p *keypair) GetPublicKey() crypto.PublicKey { return p.key.signer.Public() }

func (p *keypair) GetPublicKeyPem() (string, error) {
	b, err := p.key.Public().MarshalPEM()
	return string(b), err
}

// SignData signs data and returns the signature and what was signed: the
// SHA-256 digest for ECDSA (ASN.1 DER signature), the data itself for
// Ed25519 (pure Ed25519, as DSSE verifiers expect).
func (p *keypair) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	hf := p.alg.GetHashType()
	msg := data
	if _, ok := p.key.signer.(ed25519.PrivateKey); !ok {
		h := hf.New()
		h.Write(data)
		msg = h.Sum(nil)
	} else {
		hf = crypto.Hash(0)
	}
	sig, err := p.key.signer.Sign(rand.Reader, msg, hf)
	if err != nil {
		return nil, nil, fmt.Errorf("sign with %s key: %w", p.key.Algorithm(), err)
	}
	return sig, msg, nil
}
