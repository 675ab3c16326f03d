package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/httpapi"
)

// maxBlob is the blob size limit of the server under test.
const maxBlob = 64 << 10

// rawExchange sends raw bytes on a new connection and, unless the whole
// connection is closed after sending (closeAll), half-closes it and reads
// one response. It returns the response (nil when closeAll) and its body.
func rawExchange(t *testing.T, l *live, raw []byte, closeAll bool) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", l.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(raw); err != nil {
		t.Fatalf("write: %v", err)
	}
	if closeAll {
		conn.Close()
		return nil, nil
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	return resp, b
}

// putHead is the head of a raw PUT of a blob.
func putHead(d, token string, contentLength int) string {
	return fmt.Sprintf("PUT /api/v1/blobs/%s HTTP/1.1\r\nHost: evidentd.test\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", d, token, contentLength)
}

// wantError checks a JSON error response of status and code whose message
// mentions every one of contains.
func wantError(t *testing.T, resp *http.Response, b []byte, status int, code string, contains ...string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %.300s", resp.StatusCode, status, b)
	}
	e := errorBody(t, resp, b)
	t.Logf("%d %s: %s", resp.StatusCode, e.Code, e.Message)
	if e.Code != code {
		t.Errorf("code %q, want %q (message %q)", e.Code, code, e.Message)
	}
	for _, s := range contains {
		if !strings.Contains(e.Message, s) {
			t.Errorf("message %q does not mention %q", e.Message, s)
		}
	}
}

// wantNotStored checks, through the API, that d is not stored, and that no
// temporary file of an upload is left in the blob store.
func wantNotStored(t *testing.T, l *live, d digest.Digest) {
	t.Helper()
	missing, err := l.arch.As(auth.RoleAdmin).MissingBlobs(context.Background(), []digest.Digest{d})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 {
		t.Errorf("blob %s is stored after a refused upload", d)
	}
	// A refused upload leaves nothing behind: the handler has returned, so
	// its temporary file is gone.
	deadline := time.Now().Add(5 * time.Second)
	for {
		left, err := os.ReadDir(filepath.Join(l.arch.Dir, "blobs", "tmp"))
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("temporary files left in the blob store: %v", left)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wantServing checks the server still answers, anonymous and authenticated.
func wantServing(t *testing.T, l *live, token string) {
	t.Helper()
	resp, b := l.do(t, l.request(t, http.MethodGet, "/healthz", nil, ""))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz after bad input: %d %s", resp.StatusCode, b)
	}
	resp, b = l.do(t, l.request(t, http.MethodPost, "/api/v1/blobs/missing", []byte(`{"digests":[]}`), token))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("missing blobs after bad input: %d %s", resp.StatusCode, b)
	}
}

func newBadInputServer(t *testing.T) *live {
	return newLive(t, func(c *httpapi.Config) { c.MaxBlobSize = maxBlob })
}

// TestBadUploads sends blob uploads that must be refused: each gets a 4xx
// with a JSON error, stores nothing, and the server goes on serving.
func TestBadUploads(t *testing.T) {
	l := newBadInputServer(t)
	ci := l.token(auth.RoleCI)
	content := bytes.Repeat([]byte("evidence "), 1000) // 9000 bytes
	d := digest.FromBytes(content)

	tests := []struct {
		name     string
		raw      []byte
		closeAll bool
		digest   digest.Digest
		status   int
		code     string
		contains []string
	}{
		{
			name:   "Content-Length larger than the body, write side closed",
			raw:    append([]byte(putHead(d.String(), ci, len(content))), content[:4000]...),
			digest: d, status: http.StatusBadRequest, code: "invalid", contains: []string{"4000", "9000"},
		},
		{
			name:     "Content-Length larger than the body, connection closed",
			raw:      append([]byte(putHead(d.String(), ci, len(content))), content[:4000]...),
			closeAll: true, digest: d,
		},
		{
			name:   "body not matching its digest",
			raw:    append([]byte(putHead(digest.FromBytes([]byte("other")).String(), ci, len(content))), content...),
			digest: digest.FromBytes([]byte("other")), status: http.StatusBadRequest, code: "invalid", contains: []string{"digest"},
		},
		{
			// The server reads Content-Length bytes, which are not what the
			// digest names; what follows is not a request.
			name:   "body longer than Content-Length",
			raw:    append([]byte(putHead(d.String(), ci, 4000)), content...),
			digest: d, status: http.StatusBadRequest, code: "invalid", contains: []string{d.String()},
		},
		{
			name:   "larger than the blob limit, announced",
			raw:    append([]byte(putHead(digest.FromBytes(make([]byte, maxBlob+1)).String(), ci, maxBlob+1)), make([]byte, maxBlob+1)...),
			digest: digest.FromBytes(make([]byte, maxBlob+1)), status: http.StatusRequestEntityTooLarge, code: "too_large",
			contains: []string{fmt.Sprint(maxBlob)},
		},
		{
			name: "larger than the blob limit, chunked",
			raw: []byte("PUT /api/v1/blobs/" + digest.FromBytes(make([]byte, 2*maxBlob)).String() + " HTTP/1.1\r\nHost: evidentd.test\r\n" +
				"Authorization: Bearer " + ci + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
				fmt.Sprintf("%x\r\n", 2*maxBlob) + string(make([]byte, 2*maxBlob)) + "\r\n0\r\n\r\n"),
			digest: digest.FromBytes(make([]byte, 2*maxBlob)), status: http.StatusRequestEntityTooLarge, code: "too_large",
			contains: []string{fmt.Sprint(maxBlob)},
		},
		{
			name: "chunked body broken off",
			raw: []byte("PUT /api/v1/blobs/" + d.String() + " HTTP/1.1\r\nHost: evidentd.test\r\n" +
				"Authorization: Bearer " + ci + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
				fmt.Sprintf("%x\r\n", len(content)) + string(content[:100])),
			digest: d, status: http.StatusBadRequest, code: "invalid",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := rawExchange(t, l, tt.raw, tt.closeAll)
			if !tt.closeAll {
				wantError(t, resp, b, tt.status, tt.code, tt.contains...)
			}
			wantNotStored(t, l, tt.digest)
			wantServing(t, l, ci)
		})
	}

	// After all that, the blob uploads as it should.
	resp, b := l.do(t, l.request(t, http.MethodPut, "/api/v1/blobs/"+d.String(), content, ci))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("a good upload after the bad ones: %d %s", resp.StatusCode, b)
	}
}

// TestBadRequests sends requests that must be refused with a 4xx and a
// JSON error naming the problem.
func TestBadRequests(t *testing.T) {
	l := newBadInputServer(t)
	ci, auditor := l.token(auth.RoleCI), l.token(auth.RoleAuditor)
	// Valid JSON whose only fault is its size.
	huge := []byte(`{"digests":[` + strings.Repeat(" ", 5<<20) + `]}`)
	good := l.req.Manifest.String()

	tests := []struct {
		name         string
		method, path string
		token        string
		body         []byte
		status       int
		code         string
		contains     []string
	}{
		{"JSON body over 4 MB", "POST", "/api/v1/blobs/missing", ci, huge, 413, "too_large", []string{"4194304"}},
		{"malformed JSON", "POST", "/api/v1/blobs/missing", ci, []byte(`{"digests": [`), 400, "invalid", nil},
		{"not JSON", "POST", "/api/v1/releases", ci, []byte("manifest=sha256:abc"), 400, "invalid", nil},
		{"unknown JSON field", "POST", "/api/v1/releases", ci, []byte(`{"manifest":"` + good + `","bundle":"` + good + `","approve":true}`), 400, "invalid", []string{"approve"}},
		{"trailing data after the JSON", "POST", "/api/v1/blobs/missing", ci, []byte(`{"digests":[]} {}`), 400, "invalid", nil},
		{"a digest without its algorithm", "POST", "/api/v1/blobs/missing", ci, []byte(`{"digests":["` + l.req.Manifest.Hex() + `"]}`), 400, "invalid", nil},
		{"empty body", "POST", "/api/v1/releases", ci, nil, 400, "invalid", nil},
		{"encoded dot segments in a product", "GET", "/api/v1/products/..%2f..%2fetc/releases", auditor, nil, 400, "invalid", []string{"product"}},
		{"encoded dots as a product", "GET", "/api/v1/products/%2E%2E/releases", auditor, nil, 400, "invalid", []string{"product"}},
		{"../ in a product", "GET", "/api/v1/products/../../etc/releases", auditor, nil, 400, "invalid", []string{".."}},
		{"../ in a version", "GET", "/api/v1/products/wearable-monitor/releases/../../products", auditor, nil, 400, "invalid", []string{".."}},
		{"encoded ../ in a version", "GET", "/api/v1/products/wearable-monitor/releases/..%2F2.4.0", auditor, nil, 400, "invalid", []string{"version"}},
		{"../ in a pack's version", "GET", "/api/v1/products/wearable-monitor/releases/../pack", auditor, nil, 400, "invalid", nil},
		{"a digest path sha256:../../x", "GET", "/api/v1/blobs/sha256:../../x", auditor, nil, 400, "invalid", nil},
		{"a digest path sha256:..%2F..%2Fx", "GET", "/api/v1/blobs/sha256:..%2F..%2Fx", auditor, nil, 400, "invalid", []string{"digest"}},
		{"an empty path segment", "GET", "/api/v1/products//releases", auditor, nil, 400, "invalid", nil},
		{"a trailing slash", "GET", "/api/v1/products/", auditor, nil, 400, "invalid", nil},
		{"a short digest", "GET", "/api/v1/blobs/sha256:abc", auditor, nil, 400, "invalid", []string{"64 hex"}},
		{"another algorithm", "GET", "/api/v1/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", auditor, nil, 400, "invalid", []string{"sha256"}},
		{"upper-case hex", "GET", "/api/v1/blobs/" + strings.ToUpper(good), auditor, nil, 400, "invalid", nil},
		{"a bad artifact digest", "GET", "/api/v1/artifacts/firmware.bin", auditor, nil, 400, "invalid", nil},
		{"put to a bad digest", "PUT", "/api/v1/blobs/sha256:zz", ci, []byte("x"), 400, "invalid", nil},
		{"a log index that is not a number", "GET", "/api/v1/log/proofs/first", auditor, nil, 400, "invalid", []string{"first"}},
		{"a negative log index", "GET", "/api/v1/log/proofs/-1", auditor, nil, 400, "invalid", nil},
		{"a log index beyond uint64", "GET", "/api/v1/log/proofs/18446744073709551616", auditor, nil, 400, "invalid", nil},
		{"soup without a purl", "GET", "/api/v1/soup", auditor, nil, 400, "invalid", []string{"purl"}},
		{"unknown route", "GET", "/api/v2/products", auditor, nil, 404, "not_found", []string{"/api/v2/products"}},
		{"unknown route, no token", "GET", "/admin", "", nil, 404, "not_found", nil},
		{"unknown method on a route", "DELETE", "/api/v1/blobs/" + good, ci, nil, 404, "not_found", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := l.request(t, tt.method, tt.path, tt.body, tt.token)
			// The path exactly as written: no cleaning, no re-encoding.
			req.URL.Opaque = "//" + req.URL.Host + strings.SplitN(tt.path, "?", 2)[0]
			resp, b := l.do(t, req)
			wantError(t, resp, b, tt.status, tt.code, tt.contains...)
			wantServing(t, l, ci)
		})
	}
}

// TestHeadBlob checks HEAD of a blob: its size and no content; errors
// without a body.
func TestHeadBlob(t *testing.T) {
	l := newLive(t)
	auditor := l.token(auth.RoleAuditor)
	mb, err := os.ReadFile(filepath.Join(l.dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		path   string
		token  string
		status int
		length int64
	}{
		{"stored", "/api/v1/blobs/" + l.req.Manifest.String(), auditor, 200, int64(len(mb))},
		{"not stored", "/api/v1/blobs/" + digest.FromBytes([]byte("nothing")).String(), auditor, 404, -1},
		{"bad digest", "/api/v1/blobs/sha256:abc", auditor, 400, -1},
		{"no token", "/api/v1/blobs/" + l.req.Manifest.String(), "", 401, -1},
		{"ci may not read", "/api/v1/blobs/" + l.req.Manifest.String(), l.token(auth.RoleCI), 403, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := l.do(t, l.request(t, http.MethodHead, tt.path, nil, tt.token))
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if len(b) != 0 {
				t.Errorf("HEAD answered with %d bytes of body", len(b))
			}
			if tt.length >= 0 && resp.ContentLength != tt.length {
				t.Errorf("Content-Length %d, want %d", resp.ContentLength, tt.length)
			}
			if tt.status >= 400 && resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q of an error, want application/json", resp.Header.Get("Content-Type"))
			}
		})
	}
}
