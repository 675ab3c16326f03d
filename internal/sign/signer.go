package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
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

// KeySignerOptions adds trusted time to key signatures.
type KeySignerOptions struct {
	// TSAURLs are RFC 3161 timestamp authorities (full URL, with path:
	// https://tsa.example/api/v1/timestamp). Each one countersigns every
	// signature; a bundle then proves it existed at that time, which a
	// key alone cannot. When one cannot be reached, Sign fails and
	// returns no bundle.
	TSAURLs []string
	// HTTPClient is used for the timestamp authorities (its Transport and
	// Timeout); nil means http.DefaultTransport and a 30 s timeout.
	HTTPClient *http.Client
	// TrustedRoot, when it holds timestamp authorities (see
	// TrustedRootFromTSAChain), is used to verify the timestamps of every
	// bundle before Sign returns it. Without it only the signature is
	// checked.
	TrustedRoot root.TrustedMaterial
}

// NewKeySignerWithOptions returns a Signer that signs with k like
// NewKeySigner and adds what opts asks for. Bad options (a URL that is not
// an absolute http(s) URL, the same authority twice) are
// evidence.KindInvalid. Timestamps do not change how the bundle verifies
// with a key: cosign --key --insecure-ignore-tlog still accepts it.
func NewKeySignerWithOptions(k *PrivateKey, opts KeySignerOptions) (Signer, error) {
	if k == nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "no signing key")
	}
	tsas, err := newTSAServices(opts.TSAURLs, opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	s := &keySigner{key: k, tsas: tsas}
	if !isNil(opts.TrustedRoot) {
		s.trustedRoot = opts.TrustedRoot
	}
	return s, nil
}

type keySigner struct {
	key         *PrivateKey
	tsas        []tsaService
	trustedRoot root.TrustedMaterial
}

func (s *keySigner) Sign(ctx context.Context, payload []byte) ([]byte, error) {
	if s.key == nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "no signing key")
	}
	kp, err := newKeypair(s.key)
	if err != nil {
		return nil, err
	}
	out, err := signDSSE(ctx, payload, kp, sgsign.BundleOptions{}, s.tsas, nil)
	if err != nil {
		return nil, err
	}
	// Never hand out a bundle that does not verify: this catches a broken
	// key or encoding here rather than at an auditor's desk years later.
	trust := Trust{Keys: []*PublicKey{s.key.Public()}}
	if s.trustedRoot != nil && len(s.trustedRoot.TimestampingAuthorities()) > 0 {
		trust.TrustedRoot = s.trustedRoot
		trust.RequireTimestamp = len(s.tsas) > 0
	}
	if _, err := Verify(ctx, out, trust); err != nil {
		return nil, evidence.Errorf(evidence.KindInternal, "the bundle just signed does not verify: %w", err)
	}
	return out, nil
}

// signDSSE wraps payload in a DSSE envelope signed by kp and returns the
// Sigstore bundle as compact JSON. opts carries a keyless signer's
// certificate provider; then every timestamp authority countersigns the
// signature, and every transparency log records it, in that order, so that
// a timestamp authority that is down leaves no log entry behind.
func signDSSE(ctx context.Context, payload []byte, kp sgsign.Keypair, opts sgsign.BundleOptions, tsas []tsaService, tlogs []tlogService) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := DecodeStatement(payload); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "refusing to sign: %w", err)
	}
	opts.Context = ctx
	pb, err := sgsign.Bundle(&sgsign.DSSEData{Data: payload, PayloadType: PayloadType}, kp, opts)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		if _, ok := errors.AsType[*evidence.Error](err); ok {
			return nil, err // from the certificate provider: already says where
		}
		return nil, fmt.Errorf("sign: %w", err)
	}
	if err := addTimestamps(ctx, pb, tsas); err != nil {
		return nil, err
	}
	if len(tlogs) > 0 {
		vpem, err := verifierPEM(kp, pb.GetVerificationMaterial().GetCertificate().GetRawBytes())
		if err != nil {
			return nil, fmt.Errorf("encode the verification material: %w", err)
		}
		if err := addTlogEntries(ctx, pb, vpem, tlogs); err != nil {
			return nil, err
		}
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
