package sign

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/oidc"
)

// KeylessOptions configures a keyless signer: which Sigstore instance to
// use and where the identity token comes from.
//
// The instance's services are, for each kind, the explicit URLs when
// given, else those the SigningConfig selects (valid now, of an API
// version sigstore-go speaks). When none of FulcioURL, SigningConfig,
// TSAURLs and RekorURLs is set, the instance is public-good Sigstore
// (PublicGoodFulcioURL, PublicGoodTSAURL, PublicGoodRekorURL). Otherwise
// nothing public is added: a private or air-gapped instance uses exactly
// what it names, and one without Rekor must name a timestamp authority.
type KeylessOptions struct {
	// Token returns a fresh OIDC identity token (an oidc.Source's Token).
	// It is called once per signature. Required.
	Token func(ctx context.Context) (string, error)
	// Audience is the audience the token must carry;
	// oidc.DefaultAudience ("sigstore") when empty.
	Audience string

	FulcioURL     string
	SigningConfig *root.SigningConfig
	// TSAURLs are RFC 3161 timestamp authorities (full URL, with path:
	// https://tsa.example/api/v1/timestamp). Each one countersigns every
	// signature.
	TSAURLs []string
	// RekorURLs are Rekor v1 transparency logs every signature is recorded
	// in. (Rekor v2 logs come from a SigningConfig.)
	RekorURLs []string

	// TrustedRoot is the instance's trusted root. When set, every bundle
	// is verified against it (certificate chain, timestamps, log entries)
	// before Sign returns it. Without it the bundle is returned as the
	// services made it. Recommended.
	TrustedRoot root.TrustedMaterial

	// HTTPClient is used for Fulcio and the timestamp authorities (its
	// Transport and Timeout); nil means http.DefaultTransport and a 30 s
	// timeout. sigstore-go's Rekor client makes its own connections.
	HTTPClient *http.Client

	// Now is the clock used to check the token and select services;
	// time.Now when nil.
	Now func() time.Time
}

// instance is the set of services a keyless signature uses.
type instance struct {
	fulcioURL string
	tsaURLs   []string
	rekor     []rekorURL
}

type rekorURL struct {
	url     string
	version uint32
}

// resolveInstance applies KeylessOptions' rules for choosing services.
func (o *KeylessOptions) resolveInstance(now time.Time) (instance, error) {
	var in instance
	if o.FulcioURL == "" && o.SigningConfig == nil && len(o.TSAURLs) == 0 && len(o.RekorURLs) == 0 {
		return instance{
			fulcioURL: PublicGoodFulcioURL,
			tsaURLs:   []string{PublicGoodTSAURL},
			rekor:     []rekorURL{{PublicGoodRekorURL, 1}},
		}, nil
	}
	sc := o.SigningConfig

	in.fulcioURL = o.FulcioURL
	if in.fulcioURL == "" {
		if sc == nil || len(sc.FulcioCertificateAuthorityURLs()) == 0 {
			return instance{}, evidence.Errorf(evidence.KindInvalid, "keyless signing needs a Fulcio URL: give one, or a signing config that lists one")
		}
		s, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sgsign.FulcioAPIVersions, now)
		if err != nil {
			return instance{}, evidence.Errorf(evidence.KindInvalid, "signing config: no usable Fulcio: %v", err)
		}
		in.fulcioURL = s.URL
	}

	in.tsaURLs = o.TSAURLs
	if len(in.tsaURLs) == 0 && sc != nil && len(sc.TimestampAuthorityURLs()) > 0 {
		ss, err := root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), sgsign.TimestampAuthorityAPIVersions, now)
		if err != nil {
			return instance{}, evidence.Errorf(evidence.KindInvalid, "signing config: no usable timestamp authority: %v", err)
		}
		for _, s := range ss {
			in.tsaURLs = append(in.tsaURLs, s.URL)
		}
	}

	for _, u := range o.RekorURLs {
		in.rekor = append(in.rekor, rekorURL{u, 1})
	}
	if len(o.RekorURLs) == 0 && sc != nil && len(sc.RekorLogURLs()) > 0 {
		ss, err := root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), sgsign.RekorAPIVersions, now)
		if err != nil {
			return instance{}, evidence.Errorf(evidence.KindInvalid, "signing config: no usable Rekor log: %v", err)
		}
		for _, s := range ss {
			in.rekor = append(in.rekor, rekorURL{s.URL, s.MajorAPIVersion})
		}
	}

	if len(in.tsaURLs) == 0 {
		v1 := false
		for _, r := range in.rekor {
			v1 = v1 || r.version == 1
		}
		switch {
		case len(in.rekor) == 0:
			return instance{}, evidence.Errorf(evidence.KindInvalid,
				"keyless signing needs a trusted time: configure a timestamp authority (or a Rekor log); a short-lived Fulcio certificate can only be verified at the time it was used")
		case !v1:
			return instance{}, evidence.Errorf(evidence.KindInvalid,
				"keyless signing needs a trusted time: Rekor v2 logs do not sign the time of an entry, so configure a timestamp authority")
		}
	}
	return in, nil
}

// NewKeylessSigner returns a Signer that signs keyless: for every
// signature it makes an ephemeral ECDSA P-256 key, gets the identity token
// from opts.Token and checks its claims (expired, wrong audience: an
// evidence.KindUnauthorized error before Fulcio is contacted), gets a
// short-lived certificate for the key from Fulcio, has the signature
// countersigned by every timestamp authority and recorded in every Rekor
// log, and, when opts.TrustedRoot is set, verifies the result. Any failure
// returns no bundle.
//
// The bundle's verification material is the certificate (no chain); the
// trusted root supplies the rest. Configuration errors (no token source,
// bad URLs, no timestamp authority and no Rekor) are evidence.KindInvalid
// here, before anything is signed.
func NewKeylessSigner(opts KeylessOptions) (Signer, error) {
	if opts.Token == nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "keyless signing needs an OIDC identity token source")
	}
	if !isNil(opts.TrustedRoot) && len(opts.TrustedRoot.FulcioCertificateAuthorities()) == 0 {
		return nil, evidence.Errorf(evidence.KindInvalid, "the trusted root has no Fulcio certificate authority: it cannot verify keyless signatures")
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	in, err := opts.resolveInstance(now())
	if err != nil {
		return nil, err
	}
	if tr := opts.TrustedRoot; !isNil(tr) {
		if len(in.tsaURLs) > 0 && len(tr.TimestampingAuthorities()) == 0 {
			return nil, evidence.Errorf(evidence.KindInvalid, "timestamps are requested from %s, but the trusted root has no timestamp authority to verify them", strings.Join(in.tsaURLs, ", "))
		}
		if len(in.rekor) > 0 && len(tr.RekorLogs()) == 0 {
			return nil, evidence.Errorf(evidence.KindInvalid, "signatures are to be recorded in Rekor, but the trusted root has no Rekor log to verify the entries")
		}
	}
	f, err := newFulcio(in.fulcioURL, opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	tsas, err := newTSAServices(in.tsaURLs, opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	var tlogs []tlogService
	for _, r := range in.rekor {
		if err := checkServiceURL("Rekor", r.url); err != nil {
			return nil, err
		}
		tlogs = append(tlogs, tlogService{url: r.url, t: sgsign.NewRekor(&sgsign.RekorOptions{
			BaseURL: r.url, Retries: serviceRetries, Version: r.version,
		})})
	}
	s := &keylessSigner{
		token:    opts.Token,
		audience: opts.Audience,
		fulcio:   f,
		tsas:     tsas,
		tlogs:    tlogs,
		now:      now,
	}
	if !isNil(opts.TrustedRoot) {
		s.trustedRoot = opts.TrustedRoot
	}
	return s, nil
}

type keylessSigner struct {
	token       func(context.Context) (string, error)
	audience    string
	fulcio      *fulcio
	tsas        []tsaService
	tlogs       []tlogService
	trustedRoot root.TrustedMaterial
	now         func() time.Time
}

func (s *keylessSigner) Sign(ctx context.Context, payload []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := DecodeStatement(payload); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "refusing to sign: %w", err)
	}
	tok, err := s.token(ctx)
	if err != nil {
		return nil, fmt.Errorf("get an OIDC identity token: %w", err)
	}
	claims, err := oidc.ParseUnverified(tok)
	if err != nil {
		return nil, err
	}
	if err := claims.Check(s.now(), s.audience); err != nil {
		return nil, err
	}
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, fmt.Errorf("make an ephemeral key: %w", err)
	}
	out, err := signDSSE(ctx, payload, kp, sgsign.BundleOptions{
		CertificateProvider:        s.fulcio,
		CertificateProviderOptions: &sgsign.CertificateProviderOptions{IDToken: tok},
	}, s.tsas, s.tlogs)
	if err != nil {
		return nil, err
	}
	if s.trustedRoot == nil {
		return out, nil
	}
	id, err := bundleIdentity(out)
	if err != nil {
		return nil, err
	}
	trust := Trust{Identities: []Identity{id}, TrustedRoot: s.trustedRoot, RequireTimestamp: len(s.tsas) > 0}
	if _, err := Verify(ctx, out, trust); err != nil {
		return nil, evidence.Errorf(evidence.KindVerification, "the bundle just signed does not verify against the trusted root: %w", err)
	}
	return out, nil
}

// bundleIdentity reads the exact identity of a bundle's certificate, for
// the signer's own check. The certificate is the one Fulcio just issued.
func bundleIdentity(bundleJSON []byte) (Identity, error) {
	b, err := parseBundle(bundleJSON)
	if err != nil {
		return Identity{}, err
	}
	raw := b.GetVerificationMaterial().GetCertificate().GetRawBytes()
	cert, err := x509.ParseCertificate(raw)
	if err != nil {
		return Identity{}, fmt.Errorf("Fulcio's certificate: %w", err)
	}
	sum, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return Identity{}, fmt.Errorf("Fulcio's certificate: %w", err)
	}
	return Identity{Issuer: sum.Extensions.Issuer, Subject: sum.SubjectAlternativeName}, nil
}

// verifierPEM returns the bundle's signing certificate or, without one,
// the public key, in PEM, for a transparency log entry.
func verifierPEM(kp sgsign.Keypair, certDER []byte) ([]byte, error) {
	if len(certDER) > 0 {
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}), nil
	}
	s, err := kp.GetPublicKeyPem()
	return []byte(s), err
}
