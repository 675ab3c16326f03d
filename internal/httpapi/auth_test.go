package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/sign"
)

// routeCase is how the auth matrix calls one route: a request that is
// valid (so that an allowed caller gets ok), and the action it needs.
type routeCase struct {
	action auth.Action // "" for a public route
	path   string
	body   func(t *testing.T, l *live) []byte
	ok     int // the status of an allowed call
}

// routeCases has an entry for every route of the server and /metrics; the
// matrix fails when a route has none, so a new route cannot go untested.
func routeCases(l *live) map[string]routeCase {
	fw := l.m.Components[0].Artifacts[0].Digest
	blob := []byte("a blob of the auth matrix\n")
	return map[string]routeCase{
		"GET /healthz":      {path: "/healthz", ok: http.StatusOK},
		"GET /readyz":       {path: "/readyz", ok: http.StatusOK},
		"GET /openapi.json": {path: "/openapi.json", ok: http.StatusOK},
		"GET /metrics":      {path: "/metrics", ok: http.StatusOK},
		"POST /api/v1/blobs/missing": {action: auth.ActionPush, path: "/api/v1/blobs/missing", ok: http.StatusOK,
			body: func(_ *testing.T, l *live) []byte {
				return []byte(`{"digests":["` + l.req.Manifest.String() + `"]}`)
			}},
		"PUT /api/v1/blobs/{digest}": {action: auth.ActionPush, path: "/api/v1/blobs/" + digest.FromBytes(blob).String(), ok: http.StatusCreated,
			body: func(*testing.T, *live) []byte { return blob }},
		"GET /api/v1/blobs/{digest}":  {action: auth.ActionRead, path: "/api/v1/blobs/" + l.req.Manifest.String(), ok: http.StatusOK},
		"HEAD /api/v1/blobs/{digest}": {action: auth.ActionRead, path: "/api/v1/blobs/" + l.req.Manifest.String(), ok: http.StatusOK},
		"POST /api/v1/releases": {action: auth.ActionPush, path: "/api/v1/releases", ok: http.StatusOK, // already archived
			body: func(t *testing.T, l *live) []byte { return mustJSON(t, l.req) }},
		"GET /api/v1/products":                                     {action: auth.ActionRead, path: "/api/v1/products", ok: http.StatusOK},
		"GET /api/v1/products/{product}/releases":                  {action: auth.ActionRead, path: "/api/v1/products/wearable-monitor/releases", ok: http.StatusOK},
		"GET /api/v1/products/{product}/releases/{version}":        {action: auth.ActionRead, path: "/api/v1/products/wearable-monitor/releases/2.4.0", ok: http.StatusOK},
		"GET /api/v1/products/{product}/releases/{version}/pack":   {action: auth.ActionRead, path: "/api/v1/products/wearable-monitor/releases/2.4.0/pack", ok: http.StatusOK},
		"GET /api/v1/artifacts/{digest}":                           {action: auth.ActionRead, path: "/api/v1/artifacts/" + fw.String(), ok: http.StatusOK},
		"GET /api/v1/components/{name}/versions/{version}":         {action: auth.ActionRead, path: "/api/v1/components/wm-firmware/versions/3.1.2", ok: http.StatusOK},
		"GET /api/v1/soup":                                         {action: auth.ActionRead, path: "/api/v1/soup?purl=pkg:github/madler/zlib", ok: http.StatusOK},
		"GET /api/v1/products/{product}/releases/{version}/status": {action: auth.ActionRead, path: "/api/v1/products/wearable-monitor/releases/2.4.0/status", ok: http.StatusOK},
		// Not a signed record: refused as bad input once the token may
		// approve (the archive has a registered approver, see TestAuthMatrix).
		"POST /api/v1/approvals": {action: auth.ActionApprove, path: "/api/v1/approvals", ok: http.StatusBadRequest,
			body: func(*testing.T, *live) []byte { return []byte(`{}`) }},
		"GET /api/v1/log":                {action: auth.ActionRead, path: "/api/v1/log", ok: http.StatusOK},
		"GET /api/v1/log/proofs/{index}": {action: auth.ActionRead, path: "/api/v1/log/proofs/0", ok: http.StatusOK},
	}
}

// TestAuthMatrix calls every route with every kind of credential: public
// routes answer everyone; the rest refuse a missing, malformed, unknown or
// revoked token with 401 and a role lacking the route's action with 403, and serve
// a role that has it.
func TestAuthMatrix(t *testing.T) {
	l := newLive(t)
	cases := routeCases(l)
	addApprover(t, l)

	// Every route has a case, and every case a route.
	var routes []string
	for _, r := range l.handler.Routes() {
		routes = append(routes, r.Key())
	}
	routes = append(routes, "GET /metrics")
	for _, r := range routes {
		if _, ok := cases[r]; !ok {
			t.Errorf("route %s has no entry in the auth matrix: add one to routeCases", r)
		}
	}
	for k := range cases {
		if !slices.Contains(routes, k) {
			t.Errorf("the auth matrix has an entry for %s, which is not a route", k)
		}
	}
	public := map[string]bool{"GET /metrics": true}
	for _, r := range l.handler.Routes() {
		public[r.Key()] = r.Public
	}

	unknown, _, _, err := auth.NewToken() // well-formed, never stored
	if err != nil {
		t.Fatal(err)
	}
	revoked := l.token(auth.RoleAdmin) // stored, then revoked: as good as unknown
	ctx := context.Background()
	err = l.arch.Catalog.Update(ctx, func(tx catalog.Tx) error {
		return tx.RevokeToken(ctx, auth.TokenID(revoked), time.Now().UTC())
	})
	if err != nil {
		t.Fatal(err)
	}
	creds := []struct {
		name   string
		header string // the Authorization header; "" for none
		role   string // the token's role, for a valid token
	}{
		{name: "no token"},
		{name: "malformed token", header: "Bearer not-a-token"},
		{name: "not a bearer token", header: "Basic dXNlcjpwYXNz"},
		{name: "unknown token", header: "Bearer " + unknown},
		{name: "revoked token", header: "Bearer " + revoked},
		{name: "ci", header: "Bearer " + l.token(auth.RoleCI), role: auth.RoleCI},
		{name: "auditor", header: "Bearer " + l.token(auth.RoleAuditor), role: auth.RoleAuditor},
		{name: "approver", header: "Bearer " + l.token(auth.RoleApprover), role: auth.RoleApprover},
		{name: "admin", header: "Bearer " + l.token(auth.RoleAdmin), role: auth.RoleAdmin},
	}

	for _, key := range routes {
		rc, ok := cases[key]
		if !ok {
			continue // reported above
		}
		if public[key] != (rc.action == "") {
			t.Errorf("%s: the server says public=%v, the matrix gives action %q", key, public[key], rc.action)
		}
		method, _, _ := strings.Cut(key, " ")
		for _, c := range creds {
			t.Run(key+"/"+c.name, func(t *testing.T) {
				var body []byte
				if rc.body != nil {
					body = rc.body(t, l)
				}
				req := l.request(t, method, rc.path, body, "")
				if c.header != "" {
					req.Header.Set("Authorization", c.header)
				}
				resp, b := l.do(t, req)

				want, code := rc.ok, ""
				switch {
				case rc.action == "":
				case c.role == "":
					want, code = http.StatusUnauthorized, "unauthorized"
				case !auth.Can(c.role, rc.action):
					want, code = http.StatusForbidden, "forbidden"
				}
				if resp.StatusCode != want {
					t.Fatalf("status %d, want %d; body %.300s", resp.StatusCode, want, b)
				}
				if code == "" {
					return
				}
				if code == "unauthorized" && resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("a 401 without a WWW-Authenticate challenge")
				}
				if method == http.MethodHead {
					if len(b) != 0 {
						t.Errorf("HEAD answered with a body of %d bytes", len(b))
					}
					return
				}
				if e := errorBody(t, resp, b); e.Code != code {
					t.Errorf("error code %q, want %q (message %q)", e.Code, code, e.Message)
				}
			})
		}
	}
}

// addApprover registers an approver, so that an approval record is judged
// on its merits rather than refused for want of any approver.
func addApprover(t *testing.T, l *live) {
	t.Helper()
	k, err := sign.GenerateKey(sign.AlgECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := k.Public().MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = l.arch.Catalog.Update(ctx, func(tx catalog.Tx) error {
		return tx.InsertApprover(ctx, catalog.Approver{ID: "matrix", Name: "Quality Manager", Role: "quality",
			KeyID: k.Public().ID(), PublicKey: pem, CreatedAt: time.Now().UTC()})
	})
	if err != nil {
		t.Fatal(err)
	}
}
