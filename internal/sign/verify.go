package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/evident-dev/evident/internal/evidence"
)

// Bundle media types. Both spellings of v0.3 exist in the wild (cosign
// writes the older one); evident writes the first.
const (
	BundleMediaType       = "application/vnd.dev.sigstore.bundle.v0.3+json"
	bundleMediaTypeLegacy = "application/vnd.dev.sigstore.bundle+json;version=0.3"
)

// MaxBundleSize bounds a bundle read from anywhere: a manifest at
// evidence.MaxManifestSize, base64-encoded, plus room for verification
// material. Callers reading a bundle from a file or request should stop
// there; Verify rejects anything larger.
const MaxBundleSize = evidence.MaxManifestSize/3*4 + 1<<20

// Trust is what Verify accepts as a signer. The zero value trusts nothing,
// and Verify refuses to run with it.
type Trust struct {
	// Keys are trusted public keys; a bundle signed by any of them
	// verifies.
	Keys []*PublicKey
}

// Verified is the result of a successful Verify.
type Verified struct {
	Statement *Statement
	// Payload is the signed DSSE payload, byte for byte: the exact
	// predicate bytes are in here.
	Payload []byte
	// SignerKeyID is the ID of the trusted key the signature verified with.
	SignerKeyID string
}

// Verify checks bundleJSON, a Sigstore bundle v0.3 holding a DSSE-signed
// in-toto statement, against trust and returns the statement. It fails
// closed: it returns a statement only when the signature verifies with a
// key in trust. Malformed input (not a bundle, an unknown bundle version, a
// message signature instead of a DSSE envelope, a payload type other than
// in-toto, more or fewer than one signature, a statement DecodeStatement
// rejects) is evidence.KindInvalid; a trust or signature failure (empty
// trust, an unknown key, a bad signature, a certificate where a key is
// expected) is evidence.KindVerification.
//
// Verify checks the signature, not what was signed for: the caller decides
// whether the predicate type and the subjects are what it expected
// (Statement.PredicateType, Statement.Covers). Transparency log entries and
// timestamps in the bundle are not consulted; a key needs neither.
func Verify(ctx context.Context, bundleJSON []byte, trust Trust) (*Verified, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(trust.Keys) == 0 {
		return nil, evidence.Errorf(evidence.KindVerification, "no trusted keys: refusing to verify without a trust policy")
	}
	for i, k := range trust.Keys {
		if k == nil {
			return nil, evidence.Errorf(evidence.KindInvalid, "trusted key %d is nil", i)
		}
	}
	b, err := parseBundle(bundleJSON)
	if err != nil {
		return nil, err
	}
	env := b.GetDsseEnvelope()
	pk := b.GetVerificationMaterial().GetPublicKey()
	if pk == nil {
		// sigstore-go has ruled out everything but a certificate.
		return nil, evidence.Errorf(evidence.KindVerification, "bundle is signed with a certificate (keyless signing), but only keys are trusted")
	}

	var (
		hint    = pk.GetHint()
		named   *PublicKey
		ordered = make([]*PublicKey, 0, len(trust.Keys))
	)
	// The hint is unsigned, so it only decides which key is tried first:
	// bundles from other tools (cosign) carry other hint formats or none.
	for _, k := range trust.Keys {
		if named == nil && k.matchesHint(hint) {
			named = k
			ordered = append([]*PublicKey{k}, ordered...)
		} else {
			ordered = append(ordered, k)
		}
	}
	var firstErr error
	for _, k := range ordered {
		if err := verifyWithKey(b, k); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		payload := env.GetPayload()
		st, err := DecodeStatement(payload)
		if err != nil {
			return nil, evidence.Errorf(evidence.KindInvalid, "signed payload: %w", err)
		}
		return &Verified{Statement: st, Payload: payload, SignerKeyID: k.ID()}, nil
	}
	if named != nil {
		return nil, evidence.Errorf(evidence.KindVerification, "signature does not verify with trusted key %s named by the bundle: %v", named.ID(), firstErr)
	}
	return nil, evidence.Errorf(evidence.KindVerification, "signed by an unknown key %s: the signature verifies with none of the %d trusted keys", quoteHint(hint), len(trust.Keys))
}

// parseBundle decodes and checks the bundle's structure: a known v0.3
// bundle, valid by sigstore-go's rules, carrying a DSSE envelope with an
// in-toto payload and exactly one signature.
func parseBundle(data []byte) (*sgbundle.Bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, evidence.Errorf(evidence.KindInvalid, "bundle is %d bytes, more than the %d-byte limit", len(data), MaxBundleSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, evidence.Errorf(evidence.KindInvalid, "bundle is empty")
	}
	// The media type first, with a lenient decoder: a trusted root or a
	// signing config handed over by mistake is named as what it is
	// rather than as an unknown protobuf field.
	var head struct {
		MediaType *string `json:"mediaType"`
	}
	if json.Unmarshal(data, &head) == nil && head.MediaType != nil {
		if err := checkMediaType(*head.MediaType); err != nil {
			return nil, err
		}
	}
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(data, &pb); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "malformed Sigstore bundle: %s", protoErr(err))
	}
	if err := checkMediaType(pb.GetMediaType()); err != nil {
		return nil, err
	}
	b, err := sgbundle.NewBundle(&pb)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "invalid Sigstore bundle: %v", err)
	}
	if _, err := b.VerificationContent(); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "invalid Sigstore bundle: verification material: %v", err)
	}
	env := pb.GetDsseEnvelope()
	if env == nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "bundle holds a message signature, not a DSSE envelope: it signs a file, not an attestation")
	}
	if env.GetPayloadType() != PayloadType {
		return nil, evidence.Errorf(evidence.KindInvalid, "DSSE payloadType is %q; want %q (an in-toto statement)", truncate(env.GetPayloadType(), 100), PayloadType)
	}
	if len(env.GetPayload()) == 0 {
		return nil, evidence.Errorf(evidence.KindInvalid, "DSSE payload is empty")
	}
	if n := len(env.GetSignatures()); n != 1 {
		return nil, evidence.Errorf(evidence.KindInvalid, "DSSE envelope has %d signatures; a Sigstore bundle must have exactly one", n)
	}
	if len(env.GetSignatures()[0].GetSig()) == 0 {
		return nil, evidence.Errorf(evidence.KindInvalid, "DSSE signature is empty")
	}
	return b, nil
}

func checkMediaType(mt string) error {
	switch mt {
	case BundleMediaType, bundleMediaTypeLegacy:
		return nil
	case "application/vnd.dev.sigstore.bundle+json;version=0.1", "application/vnd.dev.sigstore.bundle+json;version=0.2":
		return evidence.Errorf(evidence.KindInvalid, "Sigstore bundle version %s is not supported; want v0.3 (%s)", strings.TrimPrefix(mt, "application/vnd.dev.sigstore.bundle+json;version="), BundleMediaType)
	case "":
		return evidence.Errorf(evidence.KindInvalid, "not a Sigstore bundle: mediaType is missing")
	default:
		return evidence.Errorf(evidence.KindInvalid, "not a supported Sigstore bundle: mediaType %q; want %q", truncate(mt, 100), BundleMediaType)
	}
}

// verifyWithKey checks the bundle's DSSE signature with k through
// sigstore-go, requiring a key (not a certificate) and no timestamps.
func verifyWithKey(b *sgbundle.Bundle, k *PublicKey) error {
	sv, err := signatureVerifier(k)
	if err != nil {
		return err
	}
	key := root.NewExpiringKey(sv, time.Time{}, time.Time{})
	tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
	v, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps(), verify.WithoutStatementPredicate())
	if err != nil {
		return err
	}
	_, err = v.Verify(b, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithKey()))
	return err
}

func signatureVerifier(k *PublicKey) (signature.Verifier, error) {
	switch pub := k.key.(type) {
	case *ecdsa.PublicKey:
		return signature.LoadECDSAVerifier(pub, crypto.SHA256)
	case ed25519.PublicKey:
		return signature.LoadED25519Verifier(pub)
	default:
		return nil, fmt.Errorf("key type %T is not supported", pub)
	}
}

// protoErr strips protobuf's "proto:" prefix, whose space the library
// randomises (sometimes U+00A0) to keep callers from matching on it.
func protoErr(err error) string {
	s := strings.ReplaceAll(err.Error(), "\u00a0", " ")
	return strings.TrimPrefix(s, "proto: ")
}

// matchesHint reports whether a bundle's key hint names p: evident's ID, or
// the base64 SHA-256 of the PKIX key that cosign and sigstore-go write.
func (p *PublicKey) matchesHint(h string) bool {
	if h == "" {
		return false
	}
	if h == p.id {
		return true
	}
	sum := sha256.Sum256(p.der)
	return h == base64.StdEncoding.EncodeToString(sum[:])
}

func quoteHint(h string) string {
	if h == "" {
		return "(the bundle has no key hint)"
	}
	return fmt.Sprintf("%q", truncate(h, 100))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
