package s3blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/evident-dev/evident/internal/blob"
	"github.com/evident-dev/evident/internal/blob/blobtest"
	"github.com/evident-dev/evident/internal/blob/s3blob"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/testutil"
)

// testPartSize is the smallest part S3 allows, so that the suite's large
// blob (LargeSize) goes up in three parts.
const testPartSize = s3blob.MinPartSize

func open(t testing.TB, url string, opts s3blob.Options) *s3blob.Store {
	t.Helper()
	if opts.PartSize == 0 {
		opts.PartSize = testPartSize
	}
	s, err := s3blob.Open(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// location returns a fresh location on the test server under prefix (a
// bucket of its own, or a fresh prefix of the bucket of
// EVIDENT_TEST_S3_URL, followed by prefix).
func location(t testing.TB, prefix string) s3blob.Location {
	t.Helper()
	loc, err := s3blob.ParseURL(testutil.S3(t))
	if err != nil {
		t.Fatal(err)
	}
	loc.Prefix = strings.Trim(loc.Prefix+"/"+prefix, "/")
	return loc
}

func TestConformance(t *testing.T) {
	blobtest.RunWith(t, func(t *testing.T) blob.Store {
		return open(t, location(t, "evident/blobs").String(), s3blob.Options{})
	}, blobtest.Options{LargeSize: 12<<20 + 7})
}

// hook is an http.RoundTripper that lets a test see, answer or damage the
// requests a store sends.
type hook struct {
	// fn is called with every request before it is sent; a non-nil
	// response is returned instead of sending it.
	fn   func(op string, req *http.Request) *http.Response
	mu   sync.Mutex
	seen []string // op of every request sent, in order
}

func (h *hook) RoundTrip(req *http.Request) (*http.Response, error) {
	op := operation(req)
	h.mu.Lock()
	h.seen = append(h.seen, op)
	h.mu.Unlock()
	if h.fn != nil {
		if resp := h.fn(op, req); resp != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return resp, nil
		}
	}
	return http.DefaultTransport.RoundTrip(req)
}

func (h *hook) client() *http.Client { return &http.Client{Transport: h} }

// count returns how many requests of op were sent.
func (h *hook) count(op string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, s := range h.seen {
		if s == op {
			n++
		}
	}
	return n
}

// operation names the S3 operation of an object request.
func operation(req *http.Request) string {
	q := req.URL.Query()
	switch {
	case req.Method == http.MethodPut && q.Has("partNumber"):
		return "UploadPart"
	case req.Method == http.MethodPut && q.Has("retention"):
		return "PutObjectRetention"
	case req.Method == http.MethodPut:
		return "PutObject"
	case req.Method == http.MethodPost && q.Has("uploads"):
		return "CreateMultipartUpload"
	case req.Method == http.MethodPost && q.Has("uploadId"):
		return "CompleteMultipartUpload"
	case req.Method == http.MethodDelete && q.Has("uploadId"):
		return "AbortMultipartUpload"
	case req.Method == http.MethodHead:
		return "Head"
	case req.Method == http.MethodGet && q.Has("list-type"):
		return "ListObjectsV2"
	case req.Method == http.MethodGet:
		return "GetObject"
	}
	return req.Method
}

// errorResponse is an S3 error answer.
func errorResponse(req *http.Request, status int, code string) *http.Response {
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>simulated</Message></Error>`, code)
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/xml"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// content is deterministic pseudo-random content of n bytes.
func content(seed uint64, n int64) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// scope returns the part of loc's bucket that the test owns: all of it when
// the bucket is the test's own, else the fresh prefix that testutil.S3 gave
// the test (named t-...) in the bucket of EVIDENT_TEST_S3_URL.
func scope(loc s3blob.Location) *string {
	segs := strings.Split(loc.Prefix, "/")
	for i := len(segs) - 1; i >= 0; i-- {
		if strings.HasPrefix(segs[i], "t-") {
			return aws.String(strings.Join(segs[:i+1], "/") + "/")
		}
	}
	return nil
}

// keys returns the keys of every object in the test's part of the
// location's bucket.
func keys(t testing.TB, loc s3blob.Location) []string {
	t.Helper()
	var ks []string
	pages := s3.NewListObjectsV2Paginator(testutil.S3Client(t), &s3.ListObjectsV2Input{Bucket: &loc.Bucket, Prefix: scope(loc)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list %s: %v", loc.Bucket, err)
		}
		for _, o := range page.Contents {
			ks = append(ks, aws.ToString(o.Key))
		}
	}
	return ks
}

// pendingUploads returns the keys of the multipart uploads in progress in
// the test's part of the location's bucket.
func pendingUploads(t testing.TB, loc s3blob.Location) []string {
	t.Helper()
	out, err := testutil.S3Client(t).ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &loc.Bucket, Prefix: scope(loc)})
	if err != nil {
		t.Fatalf("list multipart uploads in %s: %v", loc.Bucket, err)
	}
	var ks []string
	for _, u := range out.Uploads {
		ks = append(ks, aws.ToString(u.Key))
	}
	return ks
}

// assertNothingStored checks that the bucket holds no object and no upload.
func assertNothingStored(t testing.TB, loc s3blob.Location) {
	t.Helper()
	if ks := keys(t, loc); len(ks) > 0 {
		t.Errorf("objects left in the bucket: %v", ks)
	}
	if ks := pendingUploads(t, loc); len(ks) > 0 {
		t.Errorf("multipart uploads left pending: %v", ks)
	}
}

func key(loc s3blob.Location, d digest.Digest) string {
	k := "sha256/" + d.Hex()[:2] + "/" + d.Hex()
	if loc.Prefix != "" {
		k = loc.Prefix + "/" + k
	}
	return k
}

// failAfter returns err once n bytes have been read from r.
type failAfter struct {
	r   io.Reader
	n   int64
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

// cancelAfter cancels a context once n bytes have been read from r.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= int64(n); c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// A multipart upload that fails, whatever the reason, is aborted: no object
// and no pending upload is left.
func TestMultipartFailureAborts(t *testing.T) {
	const size = 2*testPartSize + 1000 // three parts
	data := content(1, size)
	d := digest.FromBytes(data)
	lastByteWrong := bytes.Clone(data)
	lastByteWrong[len(lastByteWrong)-1] ^= 1
	twoParts := content(2, testPartSize+10) // two parts, the last short
	twoPartsWrong := bytes.Clone(twoParts)
	twoPartsWrong[len(twoPartsWrong)-1] ^= 1
	errRead := errors.New("read failed")

	for _, tc := range []struct {
		name string
		d    digest.Digest
		size int64
		r    func(cancel context.CancelFunc) io.Reader
		want error
	}{
		{"wrong-digest", digest.FromBytes([]byte("other")), size,
			func(context.CancelFunc) io.Reader { return bytes.NewReader(data) }, digest.ErrMismatch},
		{"wrong-last-byte", d, size,
			func(context.CancelFunc) io.Reader { return bytes.NewReader(lastByteWrong) }, digest.ErrMismatch},
		{"two-parts-wrong-last-byte", digest.FromBytes(twoParts), -1,
			func(context.CancelFunc) io.Reader { return bytes.NewReader(twoPartsWrong) }, digest.ErrMismatch},
		{"wrong-last-byte-unknown-size", d, -1,
			func(context.CancelFunc) io.Reader { return bytes.NewReader(lastByteWrong) }, digest.ErrMismatch},
		{"shorter-than-announced", d, size + 1,
			func(context.CancelFunc) io.Reader { return bytes.NewReader(data) }, digest.ErrMismatch},
		{"longer-than-announced", d, size - 1,
			func(context.CancelFunc) io.Reader { return bytes.NewReader(data) }, digest.ErrMismatch},
		{"reader-fails-after-two-parts", d, size,
			func(context.CancelFunc) io.Reader {
				return &failAfter{bytes.NewReader(data), 2*testPartSize + 1, errRead}
			}, errRead},
		{"cancelled-after-one-part", d, size,
			func(cancel context.CancelFunc) io.Reader {
				return &cancelAfter{bytes.NewReader(data), testPartSize + 1, cancel}
			}, context.Canceled},
		{"cancelled-at-end", d, size,
			func(cancel context.CancelFunc) io.Reader { return &cancelAfter{bytes.NewReader(data), size, cancel} },
			context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			loc := location(t, "p")
			h := &hook{}
			s := open(t, loc.String(), s3blob.Options{HTTPClient: h.client()})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := s.Put(ctx, tc.d, tc.size, tc.r(cancel))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Put: error %v; want one wrapping %v", err, tc.want)
			}
			if h.count("UploadPart") == 0 {
				t.Errorf("no part was uploaded: the case does not test a multipart upload")
			}
			if n := h.count("AbortMultipartUpload"); n != 1 {
				t.Errorf("%d AbortMultipartUpload requests, want 1", n)
			}
			if n := h.count("CompleteMultipartUpload"); n != 0 {
				t.Errorf("%d CompleteMultipartUpload requests, want none", n)
			}
			assertNothingStored(t, loc)
		})
	}
}

// Every upload request carries the SHA-256 of its body, computed while
// verifying the content, as its signed payload hash and its checksum, and
// asks not to replace an existing object.
func TestRequestsCarryChecksums(t *testing.T) {
	loc := location(t, "")
	small := content(3, 1000)
	large := content(4, testPartSize+20)
	type sent struct{ payload, checksum, ifNoneMatch string }
	var mu sync.Mutex
	got := map[string][]sent{}
	h := &hook{fn: func(op string, req *http.Request) *http.Response {
		mu.Lock()
		defer mu.Unlock()
		got[op] = append(got[op], sent{
			req.Header.Get("X-Amz-Content-Sha256"), req.Header.Get("X-Amz-Checksum-Sha256"), req.Header.Get("If-None-Match"),
		})
		return nil
	}}
	s := open(t, loc.String(), s3blob.Options{HTTPClient: h.client()})
	for _, b := range [][]byte{small, large} {
		if err := s.Put(context.Background(), digest.FromBytes(b), int64(len(b)), bytes.NewReader(b)); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	sum := func(b []byte) sent {
		s := sha256.Sum256(b)
		return sent{hex.EncodeToString(s[:]), base64.StdEncoding.EncodeToString(s[:]), ""}
	}
	want := map[string][]sent{
		"PutObject":  {{sum(small).payload, sum(small).checksum, "*"}},
		"UploadPart": {sum(large[:testPartSize]), sum(large[testPartSize:])},
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want["PutObject"], got["PutObject"], cmp.AllowUnexported(sent{})); diff != "" {
		t.Errorf("PutObject headers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want["UploadPart"], got["UploadPart"], cmp.AllowUnexported(sent{})); diff != "" {
		t.Errorf("UploadPart headers (-want +got):\n%s", diff)
	}
	if c := got["CompleteMultipartUpload"]; len(c) != 1 || c[0].ifNoneMatch != "*" {
		t.Errorf("CompleteMultipartUpload requests %+v, want one with If-None-Match: *", c)
	}
}

// A body damaged between the store and the server is refused by the server
// (which checks it against the checksum and payload hash the store
// computed), and nothing is stored.
func TestServerRejectsDamagedBody(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int64
		op   string
	}{
		{"small", 70_000, "PutObject"},
		{"empty", 0, "PutObject"},
		{"multipart", testPartSize + 70_000, "UploadPart"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			loc := location(t, "")
			h := &hook{fn: func(op string, req *http.Request) *http.Response {
				if op != tc.op {
					return nil
				}
				var b []byte
				if req.Body != nil {
					var err error
					if b, err = io.ReadAll(req.Body); err != nil {
						return errorResponse(req, http.StatusBadRequest, "TestCannotRead")
					}
					req.Body.Close()
				}
				if len(b) == 0 {
					b = []byte{0} // one byte where none belongs
				} else {
					b[len(b)/2] ^= 0x01
				}
				// Damage what goes on the wire, with the headers as signed.
				req.Body = io.NopCloser(bytes.NewReader(b))
				req.ContentLength = int64(len(b))
				return nil
			}}
			s := open(t, loc.String(), s3blob.Options{HTTPClient: h.client()})
			data := content(5, tc.size)
			d := digest.FromBytes(data)
			err := s.Put(context.Background(), d, tc.size, bytes.NewReader(data))
			if err == nil {
				t.Fatalf("Put of a body damaged on the way succeeded")
			}
			var re interface{ HTTPStatusCode() int }
			if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusBadRequest {
				t.Errorf("Put: error %v; want the server's 400", err)
			}
			t.Logf("the server's answer: %v", err)
			assertNothingStored(t, loc)
		})
	}
}

// A stored object is never replaced: not by a Put of the same digest, not
// even when the stored object is damaged (fsck's business), whether the
// server supports conditional writes, is known not to, or says it does not.
func TestPutNeverReplaces(t *testing.T) {
	notImplemented := func(op string, req *http.Request) *http.Response {
		if req.Header.Get("If-None-Match") != "" {
			return errorResponse(req, http.StatusNotImplemented, "NotImplemented")
		}
		return nil
	}
	for _, mode := range []struct {
		name  string
		query string
		fn    func(op string, req *http.Request) *http.Response
	}{
		{"conditional", "", nil},
		{"conditional-writes=false", "&conditional-writes=false", nil},
		{"server-answers-501", "", notImplemented},
	} {
		for _, size := range []int64{1000, 2*testPartSize + 5} {
			t.Run(fmt.Sprintf("%s/%d", mode.name, size), func(t *testing.T) {
				t.Parallel()
				loc := location(t, "x")
				data := content(6, size)
				d := digest.FromBytes(data)
				planted := []byte("not the content")
				_, err := testutil.S3Client(t).PutObject(context.Background(), &s3.PutObjectInput{
					Bucket: &loc.Bucket, Key: aws.String(key(loc, d)), Body: bytes.NewReader(planted),
				})
				if err != nil {
					t.Fatal(err)
				}
				h := &hook{fn: mode.fn}
				s := open(t, loc.String()+mode.query, s3blob.Options{HTTPClient: h.client()})
				if err := s.Put(context.Background(), d, size, bytes.NewReader(data)); err != nil {
					t.Fatalf("Put of a stored digest: %v", err)
				}
				assertContent(t, loc, key(loc, d), planted)
				if n := h.count("UploadPart"); n != 0 {
					t.Errorf("%d parts uploaded for a blob already stored", n)
				}
				assertNothingPending(t, loc)
			})
		}
	}
}

// Two Puts of a large blob that race: the one that completes second finds
// the blob stored (412 from the server) and aborts its upload.
func TestPutRaceCompletes(t *testing.T) {
	loc := location(t, "")
	data := content(7, testPartSize+5)
	d := digest.FromBytes(data)
	planted := []byte("stored by the other Put")
	var once sync.Once
	h := &hook{fn: func(op string, req *http.Request) *http.Response {
		if op == "CompleteMultipartUpload" {
			once.Do(func() {
				// The other Put wins just before ours completes.
				_, err := testutil.S3Client(t).PutObject(context.Background(), &s3.PutObjectInput{
					Bucket: &loc.Bucket, Key: aws.String(key(loc, d)), Body: bytes.NewReader(planted),
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		return nil
	}}
	s := open(t, loc.String(), s3blob.Options{HTTPClient: h.client()})
	if err := s.Put(context.Background(), d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if h.count("CompleteMultipartUpload") != 1 || h.count("AbortMultipartUpload") != 1 {
		t.Errorf("requests %v; want a CompleteMultipartUpload refused, then an AbortMultipartUpload", h.seen)
	}
	assertContent(t, loc, key(loc, d), planted)
	assertNothingPending(t, loc)
}

// After a 501 answer to a conditional write the store stops asking for
// them.
func TestNotImplementedIsRemembered(t *testing.T) {
	loc := location(t, "")
	var conditional atomic.Int32
	h := &hook{fn: func(op string, req *http.Request) *http.Response {
		if req.Header.Get("If-None-Match") != "" {
			conditional.Add(1)
			return errorResponse(req, http.StatusNotImplemented, "NotImplemented")
		}
		return nil
	}}
	s := open(t, loc.String(), s3blob.Options{HTTPClient: h.client()})
	for i := range 3 {
		b := content(uint64(10+i), 100)
		if err := s.Put(context.Background(), digest.FromBytes(b), 100, bytes.NewReader(b)); err != nil {
			t.Fatalf("Put #%d: %v", i+1, err)
		}
		assertContent(t, loc, key(loc, digest.FromBytes(b)), b)
	}
	if n := conditional.Load(); n != 1 {
		t.Errorf("%d conditional writes sent, want 1 (the one answered 501)", n)
	}
}

func assertContent(t testing.TB, loc s3blob.Location, k string, want []byte) {
	t.Helper()
	out, err := testutil.S3Client(t).GetObject(context.Background(), &s3.GetObjectInput{Bucket: &loc.Bucket, Key: &k})
	if err != nil {
		t.Fatalf("get %s: %v", k, err)
	}
	defer out.Body.Close()
	got, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read %s: %v", k, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s holds %d bytes (%.20q...), want %d bytes (%.20q...)", k, len(got), got, len(want), want)
	}
}

func assertNothingPending(t testing.TB, loc s3blob.Location) {
	t.Helper()
	if ks := pendingUploads(t, loc); len(ks) > 0 {
		t.Errorf("multipart uploads left pending: %v", ks)
	}
}

// Content of at most PartSize bytes goes up in one PutObject when its size
// is known; anything else as a multipart upload with no empty part.
func TestPartBoundaries(t *testing.T) {
	for _, tc := range []struct {
		size  int64
		known bool
		parts int // 0: one PutObject
	}{
		{testPartSize - 1, true, 0},
		{testPartSize - 1, false, 0},
		{testPartSize, true, 0},
		{testPartSize, false, 1},
		{testPartSize + 1, true, 2},
		{testPartSize + 1, false, 2},
		{2 * testPartSize, false, 2},
	} {
		t.Run(fmt.Sprintf("%d/known=%v", tc.size, tc.known), func(t *testing.T) {
			t.Parallel()
			loc := location(t, "")
			h := &hook{}
			s := open(t, loc.String(), s3blob.Options{HTTPClient: h.client()})
			data := content(uint64(tc.size), tc.size)
			d := digest.FromBytes(data)
			size := tc.size
			if !tc.known {
				size = -1
			}
			if err := s.Put(context.Background(), d, size, bytes.NewReader(data)); err != nil {
				t.Fatalf("Put: %v", err)
			}
			puts, parts := h.count("PutObject"), h.count("UploadPart")
			if tc.parts == 0 && (puts != 1 || parts != 0) || tc.parts > 0 && (puts != 0 || parts != tc.parts) {
				t.Errorf("%d PutObject and %d UploadPart requests; want %d parts (0: one PutObject)", puts, parts, tc.parts)
			}
			assertContent(t, loc, key(loc, d), data)
			if n, err := s.Stat(context.Background(), d); err != nil || n != tc.size {
				t.Errorf("Stat = %d, %v; want %d", n, err, tc.size)
			}
		})
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestTooLarge(t *testing.T) {
	loc := location(t, "")
	const max = 1000
	limited := open(t, loc.String(), s3blob.Options{MaxSize: max})
	unlimited := open(t, loc.String(), s3blob.Options{})
	for _, tc := range []struct {
		name    string
		s       *s3blob.Store
		size    int64 // announced
		content int64
		maxRead int64
		endless bool
	}{
		{"announced-too-large", limited, max + 1, max + 1, 0, false},
		{"unknown-size-too-large", limited, -1, 10 * max, max + 1, false},
		{"endless-reader", limited, -1, 0, max + 1, true},
		{"more-parts-than-s3-allows", unlimited, 10_000*testPartSize + 1, 1, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(content(20, tc.content))
			if tc.endless {
				r = rand.NewChaCha8([32]byte{})
			}
			cr := &countingReader{r: r}
			err := tc.s.Put(context.Background(), digest.FromBytes(nil), tc.size, cr)
			if !errors.Is(err, blob.ErrTooLarge) {
				t.Fatalf("Put: error %v; want one wrapping blob.ErrTooLarge", err)
			}
			if cr.n > tc.maxRead {
				t.Errorf("Put read %d bytes, want at most %d", cr.n, tc.maxRead)
			}
		})
	}
	assertNothingStored(t, loc)
	// At the limit is not too large.
	b := content(21, max)
	if err := limited.Put(context.Background(), digest.FromBytes(b), -1, bytes.NewReader(b)); err != nil {
		t.Errorf("Put of MaxSize bytes: %v", err)
	}
}

// retainUntil is the retention date a Put at now gets with days.
func retainUntil(now time.Time, days int) time.Time {
	return now.UTC().Truncate(24*time.Hour).AddDate(0, 0, days+1)
}

// retention returns the Object Lock mode and date of key.
func retention(t testing.TB, loc s3blob.Location, k string) (types.ObjectLockMode, time.Time) {
	t.Helper()
	h, err := testutil.S3Client(t).HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &loc.Bucket, Key: &k})
	if err != nil {
		t.Fatalf("head %s: %v", k, err)
	}
	return h.ObjectLockMode, aws.ToTime(h.ObjectLockRetainUntilDate)
}

func TestObjectLock(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int64
		mode s3blob.RetentionMode
		want types.ObjectLockMode
	}{
		{"small", 1000, "", types.ObjectLockModeCompliance},
		{"multipart", testPartSize + 1, "", types.ObjectLockModeCompliance},
		{"governance", 1000, s3blob.Governance, types.ObjectLockModeGovernance},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := testutil.S3ObjectLock(t)
			loc, err := s3blob.ParseURL(url)
			if err != nil {
				t.Fatal(err)
			}
			s := open(t, url, s3blob.Options{RetainDays: 3, RetentionMode: tc.mode})
			data := content(30, tc.size)
			d := digest.FromBytes(data)
			before := time.Now()
			if err := s.Put(context.Background(), d, tc.size, bytes.NewReader(data)); err != nil {
				t.Fatalf("Put: %v", err)
			}
			after := time.Now()
			mode, until := retention(t, loc, key(loc, d))
			if mode != tc.want {
				t.Errorf("Object Lock mode %q, want %q", mode, tc.want)
			}
			if lo, hi := retainUntil(before, 3), retainUntil(after, 3); until.Before(lo) || until.After(hi) {
				t.Errorf("retained until %v, want %v", until, lo)
			}
			_, err = testutil.S3Client(t).DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: &loc.Bucket, Key: aws.String(key(loc, d))})
			if err == nil {
				t.Errorf("a retained blob was deleted")
			}
			assertContent(t, loc, key(loc, d), data)
		})
	}
}

// A Put of a blob already stored extends its retention to what a first Put
// would give it, and never shortens it.
func TestObjectLockExtended(t *testing.T) {
	for _, size := range []int64{1000, testPartSize + 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			url := testutil.S3ObjectLock(t)
			loc, err := s3blob.ParseURL(url)
			if err != nil {
				t.Fatal(err)
			}
			data := content(31, size)
			d := digest.FromBytes(data)
			k := key(loc, d)
			put := func(days int) *hook {
				t.Helper()
				h := &hook{}
				s := open(t, url, s3blob.Options{RetainDays: days, HTTPClient: h.client()})
				if err := s.Put(context.Background(), d, size, bytes.NewReader(data)); err != nil {
					t.Fatalf("Put with %d days: %v", days, err)
				}
				return h
			}
			put(1)
			_, short := retention(t, loc, k)
			if h := put(10); h.count("PutObjectRetention") != 1 {
				t.Errorf("%d PutObjectRetention requests extending 1 day to 10, want 1", h.count("PutObjectRetention"))
			}
			_, long := retention(t, loc, k)
			if got, want := long.Sub(short), 9*24*time.Hour; got != want {
				t.Errorf("the retention grew by %v, want %v", got, want)
			}
			if h := put(2); h.count("PutObjectRetention") != 0 {
				t.Errorf("PutObjectRetention sent although the retention is long enough")
			}
			if _, until := retention(t, loc, k); !until.Equal(long) {
				t.Errorf("retained until %v after a Put with fewer days, want %v (unchanged)", until, long)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	plain := location(t, "")
	missing := plain
	missing.Bucket = "no-such-bucket-" + strings.ToLower(plain.Bucket)
	for _, tc := range []struct {
		name string
		url  string
		opts s3blob.Options
		want []string // substrings of the error
	}{
		{"missing-bucket", missing.String(), s3blob.Options{},
			[]string{"does not exist", "aws s3api create-bucket --bucket " + missing.Bucket + " --endpoint-url " + missing.Endpoint}},
		{"missing-bucket-retention", missing.String(), s3blob.Options{RetainDays: 1},
			[]string{"does not exist", "--object-lock-enabled-for-bucket"}},
		{"retention-without-object-lock", plain.String(), s3blob.Options{RetainDays: 7},
			[]string{"needs Object Lock", plain.Bucket, "--object-lock-enabled-for-bucket"}},
		{"part-size-too-small", plain.String(), s3blob.Options{PartSize: s3blob.MinPartSize - 1}, []string{"PartSize"}},
		{"part-size-too-large", plain.String(), s3blob.Options{PartSize: s3blob.MaxPartSize + 1}, []string{"PartSize"}},
		{"negative-max-size", plain.String(), s3blob.Options{MaxSize: -1}, []string{"MaxSize"}},
		{"negative-retention", plain.String(), s3blob.Options{RetainDays: -1}, []string{"RetainDays"}},
		{"unknown-mode", plain.String(), s3blob.Options{RetainDays: 1, RetentionMode: "FOREVER"}, []string{`"FOREVER"`}},
		{"bad-url", "s3://x", s3blob.Options{}, []string{"bucket name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := s3blob.Open(context.Background(), tc.url, tc.opts)
			if err == nil {
				t.Fatalf("Open succeeded: %+v", s.Location())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open: error %q; want it to say %q", err, w)
				}
			}
		})
	}
}

// Credentials appear in no error: not those of the environment, not those
// wrongly put into a URL.
func TestCredentialsNotInErrors(t *testing.T) {
	base := testutil.S3(t) // sets the AWS environment first, if it starts the server
	const keyID, secret = "AKIAEVIDENTLEAKCHECK", "evident/secret+must-not-leak"
	t.Setenv("AWS_ACCESS_KEY_ID", keyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	loc, err := s3blob.ParseURL(base)
	if err != nil {
		t.Fatal(err)
	}
	withEndpointCreds := loc
	withEndpointCreds.Endpoint = strings.Replace(loc.Endpoint, "://", "://"+keyID+":"+url.QueryEscape(secret)+"@", 1)
	for _, tc := range []struct{ name, url string }{
		{"wrong-credentials", base},
		{"credentials-in-url", "s3://" + keyID + ":" + url.QueryEscape(secret) + "@" + loc.Bucket + "/p"},
		{"credentials-in-endpoint", withEndpointCreds.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s3blob.Open(context.Background(), tc.url, s3blob.Options{})
			if err == nil {
				t.Fatal("Open succeeded")
			}
			for _, s := range []string{keyID, secret, url.QueryEscape(secret)} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the error shows a credential: %v", err)
				}
			}
		})
	}
}

func TestWalkAndCheck(t *testing.T) {
	loc := location(t, "archive")
	s := open(t, loc.String(), s3blob.Options{})
	ctx := context.Background()
	want := map[digest.Digest]int64{}
	for i, size := range []int64{0, 10, testPartSize + 3} {
		b := content(uint64(40+i), size)
		d := digest.FromBytes(b)
		if err := s.Put(ctx, d, size, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		want[d] = size
	}
	d := digest.FromBytes([]byte("foreign"))
	wrongShard := "00"
	if d.Hex()[:2] == wrongShard {
		wrongShard = "01"
	}
	foreign := []string{
		"archive/README",
		"archive/sha256/" + d.Hex(),                               // no shard
		"archive/sha256/zz/" + d.Hex(),                            // not a shard
		"archive/sha256/" + wrongShard + "/" + d.Hex(),            // wrong shard
		"archive/sha256/" + d.Hex()[:2] + "/" + d.Hex()[:63],      // short
		"archive/sha256/" + d.Hex()[:2] + "/sha256:" + d.Hex(),    // prefixed
		"archive/sha256/" + d.Hex()[:2] + "/" + d.Hex() + ".part", // suffixed
	}
	outside := []string{"archived/x", "other/sha256/" + d.Hex()[:2] + "/" + d.Hex()}
	// Keys are relative to what holds "archive": the bucket, or the test's
	// own prefix in the bucket of EVIDENT_TEST_S3_URL.
	parent := strings.TrimSuffix(loc.Prefix, "archive")
	for i := range foreign {
		foreign[i] = parent + foreign[i]
	}
	for i := range outside {
		outside[i] = parent + outside[i]
	}
	for _, k := range append(foreign, outside...) {
		_, err := testutil.S3Client(t).PutObject(ctx, &s3.PutObjectInput{Bucket: &loc.Bucket, Key: aws.String(k), Body: strings.NewReader("foreign")})
		if err != nil {
			t.Fatal(err)
		}
	}

	got := map[digest.Digest]int64{}
	if err := s.Walk(ctx, func(d digest.Digest, size int64) error { got[d] = size; return nil }); err != nil {
		t.Fatalf("Walk: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}

	var reported []string
	err := s.Check(ctx, func(name string, err error) {
		if !errors.Is(err, s3blob.ErrForeign) {
			t.Errorf("Check(%s): error %v does not wrap ErrForeign", name, err)
		}
		reported = append(reported, name)
	})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	var wantReported []string
	for _, k := range foreign {
		wantReported = append(wantReported, "s3://"+loc.Bucket+"/"+k)
	}
	if diff := cmp.Diff(wantReported, reported, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("Check reported (-want +got):\n%s", diff)
	}
}

// Walk reads the listing a page at a time: with more blobs than one page
// holds it still reports each once.
func TestWalkPages(t *testing.T) {
	loc := location(t, "")
	s := open(t, loc.String(), s3blob.Options{})
	ctx := context.Background()
	want := map[digest.Digest]int64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range 1100 { // ListObjectsV2 returns at most 1000 keys a page
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			b := []byte(fmt.Sprint(i))
			d := digest.FromBytes(b)
			if err := s.Put(ctx, d, int64(len(b)), bytes.NewReader(b)); err != nil {
				t.Error(err)
			}
			mu.Lock()
			want[d] = int64(len(b))
			mu.Unlock()
		})
	}
	wg.Wait()
	got := map[digest.Digest]int64{}
	err := s.Walk(ctx, func(d digest.Digest, size int64) error {
		if _, dup := got[d]; dup {
			t.Errorf("Walk reported %s twice", d)
		}
		got[d] = size
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
}

func TestAbortStaleUploads(t *testing.T) {
	loc := location(t, "p")
	s := open(t, loc.String(), s3blob.Options{})
	ctx := context.Background()
	d := digest.FromBytes([]byte("abandoned"))
	elsewhere := aws.ToString(scope(loc)) + "elsewhere/upload" // outside the store's prefix
	for _, k := range []string{key(loc, d), elsewhere} {
		out, err := testutil.S3Client(t).CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &loc.Bucket, Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			testutil.S3Client(t).AbortMultipartUpload(context.Background(), &s3.AbortMultipartUploadInput{Bucket: &loc.Bucket, Key: aws.String(k), UploadId: out.UploadId})
		})
	}
	if n, err := s.AbortStaleUploads(ctx, time.Hour); err != nil || n != 0 {
		t.Errorf("AbortStaleUploads(1h) = %d, %v; want 0 uploads aborted (they are new)", n, err)
	}
	time.Sleep(10 * time.Millisecond)
	if n, err := s.AbortStaleUploads(ctx, time.Nanosecond); err != nil || n != 1 {
		t.Errorf("AbortStaleUploads(1ns) = %d, %v; want 1 upload aborted", n, err)
	}
	if diff := cmp.Diff([]string{elsewhere}, pendingUploads(t, loc)); diff != "" {
		t.Errorf("pending uploads (-want +got):\n%s", diff)
	}
}
