package signtest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Issuer is an OIDC issuer that mints ES256 identity tokens.
type Issuer struct {
	// URL is the issuer (the tokens' iss claim).
	URL string
	key *ecdsa.PrivateKey
}

// NewIssuer returns an issuer named issuerURL with a new key.
func NewIssuer(t testing.TB, issuerURL string) *Issuer {
	t.Helper()
	return &Issuer{URL: issuerURL, key: mustECKey(t)}
}

// Mint returns a signed JWT with the issuer's iss and claims.
func (o *Issuer) Mint(claims map[string]any) (string, error) {
	c := map[string]any{"iss": o.URL}
	for k, v := range claims {
		c[k] = v
	}
	return signJWT(o.key, c)
}

// MustMint is Mint that fails the test on error.
func (o *Issuer) MustMint(t testing.TB, claims map[string]any) string {
	t.Helper()
	tok, err := o.Mint(claims)
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

// GitHubClaims are the claims of a GitHub Actions ID token of a job running
// the workflow workflowRef ("OWNER/REPO/.github/workflows/F.yml@REF"), for
// audience aud, expiring ttl from now (negative: already expired).
func GitHubClaims(workflowRef, aud string, ttl time.Duration) map[string]any {
	now := time.Now()
	repo, _, _ := strings.Cut(workflowRef, "/.github/")
	_, ref, _ := strings.Cut(workflowRef, "@")
	return map[string]any{
		"aud":              aud,
		"sub":              "repo:" + repo + ":ref:" + ref,
		"job_workflow_ref": workflowRef,
		"repository":       repo,
		"iat":              now.Add(-time.Minute).Unix(),
		"nbf":              now.Add(-time.Minute).Unix(),
		"exp":              now.Add(ttl).Unix(),
	}
}

// GitHubTokenEndpoint serves what ACTIONS_ID_TOKEN_REQUEST_URL points to
// in a job with `permissions: id-token: write`: it checks the request
// token and mints an ID token with the claims claims returns for the
// requested audience. It stops when the test ends.
func GitHubTokenEndpoint(t testing.TB, iss *Issuer, requestToken string, claims func(audience string) map[string]any) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "bearer "+requestToken {
			http.Error(w, `{"message":"bad credentials"}`, http.StatusUnauthorized)
			return
		}
		tok, err := iss.Mint(claims(r.URL.Query().Get("audience")))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"value": tok})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Fulcio speaks Fulcio's POST /api/v2/signingCert: it verifies the bearer
// token (signature by a known issuer, audience sigstore, not expired), the
// proof of possession of the key, and certifies the key for the identity
// in the token (GitHub: the workflow URI; GitLab: the CI config URI; else
// the e-mail or subject). It stops when the test ends.
type Fulcio struct {
	ca       *CA
	issuers  map[string]*ecdsa.PublicKey
	srv      *httptest.Server
	requests atomic.Int64

	mu       sync.Mutex
	validity func() (notBefore, notAfter time.Time)
}

// NewFulcio starts a Fulcio for c that accepts tokens of issuers.
func NewFulcio(t testing.TB, c *CA, issuers ...*Issuer) *Fulcio {
	t.Helper()
	f := &Fulcio{ca: c, issuers: map[string]*ecdsa.PublicKey{}, validity: func() (time.Time, time.Time) {
		now := time.Now()
		return now.Add(-time.Minute), now.Add(10 * time.Minute)
	}}
	for _, i := range issuers {
		f.issuers[i.URL] = &i.key.PublicKey
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

// URL is Fulcio's base URL (what --fulcio-url takes).
func (f *Fulcio) URL() string { return f.srv.URL }

// Requests counts the requests Fulcio received.
func (f *Fulcio) Requests() int64 { return f.requests.Load() }

// SetValidity sets the validity window of the certificates Fulcio issues.
func (f *Fulcio) SetValidity(v func() (notBefore, notAfter time.Time)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.validity = v
}

func fulcioError(status int, msg string) (int, []byte) {
	b, _ := json.Marshal(map[string]any{"code": status, "message": msg})
	return status, b
}

func (f *Fulcio) handle(r *http.Request) (int, []byte) {
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
	// The proof of possession signs the token's subject: its e-mail
	// address when it has one, as Sigstore clients and Fulcio do.
	pop, err := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
	sub, _ := claims["sub"].(string)
	if e, ok := claims["email"].(string); ok {
		sub = e
	}
	sum := sha256.Sum256([]byte(sub))
	if err != nil || !ecdsa.VerifyASN1(ecPub, sum[:], pop) {
		return fulcioError(http.StatusBadRequest, "The signature supplied in the request could not be verified")
	}

	subject := sub
	if s, ok := claims["job_workflow_ref"].(string); ok {
		subject = "https://github.com/" + s
	} else if s, ok := claims["ci_config_ref_uri"].(string); ok {
		subject = "https://" + s
	} else if s, ok := claims["email"].(string); ok {
		subject = s
	}
	iss, _ := claims["iss"].(string)
	f.mu.Lock()
	nb, na := f.validity()
	f.mu.Unlock()
	leaf, err := f.ca.Issue(ecPub, subject, iss, nb, na)
	if err != nil {
		return fulcioError(http.StatusInternalServerError, err.Error())
	}
	chain := []string{string(CertPEM(leaf)), string(CertPEM(f.ca.Intermediate)), string(CertPEM(f.ca.Root))}
	out, _ := json.Marshal(map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}}})
	return http.StatusOK, out
}

func (f *Fulcio) checkToken(tok string) (map[string]any, error) {
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
