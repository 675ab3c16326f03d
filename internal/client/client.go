// Package client is the HTTP client of an evident archive. It implements
// api.Archive, so everything the CLI does against a server it could do
// in-process, and the archive's contract suite runs through it.
//
// Errors from the server come back as *evidence.Error with the kind the
// server reported, so callers classify them exactly as they would in-process.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/tlog"
)

// Client talks to one archive.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
	// UserAgent is sent with every request.
	UserAgent string
}

var _ api.Archive = (*Client)(nil)

// New returns a client for the archive at baseURL (http or https) using
// token. httpClient may be nil.
func New(baseURL, token string, httpClient *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, evidence.Errorf(evidence.KindInvalid, "server %q: want an http:// or https:// URL", baseURL)
	}
	if u.User != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "server URL must not carry credentials; use --token or EVIDENT_TOKEN")
	}
	if httpClient == nil {
		httpClient = &http.Client{Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 16,
			ResponseHeaderTimeout: 10 * time.Minute, IdleConnTimeout: 90 * time.Second,
		}}
	}
	return &Client{base: u, token: token, http: httpClient, UserAgent: "evident"}, nil
}

// URL returns the archive's base URL.
func (c *Client) URL() string { return c.base.String() }

func (c *Client) endpoint(p string, q url.Values) string {
	u := *c.base
	u.Path = u.Path + p
	u.RawPath = ""
	if q != nil {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// do sends a request and returns the response for a 2xx status, or the
// server's error.
func (c *Client) do(ctx context.Context, method, p string, q url.Values, body io.Reader, size int64, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(p, q), body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size // -1: unknown, sent chunked
		if size == 0 {
			req.Body = http.NoBody // else net/http takes 0 for unknown
		}
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("User-Agent", c.UserAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInternal, "%s %s: %w", method, c.base.Host, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, decodeError(resp)
}

// decodeError turns an error response into an *evidence.Error.
func decodeError(resp *http.Response) error {
	var body api.ErrorBody
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &body) != nil || body.Code == "" {
		return evidence.Errorf(kindOfStatus(resp.StatusCode), "server answered %s", resp.Status)
	}
	return &evidence.Error{Kind: evidence.Kind(body.Code), Message: body.Message}
}

func kindOfStatus(code int) evidence.Kind {
	switch code {
	case http.StatusBadRequest:
		return evidence.KindInvalid
	case http.StatusNotFound:
		return evidence.KindNotFound
	case http.StatusConflict:
		return evidence.KindConflict
	case http.StatusUnauthorized:
		return evidence.KindUnauthorized
	case http.StatusForbidden:
		return evidence.KindForbidden
	case http.StatusRequestEntityTooLarge:
		return evidence.KindTooLarge
	case http.StatusUnprocessableEntity:
		return evidence.KindVerification
	}
	return evidence.KindInternal
}

// getJSON GETs p and decodes the JSON answer into v.
func (c *Client) getJSON(ctx context.Context, p string, q url.Values, v any) error {
	resp, err := c.do(ctx, http.MethodGet, p, q, nil, 0, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeBody(resp, v)
}

func (c *Client) postJSON(ctx context.Context, p string, in, out any) (*http.Response, error) {
	b, err := json.Marshal(in)
	if err != nil {
		// The caller's input cannot be expressed (an empty digest).
		return nil, evidence.Errorf(evidence.KindInvalid, "request: %v", err)
	}
	resp, err := c.do(ctx, http.MethodPost, p, nil, bytes.NewReader(b), int64(len(b)), "application/json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return resp, decodeBody(resp, out)
}

// maxResponse bounds a JSON answer (a release with its manifest is the largest).
const maxResponse = evidence.MaxManifestSize + 1<<20

func decodeBody(resp *http.Response, v any) error {
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxResponse))
	if err := dec.Decode(v); err != nil {
		return evidence.Errorf(evidence.KindInternal, "reading the server's answer: %v", err)
	}
	return nil
}

// MissingBlobs implements api.Archive.
func (c *Client) MissingBlobs(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	var out struct {
		Missing []digest.Digest `json:"missing"`
	}
	_, err := c.postJSON(ctx, "/api/v1/blobs/missing", map[string]any{"digests": ds}, &out)
	return out.Missing, err
}

// blobPath is the path of a blob or artifact resource; an empty digest,
// which has no path, is bad input as it is in-process.
func blobPath(prefix string, d digest.Digest) (string, error) {
	if d.IsZero() {
		return "", evidence.Errorf(evidence.KindInvalid, "the digest is empty")
	}
	return prefix + d.String(), nil
}

// PutBlob implements api.Archive. With size < 0 the blob is sent chunked.
func (c *Client) PutBlob(ctx context.Context, d digest.Digest, size int64, r io.Reader) error {
	p, err := blobPath("/api/v1/blobs/", d)
	if err != nil {
		return err
	}
	if size < 0 {
		size = -1
	}
	resp, err := c.do(ctx, http.MethodPut, p, nil, r, size, "application/octet-stream")
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	return resp.Body.Close()
}

// GetBlob implements api.Archive. The content is verified against d while
// it is read: a reader reaching EOF has read exactly the requested blob.
func (c *Client) GetBlob(ctx context.Context, d digest.Digest) (io.ReadCloser, int64, error) {
	p, err := blobPath("/api/v1/blobs/", d)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.do(ctx, http.MethodGet, p, nil, nil, 0, "")
	if err != nil {
		return nil, 0, err
	}
	n := resp.ContentLength
	return readCloser{digest.NewVerifyingReader(resp.Body, d, n), resp.Body}, n, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// PushRelease implements api.Archive.
func (c *Client) PushRelease(ctx context.Context, req api.PushRequest) (*api.PushResult, error) {
	var out api.PushResult
	if _, err := c.postJSON(ctx, "/api/v1/releases", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func releasePath(ref evidence.ReleaseRef) string {
	return "/api/v1/products/" + url.PathEscape(ref.Product) + "/releases/" + url.PathEscape(ref.Version)
}

// Release implements api.Archive.
func (c *Client) Release(ctx context.Context, ref evidence.ReleaseRef) (*api.Release, error) {
	var out api.Release
	if err := c.getJSON(ctx, releasePath(ref), nil, &out); err != nil {
		return nil, err
	}
	if out.Manifest == nil {
		return nil, evidence.Errorf(evidence.KindInternal, "the server sent a release without a manifest")
	}
	return &out, nil
}

// History implements api.Archive.
func (c *Client) History(ctx context.Context, product string) ([]api.ReleaseSummary, error) {
	var out struct {
		Releases []api.ReleaseSummary `json:"releases"`
	}
	err := c.getJSON(ctx, "/api/v1/products/"+url.PathEscape(product)+"/releases", nil, &out)
	return out.Releases, err
}

// Products implements api.Archive.
func (c *Client) Products(ctx context.Context) ([]api.Product, error) {
	var out struct {
		Products []api.Product `json:"products"`
	}
	err := c.getJSON(ctx, "/api/v1/products", nil, &out)
	return out.Products, err
}

// FindArtifact implements api.Archive.
func (c *Client) FindArtifact(ctx context.Context, d digest.Digest) ([]api.ArtifactHit, error) {
	var out struct {
		Hits []api.ArtifactHit `json:"hits"`
	}
	p, err := blobPath("/api/v1/artifacts/", d)
	if err != nil {
		return nil, err
	}
	err = c.getJSON(ctx, p, nil, &out)
	return out.Hits, err
}

// FindComponent implements api.Archive.
func (c *Client) FindComponent(ctx context.Context, name, version string) ([]api.ComponentHit, error) {
	var out struct {
		Hits []api.ComponentHit `json:"hits"`
	}
	err := c.getJSON(ctx, "/api/v1/components/"+url.PathEscape(name)+"/versions/"+url.PathEscape(version), nil, &out)
	return out.Hits, err
}

// FindSOUP implements api.Archive.
func (c *Client) FindSOUP(ctx context.Context, purl string) ([]api.SOUPHit, error) {
	var out struct {
		Hits []api.SOUPHit `json:"hits"`
	}
	err := c.getJSON(ctx, "/api/v1/soup", url.Values{"purl": {purl}}, &out)
	return out.Hits, err
}

// Export implements api.Archive.
func (c *Client) Export(ctx context.Context, ref evidence.ReleaseRef, w io.Writer) error {
	resp, err := c.do(ctx, http.MethodGet, releasePath(ref)+"/pack", nil, nil, 0, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return evidence.Errorf(evidence.KindInternal, "download of the audit pack broke off after %d bytes: %v", n, err)
	}
	return nil
}

// SubmitApproval implements api.Archive.
func (c *Client) SubmitApproval(ctx context.Context, bundleJSON []byte) (*api.ApprovalResult, error) {
	resp, err := c.do(ctx, http.MethodPost, "/api/v1/approvals", nil, bytes.NewReader(bundleJSON), int64(len(bundleJSON)), "application/json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out api.ApprovalResult
	if err := decodeBody(resp, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Status implements api.Archive.
func (c *Client) Status(ctx context.Context, ref evidence.ReleaseRef) (*api.ReleaseStatus, error) {
	var out api.ReleaseStatus
	if err := c.getJSON(ctx, releasePath(ref)+"/status", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LogInfo implements api.Archive.
func (c *Client) LogInfo(ctx context.Context) (*api.LogInfo, error) {
	var out api.LogInfo
	if err := c.getJSON(ctx, "/api/v1/log", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LogProof implements api.Archive.
func (c *Client) LogProof(ctx context.Context, index uint64) (*tlog.Proof, error) {
	var out tlog.Proof
	if err := c.getJSON(ctx, "/api/v1/log/proofs/"+strconv.FormatUint(index, 10), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
