package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/testutil"
	"github.com/evident-dev/evident/internal/verify"
)

// loadDoc loads and validates openapi.json, the document the server serves.
func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("openapi.json")
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// TestOpenAPIRoutes checks that the document describes exactly the routes
// the server has, with security on exactly the routes that need a token.
func TestOpenAPIRoutes(t *testing.T) {
	doc := loadDoc(t)
	l := newLive(t)

	public := map[string]bool{"GET /metrics": true}
	for _, r := range l.handler.Routes() {
		public[r.Key()] = r.Public
	}
	var served, documented []string
	for k := range public {
		served = append(served, k)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			documented = append(documented, key)
			isPublic, ok := public[key]
			if !ok {
				continue
			}
			secured := op.Security != nil && len(*op.Security) > 0
			if secured == isPublic {
				t.Errorf("%s: documented with security %v, but the route is public=%v", key, secured, isPublic)
			}
			if !isPublic {
				for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden} {
					if op.Responses.Status(code) == nil {
						t.Errorf("%s: needs a token but does not document %d", key, code)
					}
				}
			}
		}
	}
	sort.Strings(served)
	sort.Strings(documented)
	if diff := cmp.Diff(served, documented); diff != "" {
		t.Errorf("routes (-served +documented):\n%s", diff)
	}

	// The server serves this very document.
	resp, b := l.do(t, l.request(t, http.MethodGet, "/openapi.json", nil, ""))
	if resp.StatusCode != http.StatusOK || !bytes.Equal(b, testutil.ReadFile(t, "openapi.json")) {
		t.Errorf("GET /openapi.json: status %d, %d bytes; want the %s file", resp.StatusCode, len(b), "openapi.json")
	}
}

// TestOpenAPIResponses sends real requests and validates each request and
// response against the document: the status must be documented for the
// operation and the body must match its schema.
func TestOpenAPIResponses(t *testing.T) {
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	l := newLive(t)
	ci, auditor, admin := l.token(auth.RoleCI), l.token(auth.RoleAuditor), l.token(auth.RoleAdmin)
	_, key := sealedRelease(t)

	// More releases to push: a new version (201), the same version with
	// other content (409), a lie about the policy result (422).
	resign := func(edit func(m *evidence.Manifest)) string {
		dir := testutil.CopyRelease(t, l.dir)
		m := testutil.ReadManifest(t, dir)
		edit(m)
		testutil.Resign(t, dir, m, key)
		testutil.Upload(t, l.arch.As(auth.RoleCI), dir)
		return string(mustJSON(t, map[string]string{
			"manifest": digest.FromBytes(testutil.ReadFile(t, filepath.Join(dir, verify.ManifestFile))).String(),
			"bundle":   digest.FromBytes(testutil.ReadFile(t, filepath.Join(dir, verify.BundleFile))).String(),
		}))
	}
	next := resign(func(m *evidence.Manifest) { m.Product.Version = "2.5.0"; m.CreatedAt = m.CreatedAt.Add(time.Hour) })
	conflict := resign(func(m *evidence.Manifest) { m.CreatedAt = m.CreatedAt.Add(time.Minute) })
	lied := resign(func(m *evidence.Manifest) { m.Policy.Rules[0].Message = "all fine" })
	unknown := digest.FromBytes([]byte("never stored"))
	blob := []byte("a blob for the OpenAPI test\n")
	fw := l.m.Components[0].Artifacts[0].Digest

	tests := []struct {
		name         string
		method, path string
		token        string
		body         string
		status       int
	}{
		{"healthz", "GET", "/healthz", "", "", 200},
		{"readyz", "GET", "/readyz", "", "", 200},
		{"metrics", "GET", "/metrics", "", "", 200},
		{"missing blobs", "POST", "/api/v1/blobs/missing", ci, `{"digests":["` + unknown.String() + `","` + l.req.Manifest.String() + `"]}`, 200},
		{"missing blobs, malformed JSON", "POST", "/api/v1/blobs/missing", ci, `{"digests":`, 400},
		{"put blob", "PUT", "/api/v1/blobs/" + digest.FromBytes(blob).String(), ci, string(blob), 201},
		{"put blob, digest mismatch", "PUT", "/api/v1/blobs/" + unknown.String(), ci, string(blob), 400},
		{"get blob", "GET", "/api/v1/blobs/" + l.req.Manifest.String(), auditor, "", 200},
		{"head blob", "HEAD", "/api/v1/blobs/" + l.req.Manifest.String(), auditor, "", 200},
		{"get blob, unknown", "GET", "/api/v1/blobs/" + unknown.String(), auditor, "", 404},
		{"push, new", "POST", "/api/v1/releases", ci, next, 201},
		{"push, again", "POST", "/api/v1/releases", ci, string(mustJSON(t, l.req)), 200},
		{"push, conflict", "POST", "/api/v1/releases", ci, conflict, 409},
		{"push, policy result lies", "POST", "/api/v1/releases", ci, lied, 422},
		{"push, not uploaded", "POST", "/api/v1/releases", ci, `{"manifest":"` + unknown.String() + `","bundle":"` + l.req.Bundle.String() + `"}`, 400},
		{"push, forbidden", "POST", "/api/v1/releases", auditor, string(mustJSON(t, l.req)), 403},
		{"push, no token", "POST", "/api/v1/releases", "", string(mustJSON(t, l.req)), 401},
		{"products", "GET", "/api/v1/products", auditor, "", 200},
		{"history", "GET", "/api/v1/products/wearable-monitor/releases", auditor, "", 200},
		{"history, unknown product", "GET", "/api/v1/products/infusion-pump/releases", auditor, "", 404},
		{"release", "GET", "/api/v1/products/wearable-monitor/releases/2.4.0", auditor, "", 200},
		{"release, unknown", "GET", "/api/v1/products/wearable-monitor/releases/9.9.9", admin, "", 404},
		{"pack", "GET", "/api/v1/products/wearable-monitor/releases/2.4.0/pack", auditor, "", 200},
		{"pack, unknown", "GET", "/api/v1/products/wearable-monitor/releases/9.9.9/pack", auditor, "", 404},
		{"artifact", "GET", "/api/v1/artifacts/" + fw.String(), auditor, "", 200},
		{"component", "GET", "/api/v1/components/wm-firmware/versions/3.1.2", auditor, "", 200},
		{"component, bad name", "GET", "/api/v1/components/wm%20firmware/versions/3.1.2", auditor, "", 400},
		{"soup", "GET", "/api/v1/soup?purl=" + "pkg%3Agithub%2Fmadler%2Fzlib", auditor, "", 200},
		{"soup, not a purl", "GET", "/api/v1/soup?purl=zlib", auditor, "", 400},
		{"status", "GET", "/api/v1/products/wearable-monitor/releases/2.4.0/status", auditor, "", 200},
		{"status, unknown", "GET", "/api/v1/products/wearable-monitor/releases/9.9.9/status", auditor, "", 404},
		{"approval, not a signed record", "POST", "/api/v1/approvals", admin, `{}`, 403},
		{"log", "GET", "/api/v1/log", auditor, "", 200},
		{"log proof", "GET", "/api/v1/log/proofs/0", auditor, "", 200},
		{"log proof, beyond the log", "GET", "/api/v1/log/proofs/99", auditor, "", 404},
		{"log, forbidden", "GET", "/api/v1/log", ci, "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			req := l.request(t, tt.method, tt.path, body, tt.token)
			if body != nil && strings.HasPrefix(tt.body, "{") {
				req.Header.Set("Content-Type", "application/json")
			} else if body != nil {
				req.Header.Set("Content-Type", "application/octet-stream")
			}
			resp, b := l.do(t, req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %.300s", resp.StatusCode, tt.status, b)
			}
			validate(t, router, tt.method, tt.path, req.Header, body, resp, b)
		})
	}
}

// validate checks a request and its response against the document.
func validate(t *testing.T, router routers.Router, method, target string, header http.Header, body []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	ctx := context.Background()
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body)) // a path: the document's server is "/"
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s is not in the document: %v", method, req.URL.Path, err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	// Bad requests are sent on purpose; a valid one must match the document.
	if resp.StatusCode < 400 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("the request does not match the document: %v", err)
		}
	}
	ct := resp.Header.Get("Content-Type")
	opts := &openapi3filter.Options{IncludeResponseStatus: true}
	// Binary bodies (blobs, tar packs) have no schema to check.
	if method == http.MethodHead || !slices.Contains([]string{"application/json", "text/plain"}, strings.TrimSpace(strings.Split(ct, ";")[0])) {
		opts.ExcludeResponseBody = true
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("the response (%d, %s) does not match the document: %v\nbody: %.500s", resp.StatusCode, ct, err, respBody)
	}
}
