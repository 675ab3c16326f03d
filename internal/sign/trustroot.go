package sign

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"reflect"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/evident-dev/evident/internal/evidence"
)

// Public-good Sigstore, the instance keyless signing uses when nothing else
// is configured. Written down here rather than fetched, so that nothing
// but an explicit keyless signature ever contacts them.
const (
	PublicGoodFulcioURL = "https://fulcio.sigstore.dev"
	PublicGoodRekorURL  = "https://rekor.sigstore.dev"
	PublicGoodTSAURL    = "https://timestamp.sigstore.dev/api/v1/timestamp"
)

// MaxTrustFileSize bounds a trusted root, signing config or certificate
// chain read from a file. The public-good trusted root is about 10 KiB.
const MaxTrustFileSize = 4 << 20

const (
	trustedRootMediaType   = root.TrustedRootMediaType01
	signingConfigMediaType = root.SigningConfigMediaType02
)

// ParseTrustedRoot reads a Sigstore trusted root (trusted_root.json, media
// type application/vnd.dev.sigstore.trustedroot+json;version=0.1): the
// Fulcio certificate authorities, timestamp authorities, Rekor and CT logs
// of a Sigstore instance, public-good or private. Errors are
// evidence.KindInvalid.
func ParseTrustedRoot(data []byte) (*root.TrustedRoot, error) {
	if err := checkTrustFile(data, "trusted root", trustedRootMediaType); err != nil {
		return nil, err
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "invalid trusted root: %s", protoErr(err))
	}
	return tr, nil
}

// ParseSigningConfig reads a Sigstore signing config (media type
// application/vnd.dev.sigstore.signingconfig.v0.2+json): the Fulcio,
// timestamp authority and Rekor URLs of an instance. Errors are
// evidence.KindInvalid.
func ParseSigningConfig(data []byte) (*root.SigningConfig, error) {
	if err := checkTrustFile(data, "signing config", signingConfigMediaType); err != nil {
		return nil, err
	}
	sc, err := root.NewSigningConfigFromJSON(data)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "invalid signing config: %s", protoErr(err))
	}
	return sc, nil
}

// checkTrustFile bounds the size and names a file of the wrong kind (a
// bundle, a signing config where a trusted root belongs) as what it is.
func checkTrustFile(data []byte, what, wantMediaType string) error {
	if len(data) > MaxTrustFileSize {
		return evidence.Errorf(evidence.KindInvalid, "%s is %d bytes, more than the %d-byte limit", what, len(data), MaxTrustFileSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return evidence.Errorf(evidence.KindInvalid, "%s is empty", what)
	}
	var head struct {
		MediaType *string `json:"mediaType"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return evidence.Errorf(evidence.KindInvalid, "%s is not JSON: %v", what, jsonErr(err))
	}
	switch {
	case head.MediaType == nil:
		return evidence.Errorf(evidence.KindInvalid, "not a Sigstore %s: mediaType is missing", what)
	case *head.MediaType != wantMediaType:
		return evidence.Errorf(evidence.KindInvalid, "not a Sigstore %s: mediaType %q; want %q", what, truncate(*head.MediaType, 100), wantMediaType)
	}
	return nil
}

// TrustedRootFromTSAChain returns a trusted root holding one timestamp
// authority and nothing else, built from the authority's certificate chain
// in PEM, leaf first and root last, as a timestamp authority serves it
// (GET /api/v1/timestamp/certchain on sigstore's timestamp-authority). It
// is what a key-based Trust needs to check the RFC 3161 timestamps of
// key-signed bundles; combine it with another trusted root through
// root.TrustedMaterialCollection. Its MarshalJSON writes it as a
// trusted_root.json that ParseTrustedRoot reads back.
//
// The chain must be in order: each certificate signed by the next, the
// last one self-signed. A leaf must not be a CA; a chain of CA
// certificates only (no leaf) is accepted, and then the timestamps must
// carry the leaf themselves. Errors are evidence.KindInvalid.
func TrustedRootFromTSAChain(chainPEM []byte) (*root.TrustedRoot, error) {
	if len(chainPEM) > MaxTrustFileSize {
		return nil, evidence.Errorf(evidence.KindInvalid, "certificate chain is %d bytes, more than the %d-byte limit", len(chainPEM), MaxTrustFileSize)
	}
	certs, err := parseCertChain(chainPEM)
	if err != nil {
		return nil, err
	}
	tsa := &root.SigstoreTimestampingAuthority{Root: certs[len(certs)-1]}
	rest := certs[:len(certs)-1]
	if len(rest) > 0 && !rest[0].IsCA {
		tsa.Leaf, rest = rest[0], rest[1:]
	}
	tsa.Intermediates = rest
	tr, err := root.NewTrustedRoot(trustedRootMediaType, nil, nil, []root.TimestampingAuthority{tsa}, nil)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "timestamp authority chain: %v", err)
	}
	return tr, nil
}

func parseCertChain(chainPEM []byte) ([]*x509.Certificate, error) {
	const maxCerts = 10
	var certs []*x509.Certificate
	rest := chainPEM
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, evidence.Errorf(evidence.KindInvalid, "certificate chain: PEM block %d is %q, want \"CERTIFICATE\"", len(certs)+1, blk.Type)
		}
		if len(certs) == maxCerts {
			return nil, evidence.Errorf(evidence.KindInvalid, "certificate chain has more than %d certificates", maxCerts)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, evidence.Errorf(evidence.KindInvalid, "certificate chain: certificate %d: %v", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, evidence.Errorf(evidence.KindInvalid, "certificate chain: unexpected data after PEM block %d", len(certs))
	}
	if len(certs) == 0 {
		return nil, evidence.Errorf(evidence.KindInvalid, "certificate chain: no PEM certificate found")
	}
	for i := 0; i+1 < len(certs); i++ {
		if err := certs[i].CheckSignatureFrom(certs[i+1]); err != nil {
			return nil, evidence.Errorf(evidence.KindInvalid, "certificate chain: certificate %d (%s) is not signed by certificate %d (%s); want the chain leaf first, root last", i+1, certName(certs[i]), i+2, certName(certs[i+1]))
		}
	}
	last := certs[len(certs)-1]
	if err := last.CheckSignatureFrom(last); err != nil || !last.IsCA {
		return nil, evidence.Errorf(evidence.KindInvalid, "certificate chain: the last certificate (%s) is not a self-signed root CA", certName(last))
	}
	return certs, nil
}

func certName(c *x509.Certificate) string {
	if s := c.Subject.String(); s != "" {
		return truncate(s, 100)
	}
	return "no subject"
}

// isNil reports whether tm is nil, including a typed nil pointer, whose
// methods would panic.
func isNil(tm root.TrustedMaterial) bool {
	if tm == nil {
		return true
	}
	v := reflect.ValueOf(tm)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
