package sign

// Offline stand-ins for a Sigstore instance, for the keyless and timestamp
// tests: a Fulcio-like CA and its HTTP signingCert endpoint, an RFC 3161
// timestamp authority over HTTP, and an OIDC issuer with a GitHub
// Actions-style token endpoint. The CA and TSA certificates come from
// sigstore-go's pkg/testing/ca where its generators fit; its
// VirtualSigstore itself cannot back a Fulcio endpoint (its intermediate
// key is unexported, so it cannot certify a client's key), and the
// generators' short validity windows (minutes) would not allow signing in
// the past, so those certificates are made here with wider windows.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

const (
	githubIssuer = "https://token.actions.githubusercontent.com"
	gitlabIssuer = "https://gitlab.com"
	// The release workflow of the running example, on a tag.
	releaseWorkflowRef = "acme/monitor/.github/workflows/release.yml@refs/tags/v1.2.0"
	releaseSubject     = "https://github.com/" + releaseWorkflowRef
	releasePattern     = `https://github\.com/acme/monitor/\.github/workflows/release\.yml@refs/tags/v.*`
)

var (
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
	oidTSAEKU   = asn1.ObjectIdentifier{2, 5, 29, 37}
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

func certPEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// testCA is a Fulcio-like certificate authority: a root (sigstore-go's
// test root, valid ±5 h) and an intermediate valid as long.
type testCA struct {
	root, inter *x509.Certificate
	interKey    *ecdsa.PrivateKey
}

func newTestCA(t testing.TB) *testCA {
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
	return &testCA{root: rootCert, inter: inter, interKey: k}
}

// issue certifies pub for subject (a URI or an e-mail address) as vouched
// for by issuer, valid from notBefore to notAfter, the way Fulcio does.
func (c *testCA) issue(pub crypto.PublicKey, subject, issuer string, notBefore, notAfter time.Time) (*x509.Certificate, error) {
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
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.inter, pub, c.interKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func (c *testCA) authority() *root.FulcioCertificateAuthority {
	return &root.FulcioCertificateAuthority{Root: c.root, Intermediates: []*x509.Certificate{c.inter}, URI: "https://fulcio.test"}
}

// testTSA is an RFC 3161 timestamp authority over HTTP: root,
// intermediate and leaf (critical timestamping EKU, as RFC 3161 asks),
// stamping the time its clock says.
type testTSA struct {
	root, inter, leaf *x509.Certificate
	key               *ecdsa.PrivateKey
	srv               *httptest.Server
	requests          atomic.Int64

	mu  sync.Mutex
	now func() time.Time
}

func newTestTSA(t testing.TB) *testTSA {
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
		ExtraExtensions: []pkix.Extension{{Id: oidTSAEKU, Critical: true, Value: eku}},
	}, inter, leafKey.Public(), interKey)
	tsa := &testTSA{root: rootCert, inter: inter, leaf: leaf, key: leafKey, now: time.Now}
	tsa.srv = httptest.NewServer(tsa)
	t.Cleanup(tsa.srv.Close)
	return tsa
}

func (a *testTSA) url() string { return a.srv.URL + "/api/v1/timestamp" }

func (a *testTSA) chainPEM() []byte { return certPEM(a.leaf, a.inter, a.root) }

func (a *testTSA) setClock(now func() time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.now = now
}

func (a *testTSA) authority() *root.SigstoreTimestampingAuthority {
	return &root.SigstoreTimestampingAuthority{Root: a.root, Intermediates: []*x509.Certificate{a.inter}, Leaf: a.leaf, URI: a.srv.URL}
}

func (a *testTSA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	resp, err := ts.CreateResponseWithOpts(a.leaf, a.key, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(resp)
}

// oidcIssuer mints ES256 identity tokens.
type oidcIssuer struct {
	url string
	key *ecdsa.PrivateKey
}

func newOIDCIssuer(t testing.TB, issuerURL string) *oidcIssuer {
	return &oidcIssuer{url: issuerURL, key: mustECKey(t)}
}

// mint returns a signed JWT with the issuer's iss and claims.
func (o *oidcIssuer) mint(claims map[string]any) (string, error) {
	c := map[string]any{"iss": o.url}
	for k, v := range claims {
		c[k] = v
	}
	return signJWT(o.key, c)
}

func (o *oidcIssuer) mustMint(t testing.TB, claims map[string]any) string {
	t.Helper()
	tok, err := o.mint(claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func signJWT(key *ecdsa.PrivateKey, claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signingInput := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signingInput))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// verifyJWT checks an ES256 JWT's signature with key and returns its
// claims.
func verifyJWT(tok string, key *ecdsa.PublicKey) (map[string]any, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return nil, errors.New("bad signature encoding")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(key, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return nil, errors.New("bad signature")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// githubClaims are the claims of a GitHub Actions ID token for the
// release workflow, expiring ttl from now (negative: already expired).
func githubClaims(aud string, ttl time.Duration) map[string]any {
	now := time.Now()
	return map[string]any{
		"aud":              aud,
		"sub":              "repo:acme/monitor:ref:refs/tags/v1.2.0",
		"job_workflow_ref": releaseWorkflowRef,
		"repository":       "acme/monitor",
		"iat":              now.Add(-time.Minute).Unix(),
		"nbf":              now.Add(-time.Minute).Unix(),
		"exp":              now.Add(ttl).Unix(),
	}
}

// githubTokenEndpoint serves ACTIONS_ID_TOKEN_REQUEST_URL: it checks the
// request token and mints an ID token for the requested audience.
func githubTokenEndpoint(t testing.TB, iss *oidcIssuer, requestToken string, ttl time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "bearer "+requestToken {
			http.Error(w, `{"message":"bad credentials"}`, http.StatusUnauthorized)
			return
		}
		tok, err := iss.mint(githubClaims(r.URL.Query().Get("audience"), ttl))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"value": tok})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fakeFulcio speaks Fulcio's POST /api/v2/signingCert: it verifies the
// bearer token (signature by a known issuer, audience sigstore, not
// expired), the proof of possession of the key, and certifies the key for
// the identity in the token (GitHub: the workflow URI; GitLab: the CI
// config URI; else the e-mail or subject).
type fakeFulcio struct {
	ca       *testCA
	issuers  map[string]*ecdsa.PublicKey
	srv      *httptest.Server
	requests atomic.Int64

	mu       sync.Mutex
	validity func() (notBefore, notAfter time.Time)
}

func newFakeFulcio(t testing.TB, c *testCA, issuers ...*oidcIssuer) *fakeFulcio {
	t.Helper()
	f := &fakeFulcio{ca: c, issuers: map[string]*ecdsa.PublicKey{}, validity: func() (time.Time, time.Time) {
		now := time.Now()
		return now.Add(-time.Minute), now.Add(10 * time.Minute)
	}}
	for _, i := range issuers {
		f.issuers[i.url] = &i.key.PublicKey
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		status, body := f.handle(r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeFulcio) setValidity(v func() (time.Time, time.Time)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.validity = v
}

func fulcioError(status int, msg string) (int, []byte) {
	b, _ := json.Marshal(map[string]any{"code": status, "message": msg})
	return status, b
}

func (f *fakeFulcio) handle(r *http.Request) (int, []byte) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/signingCert" {
		return fulcioError(http.StatusNotFound, "not found")
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return fulcioError(http.StatusUnauthorized, "no identity token")
	}
	claims, err := f.checkToken(tok)
	if err != nil {
		return fulcioError(http.StatusUnauthorized, "There was an error processing the identity token: "+err.Error())
	}
	var req struct {
		PublicKeyRequest struct {
			PublicKey struct {
				Algorithm string `json:"algorithm"`
				Content   string `json:"content"`
			} `json:"publicKey"`
			ProofOfPossession string `json:"proofOfPossession"`
		} `json:"publicKeyRequest"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		return fulcioError(http.StatusBadRequest, "malformed request")
	}
	blk, _ := pem.Decode([]byte(req.PublicKeyRequest.PublicKey.Content))
	if blk == nil {
		return fulcioError(http.StatusBadRequest, "no public key")
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return fulcioError(http.StatusBadRequest, "bad public key")
	}
	ecPub, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return fulcioError(http.StatusBadRequest, "only ECDSA here")
	}
	pop, err := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
	sub, _ := claims["sub"].(string)
	sum := sha256.Sum256([]byte(sub))
	if err != nil || !ecdsa.VerifyASN1(ecPub, sum[:], pop) {
		return fulcioError(http.StatusBadRequest, "The signature supplied in the request could not be verified")
	}

	subject := sub
	switch {
	case claims["job_workflow_ref"] != nil:
		subject = "https://github.com/" + claims["job_workflow_ref"].(string)
	case claims["ci_config_ref_uri"] != nil:
		subject = "https://" + claims["ci_config_ref_uri"].(string)
	case claims["email"] != nil:
		subject = claims["email"].(string)
	}
	f.mu.Lock()
	nb, na := f.validity()
	f.mu.Unlock()
	leaf, err := f.ca.issue(ecPub, subject, claims["iss"].(string), nb, na)
	if err != nil {
		return fulcioError(http.StatusInternalServerError, err.Error())
	}
	chain := []string{string(certPEM(leaf)), string(certPEM(f.ca.inter)), string(certPEM(f.ca.root))}
	out, _ := json.Marshal(map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}}})
	return http.StatusOK, out
}

func (f *fakeFulcio) checkToken(tok string) (map[string]any, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var unverified struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &unverified); err != nil {
		return nil, err
	}
	key, ok := f.issuers[unverified.Iss]
	if !ok {
		return nil, fmt.Errorf("unknown issuer %q", unverified.Iss)
	}
	claims, err := verifyJWT(tok, key)
	if err != nil {
		return nil, err
	}
	if claims["aud"] != "sigstore" {
		return nil, errors.New("audience is not sigstore")
	}
	if exp, _ := claims["exp"].(float64); time.Now().After(time.Unix(int64(exp), 0)) {
		return nil, errors.New("token expired")
	}
	return claims, nil
}

// testTrustedRoot is the trusted root of an instance made of these fakes.
func testTrustedRoot(t testing.TB, c *testCA, tsas ...*testTSA) *root.TrustedRoot {
	t.Helper()
	var cas []root.CertificateAuthority
	if c != nil {
		cas = append(cas, c.authority())
	}
	var ta []root.TimestampingAuthority
	for _, a := range tsas {
		ta = append(ta, a.authority())
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, cas, nil, ta, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
