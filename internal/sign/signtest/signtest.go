// Package signtest is an offline Sigstore instance for tests: a Fulcio-like
// certificate authority and its HTTP signingCert endpoint, an RFC 3161
// timestamp authority over HTTP, OIDC issuers with a GitHub Actions-style
// token endpoint, the trusted root that describes them, and a launcher for
// the real timestamp authority (sigstore's timestamp-server).
//
// It is imported by tests only (package sign's own, and the end-to-end
// tests of the commands). It does not import package sign, so that sign's
// in-package tests can use it.
//
// The CA and TSA root certificates come from sigstore-go's pkg/testing/ca.
// Its VirtualSigstore cannot back a Fulcio endpoint (its intermediate key is
// unexported, so it cannot certify a client's key), and its generators'
// validity windows (minutes) would not allow signing in the past, so the
// intermediates and leaves are made here, valid for hours.
package signtest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

// OIDC issuers of the CI systems.
const (
	GitHubIssuer = "https://token.actions.githubusercontent.com"
	GitLabIssuer = "https://gitlab.com"
)

// Object identifiers of the certificates made here.
var (
	// oidIssuerV2 is Fulcio's OIDC issuer extension.
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
	// oidExtKeyUsage is the extended key usage extension, written by hand
	// so that it can be critical, as RFC 3161 asks of a TSA's leaf.
	oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}
)

func mustECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustCert(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// CertPEM encodes certificates as concatenated PEM blocks, in order.
func CertPEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// CA is a Fulcio-like certificate authority: a root (sigstore-go's test
// root, valid ±5 h) and an intermediate valid as long, which issues the
// short-lived signing certificates.
type CA struct {
	Root, Intermediate *x509.Certificate
	key                *ecdsa.PrivateKey
}

// NewCA returns a new certificate authority.
func NewCA(t testing.TB) *CA {
	t.Helper()
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	k := mustECKey(t)
	inter := mustCert(t, &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: "evident-test-fulcio-intermediate", Organization: []string{"evident test"}},
		NotBefore:             time.Now().Add(-5 * time.Hour),
		NotAfter:              time.Now().Add(5 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, rootCert, k.Public(), rootKey)
	return &CA{Root: rootCert, Intermediate: inter, key: k}
}

// Issue certifies pub for subject (a URI or an e-mail address) as vouched
// for by the OIDC issuer, valid from notBefore to notAfter, the way Fulcio
// does.
func (c *CA) Issue(pub crypto.PublicKey, subject, issuer string, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	iss, err := asn1.MarshalWithParams(issuer, "utf8")
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(time.Now().UnixNano()),
		NotBefore:       notBefore,
		NotAfter:        notAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{{Id: oidIssuerV2, Value: iss}},
	}
	if u, err := url.Parse(subject); err == nil && u.Scheme != "" {
		tmpl.URIs = []*url.URL{u}
	} else {
		tmpl.EmailAddresses = []string{subject}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.Intermediate, pub, c.key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// Authority describes the CA for a trusted root.
func (c *CA) Authority() *root.FulcioCertificateAuthority {
	return &root.FulcioCertificateAuthority{Root: c.Root, Intermediates: []*x509.Certificate{c.Intermediate}, URI: "https://fulcio.test"}
}

// TSA is an RFC 3161 timestamp authority over HTTP on 127.0.0.1: root,
// intermediate and leaf (with the critical timestamping EKU RFC 3161 asks
// for), stamping the time its clock says. It stops when the test ends.
type TSA struct {
	Root, Intermediate, Leaf *x509.Certificate
	key                      *ecdsa.PrivateKey
	srv                      *httptest.Server
	requests                 atomic.Int64

	mu  sync.Mutex
	now func() time.Time
}

// NewTSA starts a timestamp authority.
func NewTSA(t testing.TB) *TSA {
	t.Helper()
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	interKey := mustECKey(t)
	inter := mustCert(t, &x509.Certificate{
		SerialNumber:          big.NewInt(3),
		Subject:               pkix.Name{CommonName: "evident-test-tsa-intermediate", Organization: []string{"evident test"}},
		NotBefore:             time.Now().Add(-5 * time.Hour),
		NotAfter:              time.Now().Add(5 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, rootCert, interKey.Public(), rootKey)
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		t.Fatal(err)
	}
	leafKey := mustECKey(t)
	leaf := mustCert(t, &x509.Certificate{
		SerialNumber:    big.NewInt(4),
		Subject:         pkix.Name{CommonName: "evident-test-tsa", Organization: []string{"evident test"}},
		NotBefore:       time.Now().Add(-5 * time.Hour),
		NotAfter:        time.Now().Add(5 * time.Hour),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: eku}},
	}, inter, leafKey.Public(), interKey)
	a := &TSA{Root: rootCert, Intermediate: inter, Leaf: leaf, key: leafKey, now: time.Now}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serveHTTP))
	t.Cleanup(a.srv.Close)
	return a
}

// URL is the timestamp endpoint, as a signer is configured with it.
func (a *TSA) URL() string { return a.srv.URL + "/api/v1/timestamp" }

// BaseURL is the server's URL, which the trusted root names as the
// authority's URI.
func (a *TSA) BaseURL() string { return a.srv.URL }

// ChainPEM is the authority's certificate chain, leaf first, root last:
// what --tsa-chain takes.
func (a *TSA) ChainPEM() []byte { return CertPEM(a.Leaf, a.Intermediate, a.Root) }

// Requests counts the requests the authority received.
func (a *TSA) Requests() int64 { return a.requests.Load() }

// SetClock sets the time the authority stamps.
func (a *TSA) SetClock(now func() time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.now = now
}

// Authority describes the TSA for a trusted root.
func (a *TSA) Authority() *root.SigstoreTimestampingAuthority {
	return &root.SigstoreTimestampingAuthority{Root: a.Root, Intermediates: []*x509.Certificate{a.Intermediate}, Leaf: a.Leaf, URI: a.srv.URL}
}

func (a *TSA) serveHTTP(w http.ResponseWriter, r *http.Request) {
	a.requests.Add(1)
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/timestamp" {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	now := a.now()
	a.mu.Unlock()
	ts := timestamp.Timestamp{
		HashAlgorithm:     req.HashAlgorithm,
		HashedMessage:     req.HashedMessage,
		Time:              now.UTC(),
		Nonce:             req.Nonce,
		Policy:            asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2},
		AddTSACertificate: req.Certificates,
	}
	resp, err := ts.CreateResponseWithOpts(a.Leaf, a.key, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(resp)
}

// TrustedRoot is the trusted root of an instance made of c (nil for none)
// and tsas.
func TrustedRoot(t testing.TB, c *CA, tsas ...*TSA) *root.TrustedRoot {
	t.Helper()
	var cas []root.CertificateAuthority
	if c != nil {
		cas = append(cas, c.Authority())
	}
	var ta []root.TimestampingAuthority
	for _, a := range tsas {
		ta = append(ta, a.Authority())
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, cas, nil, ta, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
