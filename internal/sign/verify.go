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
	"errors"
	"fmt"
	"regexp"
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
	// Identities are trusted keyless signers. A bundle signed with a
	// Fulcio certificate verifies when the certificate chains to a
	// certificate authority of TrustedRoot at a trusted time and its
	// identity matches one of these. Without identities, certificate
	// bundles are refused: a certificate proves who signed, and only
	// this list says who may.
	Identities []Identity
	// TrustedRoot is the trusted material of a Sigstore instance (Fulcio
	// CAs, timestamp authorities, Rekor and CT logs: ParseTrustedRoot),
	// or only timestamp authorities (TrustedRootFromTSAChain). It is
	// required with Identities. With Keys it is optional: when it holds
	// timestamp authorities, the RFC 3161 timestamps of key-signed
	// bundles are verified against them.
	TrustedRoot root.TrustedMaterial
	// RequireTimestamp requires at least one RFC 3161 timestamp that
	// verifies against TrustedRoot's timestamp authorities, for key and
	// certificate bundles alike. TrustedRoot must then have one.
	RequireTimestamp bool
}

// Identity is a trusted keyless signer: the OIDC issuer that vouched for
// it and the subject Fulcio wrote into its certificate (the subject
// alternative name: a URI such as a GitHub workflow
// "https://github.com/acme/monitor/.github/workflows/release.yml@refs/tags/v1.2.0",
// or an e-mail address). Exactly one of Subject and SubjectRegexp is set.
type Identity struct {
	// Issuer is the exact OIDC issuer URL, e.g.
	// "https://token.actions.githubusercontent.com" or
	// "https://gitlab.com".
	Issuer string
	// Subject is the exact certificate subject.
	Subject string
	// SubjectRegexp is an RE2 regular expression the whole subject must
	// match: it is anchored at both ends, so
	// `https://github\.com/acme/monitor/\.github/workflows/release\.yml@refs/tags/v.*`
	// does not match a subject that merely contains it.
	SubjectRegexp string
}

// String returns "issuer|subject", or "issuer|~regexp" for a pattern.
func (id Identity) String() string {
	if id.SubjectRegexp != "" {
		return id.Issuer + "|~" + id.SubjectRegexp
	}
	return id.Issuer + "|" + id.Subject
}

// Validate checks the identity as a trust policy entry: an issuer, and
// exactly one of a subject and a pattern that compiles. Errors are
// evidence.KindInvalid.
func (id Identity) Validate() error {
	if _, err := id.matcher(); err != nil {
		return evidence.Errorf(evidence.KindInvalid, "identity %s: %v", id, err)
	}
	return nil
}

func (id Identity) matcher() (verify.CertificateIdentity, error) {
	switch {
	case id.Issuer == "":
		return verify.CertificateIdentity{}, errors.New("the OIDC issuer is empty")
	case id.Subject == "" && id.SubjectRegexp == "":
		return verify.CertificateIdentity{}, errors.New("neither a subject nor a subject pattern")
	case id.Subject != "" && id.SubjectRegexp != "":
		return verify.CertificateIdentity{}, errors.New("both a subject and a subject pattern; give one")
	}
	re := ""
	if id.SubjectRegexp != "" {
		if _, err := regexp.Compile(id.SubjectRegexp); err != nil {
			return verify.CertificateIdentity{}, fmt.Errorf("subject pattern: %v", err)
		}
		re = `^(?:` + id.SubjectRegexp + `)$`
	}
	return verify.NewShortCertificateIdentity(id.Issuer, "", id.Subject, re)
}

// Verified is the result of a successful Verify.
type Verified struct {
	Statement *Statement
	// Payload is the signed DSSE payload, byte for byte: the exact
	// predicate bytes are in here.
	Payload []byte
	// SignerKeyID is the ID of the trusted key the signature verified
	// with; empty for a keyless signature.
	SignerKeyID string
	// Certificate is the keyless signer; nil for a key signature.
	Certificate *CertificateSigner
	// SignerIdentity names the signer in one string, for records and for
	// comparing two signers: SignerKeyID for a key, "issuer|subject" for
	// a certificate (the issuer is a URL, which holds no "|").
	SignerIdentity string
	// Timestamps are the verified times at which the signature existed:
	// RFC 3161 timestamps checked against TrustedRoot's authorities, and
	// for a certificate bundle the integrated times of its Rekor entries.
	Timestamps []TrustedTime
	// UncheckedTimestamps counts RFC 3161 timestamps in the bundle that
	// were not checked, because Trust has no timestamp authority. They
	// prove nothing and are not in Timestamps.
	UncheckedTimestamps int
}

// CertificateSigner is who signed a keyless bundle, as the verified
// certificate says.
type CertificateSigner struct {
	Issuer  string // OIDC issuer
	Subject string // subject alternative name
	// Matched is the trusted identity it matched.
	Matched Identity
}

// Time sources of a TrustedTime.
const (
	TimeSourceTSA   = "rfc3161" // an RFC 3161 timestamp authority
	TimeSourceRekor = "rekor"   // a Rekor log entry's integrated time
)

// TrustedTime is a verified point in time at which a signature existed.
type TrustedTime struct {
	Time   time.Time
	Source string // TimeSourceTSA or TimeSourceRekor
	// URI names the authority or log as the trusted root does; it may be
	// empty.
	URI string
}

// SigningTime returns the trusted time of the signature: the earliest
// RFC 3161 timestamp, else the earliest Rekor integrated time; ok is false
// when there is neither.
func (v *Verified) SigningTime() (t time.Time, ok bool) {
	for _, src := range []string{TimeSourceTSA, TimeSourceRekor} {
		for _, ts := range v.Timestamps {
			if ts.Source == src && (!ok || ts.Time.Before(t)) {
				t, ok = ts.Time, true
			}
		}
		if ok {
			return t, true
		}
	}
	return time.Time{}, false
}

// Verify checks bundleJSON, a Sigstore bundle v0.3 holding a DSSE-signed
// in-toto statement, against trust and returns the statement. It fails
// closed: it returns a statement only when the signature verifies with a
// key in trust, or with a certificate that chains to trust's trusted root
// at a verified time and names one of trust's identities.
//
// Malformed input (not a bundle, an unknown bundle version, a message
// signature instead of a DSSE envelope, a payload type other than in-toto,
// more or fewer than one signature, a statement DecodeStatement rejects)
// and a malformed Trust (a nil key, an identity without issuer, a bad
// pattern, identities without a trusted root) are evidence.KindInvalid. A
// trust or signature failure (empty trust, an unknown key, a bad
// signature, a certificate where only keys are trusted or the other way
// round, an identity that is not trusted, a certificate without a trusted
// time, a timestamp that does not verify, a missing required timestamp) is
// evidence.KindVerification.
//
// Time: a certificate is short-lived, so a certificate bundle must carry
// a trusted time, an RFC 3161 timestamp or a Rekor entry, and every one it
// carries must verify (timestamps against TrustedRoot's authorities when
// it has any); the certificate must have been valid then, however long
// ago that was. A key needs no time: the timestamps of a key bundle are
// verified, all of them, when TrustedRoot has timestamp authorities, and
// otherwise only counted in UncheckedTimestamps; its Rekor entries are
// not consulted. When TrustedRoot has CT logs, a certificate must carry a
// signed certificate timestamp from one.
//
// Verify checks the signature, not what was signed for: the caller decides
// whether the predicate type and the subjects are what it expected
// (Statement.PredicateType, Statement.Covers).
func Verify(ctx context.Context, bundleJSON []byte, trust Trust) (*Verified, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ids, err := trust.check()
	if err != nil {
		return nil, err
	}
	b, err := parseBundle(bundleJSON)
	if err != nil {
		return nil, err
	}
	var v *Verified
	if pk := b.GetVerificationMaterial().GetPublicKey(); pk != nil {
		v, err = verifyKeyBundle(b, pk.GetHint(), trust)
	} else {
		// sigstore-go has ruled out everything but a certificate.
		v, err = verifyCertificateBundle(b, trust, ids)
	}
	if err != nil {
		return nil, err
	}
	if trust.RequireTimestamp && !v.hasTSATime() {
		return nil, evidence.Errorf(evidence.KindVerification, "the bundle carries no RFC 3161 timestamp from a trusted timestamp authority, and the trust policy requires one")
	}
	v.Payload = b.GetDsseEnvelope().GetPayload()
	if v.Statement, err = DecodeStatement(v.Payload); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "signed payload: %w", err)
	}
	return v, nil
}

func (v *Verified) hasTSATime() bool {
	for _, t := range v.Timestamps {
		if t.Source == TimeSourceTSA {
			return true
		}
	}
	return false
}

// check validates trust and returns its identities as sigstore-go
// matchers.
func (t Trust) check() (verify.CertificateIdentities, error) {
	if len(t.Keys) == 0 && len(t.Identities) == 0 {
		return nil, evidence.Errorf(evidence.KindVerification, "no trusted keys or keyless identities: refusing to verify without a trust policy")
	}
	for i, k := range t.Keys {
		if k == nil {
			return nil, evidence.Errorf(evidence.KindInvalid, "trusted key %d is nil", i)
		}
	}
	ids := make(verify.CertificateIdentities, 0, len(t.Identities))
	for i, id := range t.Identities {
		ci, err := id.matcher()
		if err != nil {
			return nil, evidence.Errorf(evidence.KindInvalid, "trusted identity %d (%s): %v", i, id, err)
		}
		ids = append(ids, ci)
	}
	noRoot := isNil(t.TrustedRoot)
	if len(ids) > 0 && (noRoot || len(t.TrustedRoot.FulcioCertificateAuthorities()) == 0) {
		return nil, evidence.Errorf(evidence.KindInvalid, "keyless identities are trusted, but the trusted root has no Fulcio certificate authority to check their certificates against")
	}
	if t.RequireTimestamp && (noRoot || len(t.TrustedRoot.TimestampingAuthorities()) == 0) {
		return nil, evidence.Errorf(evidence.KindInvalid, "a timestamp is required, but the trusted root has no timestamp authority to check one against")
	}
	return ids, nil
}

func (t Trust) timestampAuthorities() int {
	if isNil(t.TrustedRoot) {
		return 0
	}
	return len(t.TrustedRoot.TimestampingAuthorities())
}

// verifyKeyBundle finds the trusted key the bundle's signature verifies
// with, then checks its timestamps when trust can.
func verifyKeyBundle(b *sgbundle.Bundle, hint string, trust Trust) (*Verified, error) {
	if len(trust.Keys) == 0 {
		return nil, evidence.Errorf(evidence.KindVerification, "bundle is signed with a key, but only keyless identities are trusted")
	}
	var (
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
	var (
		firstErr error
		signer   *PublicKey
	)
	for _, k := range ordered {
		if err := verifyWithKey(b, k, nil, 0); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		signer = k
		break
	}
	if signer == nil {
		if named != nil {
			return nil, evidence.Errorf(evidence.KindVerification, "signature does not verify with trusted key %s named by the bundle: %v", named.ID(), firstErr)
		}
		return nil, evidence.Errorf(evidence.KindVerification, "signed by an unknown key %s: the signature verifies with none of the %d trusted keys", quoteHint(hint), len(trust.Keys))
	}
	v := &Verified{SignerKeyID: signer.ID(), SignerIdentity: signer.ID()}
	n := timestampCount(b)
	switch {
	case n == 0:
	case trust.timestampAuthorities() == 0:
		v.UncheckedTimestamps = n
	default:
		res, err := verifyWithKeyResult(b, signer, trust.TrustedRoot, n)
		if err != nil {
			return nil, evidence.Errorf(evidence.KindVerification, "RFC 3161 timestamp does not verify against the trusted timestamp authorities: %v", err)
		}
		v.Timestamps = trustedTimes(res)
	}
	return v, nil
}

// verifyCertificateBundle checks a keyless bundle: the certificate chain
// at every trusted time the bundle carries, its log entries and
// timestamps, the signature, and then the identity.
func verifyCertificateBundle(b *sgbundle.Bundle, trust Trust, ids verify.CertificateIdentities) (*Verified, error) {
	if len(ids) == 0 {
		return nil, evidence.Errorf(evidence.KindVerification, "bundle is signed with a certificate (keyless signing), but only keys are trusted")
	}
	nTS, nTL := timestampCount(b), len(b.GetVerificationMaterial().GetTlogEntries())
	v := &Verified{}
	opts := []verify.VerifierOption{verify.WithoutStatementPredicate()}
	checkTS := nTS > 0 && trust.timestampAuthorities() > 0
	if checkTS {
		opts = append(opts, verify.WithSignedTimestamps(nTS))
	} else {
		v.UncheckedTimestamps = nTS
	}
	if nTL > 0 {
		opts = append(opts, verify.WithTransparencyLog(nTL))
	}
	// A Rekor v1 entry's integrated time is trusted through its signed
	// entry timestamp; the certificate must have been valid then too.
	// Rekor v2 entries have neither, and need a timestamp authority.
	if promised := inclusionPromises(b); promised > 0 {
		opts = append(opts, verify.WithIntegratedTimestamps(1))
	} else if !checkTS {
		var why string
		switch {
		case nTS > 0:
			why = "its RFC 3161 timestamps cannot be checked (the trusted root has no timestamp authority)"
		case nTL > 0:
			why = "no RFC 3161 timestamp, and its transparency log entries carry no signed integrated time"
		default:
			why = "no RFC 3161 timestamp and no transparency log entry"
		}
		return nil, evidence.Errorf(evidence.KindVerification,
			"bundle is signed with a short-lived certificate but has no trusted time: %s, so whether the certificate was valid when it signed cannot be checked", why)
	}
	if len(trust.TrustedRoot.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	ver, err := verify.NewVerifier(trust.TrustedRoot, opts...)
	if err != nil {
		return nil, fmt.Errorf("configure the verifier: %w", err)
	}
	res, err := ver.Verify(b, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithoutIdentitiesUnsafe()))
	if err != nil {
		return nil, evidence.Errorf(evidence.KindVerification, "keyless signature does not verify against the trusted root: %v", err)
	}
	cert := res.Signature.Certificate
	if cert == nil {
		return nil, evidence.Errorf(evidence.KindVerification, "keyless signature verified without a certificate summary")
	}
	matched := -1
	for i, ci := range ids {
		if ci.Verify(*cert) == nil {
			matched = i
			break
		}
	}
	if matched < 0 {
		return nil, evidence.Errorf(evidence.KindVerification, "signed by %q (OIDC issuer %q), which matches none of the %d trusted identities",
			truncate(cert.SubjectAlternativeName, 200), truncate(cert.Extensions.Issuer, 200), len(ids))
	}
	v.Certificate = &CertificateSigner{Issuer: cert.Extensions.Issuer, Subject: cert.SubjectAlternativeName, Matched: trust.Identities[matched]}
	v.SignerIdentity = v.Certificate.Issuer + "|" + v.Certificate.Subject
	v.Timestamps = trustedTimes(res)
	return v, nil
}

// inclusionPromises counts the transparency log entries that carry a
// signed entry timestamp.
func inclusionPromises(b *sgbundle.Bundle) int {
	n := 0
	for _, e := range b.GetVerificationMaterial().GetTlogEntries() {
		if len(e.GetInclusionPromise().GetSignedEntryTimestamp()) > 0 {
			n++
		}
	}
	return n
}

func timestampCount(b *sgbundle.Bundle) int {
	return len(b.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps())
}

func trustedTimes(res *verify.VerificationResult) []TrustedTime {
	var out []TrustedTime
	for _, ts := range res.VerifiedTimestamps {
		var src string
		switch ts.Type {
		case "TimestampAuthority":
			src = TimeSourceTSA
		case "Tlog":
			src = TimeSourceRekor
		default:
			continue
		}
		out = append(out, TrustedTime{Time: ts.Timestamp.UTC(), Source: src, URI: ts.URI})
	}
	return out
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
// sigstore-go, requiring a key (not a certificate). With nTS > 0 it also
// requires that many RFC 3161 timestamps to verify against tm; otherwise
// timestamps are not looked at.
func verifyWithKey(b *sgbundle.Bundle, k *PublicKey, tm root.TrustedMaterial, nTS int) error {
	_, err := verifyWithKeyResult(b, k, tm, nTS)
	return err
}

func verifyWithKeyResult(b *sgbundle.Bundle, k *PublicKey, tm root.TrustedMaterial, nTS int) (*verify.VerificationResult, error) {
	sv, err := signatureVerifier(k)
	if err != nil {
		return nil, err
	}
	key := root.NewExpiringKey(sv, time.Time{}, time.Time{})
	var material root.TrustedMaterial = root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
	timeOpt := verify.WithNoObserverTimestamps()
	if nTS > 0 {
		// The key comes first: a trusted root answers no key ID.
		material = root.TrustedMaterialCollection{material, tm}
		timeOpt = verify.WithSignedTimestamps(nTS)
	}
	v, err := verify.NewVerifier(material, timeOpt, verify.WithoutStatementPredicate())
	if err != nil {
		return nil, err
	}
	return v.Verify(b, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithKey()))
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
