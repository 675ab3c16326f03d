package digest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/evident-dev/evident/internal/digest"
)

// Known SHA-256 values (FIPS 180-2 examples).
const (
	emptyHex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	abcHex   = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
)

func TestFromBytesKnownValues(t *testing.T) {
	for in, want := range map[string]string{"": emptyHex, "abc": abcHex} {
		if got := digest.FromBytes([]byte(in)).String(); got != "sha256:"+want {
			t.Errorf("FromBytes(%q) = %s, want sha256:%s", in, got, want)
		}
	}
}

func TestParseStringRoundTrip(t *testing.T) {
	for _, s := range []string{"sha256:" + emptyHex, "sha256:" + abcHex, "sha256:" + strings.Repeat("0", 64), "sha256:" + strings.Repeat("f", 64)} {
		d, err := digest.Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if d.String() != s {
			t.Errorf("Parse(%q).String() = %q", s, d.String())
		}
		if d.Hex() != strings.TrimPrefix(s, "sha256:") {
			t.Errorf("Hex() = %q", d.Hex())
		}
		again, err := digest.Parse(d.String())
		if err != nil || again != d {
			t.Errorf("Parse(String()) = %v, %v; want the same digest", again, err)
		}
		if d.IsZero() {
			t.Error("a parsed digest is zero")
		}
	}
}

func TestParseBareHex(t *testing.T) {
	d, err := digest.Parse(abcHex)
	if err != nil {
		t.Fatal(err)
	}
	if d != digest.FromBytes([]byte("abc")) {
		t.Errorf("Parse(bare hex) = %s, want the digest of abc", d)
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "want 64 hex characters"},
		{"prefix only", "sha256:", "want 64 hex characters"},
		{"upper-case hex", "sha256:" + strings.ToUpper(abcHex), "hex must be lower case"},
		{"mixed-case hex", "sha256:B" + abcHex[1:], "hex must be lower case"},
		{"upper-case bare hex", strings.ToUpper(abcHex), "hex must be lower case"},
		{"upper-case algorithm", "SHA256:" + abcHex, "only sha256 is supported"},
		{"other algorithm", "sha512:" + strings.Repeat("ab", 64), "only sha256 is supported"},
		{"md5", "md5:d41d8cd98f00b204e9800998ecf8427e", "only sha256 is supported"},
		{"double prefix", "sha256:sha256:" + abcHex, "only sha256 is supported"},
		{"one short", "sha256:" + abcHex[:63], "want 64 hex characters"},
		{"one long", "sha256:" + abcHex + "0", "want 64 hex characters"},
		{"not hex", "sha256:" + strings.Repeat("g", 64), "invalid byte"},
		{"space", "sha256: " + abcHex[1:], "invalid byte"},
		{"leading space", " sha256:" + abcHex, "only sha256"},
		{"multi-byte runes", "sha256:" + strings.Repeat("é", 32), "invalid byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := digest.Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want an error", tc.in, d)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
			if !d.IsZero() {
				t.Error("a failed Parse returned a non-zero digest")
			}
		})
	}
}

func TestZeroValue(t *testing.T) {
	var z digest.Digest
	if !z.IsZero() || z.String() != "" || z.Hex() != "" {
		t.Errorf("zero value: IsZero %t, String %q, Hex %q", z.IsZero(), z.String(), z.Hex())
	}
	if b, err := z.MarshalText(); err == nil {
		t.Errorf("MarshalText of the zero value = %q, want an error", b)
	}
	// An unset digest can never reach a record.
	if b, err := json.Marshal(struct{ D digest.Digest }{}); err == nil {
		t.Errorf("json.Marshal with a zero digest = %s, want an error", b)
	}
	// A digest of all zero bytes is a real digest, not the zero value.
	allZero := digest.MustParse("sha256:" + strings.Repeat("0", 64))
	if allZero.IsZero() || allZero == z {
		t.Error("sha256:000... is treated as the zero value")
	}
}

func TestTextRoundTrip(t *testing.T) {
	d := digest.FromBytes([]byte("abc"))
	b, err := json.Marshal(map[string]digest.Digest{"d": d})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"d":"sha256:` + abcHex + `"}`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	var back map[string]digest.Digest
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["d"] != d {
		t.Errorf("round trip = %s, want %s", back["d"], d)
	}
}

func TestUnmarshalTextRequiresPrefix(t *testing.T) {
	for _, in := range []string{abcHex, "", "sha256:" + strings.ToUpper(abcHex), "sha256:abc"} {
		var d digest.Digest
		if err := d.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("UnmarshalText(%q) = %s, want an error", in, d)
		}
	}
}

func TestBytesIsACopy(t *testing.T) {
	d := digest.FromBytes([]byte("abc"))
	b := d.Bytes()
	if len(b) != 32 {
		t.Fatalf("len(Bytes()) = %d", len(b))
	}
	b[0] ^= 0xff
	if d.Hex() != abcHex {
		t.Error("changing Bytes() changed the digest")
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse of a bad digest did not panic")
		}
	}()
	digest.MustParse("sha256:abc")
}

func TestFromReaderAndFile(t *testing.T) {
	content := bytes.Repeat([]byte("evident "), 10000)
	want := digest.FromBytes(content)

	d, n, err := digest.FromReader(iotest.OneByteReader(bytes.NewReader(content)))
	if err != nil || d != want || n != int64(len(content)) {
		t.Errorf("FromReader = %s, %d, %v; want %s, %d", d, n, err, want, len(content))
	}

	p := filepath.Join(t.TempDir(), "f.bin")
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	d, n, err = digest.FromFile(p)
	if err != nil || d != want || n != int64(len(content)) {
		t.Errorf("FromFile = %s, %d, %v; want %s, %d", d, n, err, want, len(content))
	}
	if _, _, err := digest.FromFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("FromFile(missing) error = %v, want not-exist", err)
	}

	boom := errors.New("boom")
	if _, _, err := digest.FromReader(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("FromReader of a failing reader: %v, want boom", err)
	}
}

func TestHasher(t *testing.T) {
	h := digest.NewHasher()
	if h.Digest().Hex() != emptyHex {
		t.Errorf("empty Hasher = %s", h.Digest())
	}
	io.WriteString(h, "a")
	io.WriteString(h, "bc")
	if h.Digest().Hex() != abcHex {
		t.Errorf("Hasher(a, bc) = %s, want the digest of abc", h.Digest())
	}
}

// countingReader counts the bytes it hands out.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// endless is an infinite source of 'x'.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestVerifyingReader(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789"), 10000) // 100,000 bytes
	d := digest.FromBytes(content)
	changed := bytes.Clone(content)
	changed[len(changed)/2] ^= 1
	longer := append(bytes.Clone(content), 'x')
	size := int64(len(content))
	plain := func(r io.Reader) io.Reader { return r }

	for _, tc := range []struct {
		name    string
		data    []byte
		wrap    func(io.Reader) io.Reader
		want    digest.Digest
		size    int64
		wantErr string // "" for success
	}{
		{"exact content, size known", content, plain, d, size, ""},
		{"exact content, size unknown", content, plain, d, -1, ""},
		{"exact content, one byte per read", content, iotest.OneByteReader, d, size, ""},
		{"exact content, EOF with the last data", content, iotest.DataErrReader, d, size, ""},
		{"empty content", nil, plain, digest.FromBytes(nil), 0, ""},
		{"one byte changed", changed, plain, d, size, "content hashes to " + digest.FromBytes(changed).String() + ", want " + d.String()},
		{"one byte changed, size unknown", changed, plain, d, -1, "content hashes to"},
		{"one byte changed, EOF with the last data", changed, iotest.DataErrReader, d, size, "content hashes to"},
		{"shorter than the size", content[:size-1], plain, d, size, "has 99999 bytes, want 100000"},
		{"shorter, size unknown", content[:size-1], plain, d, -1, "content hashes to"},
		{"empty, size announced", nil, plain, d, size, "has 0 bytes, want 100000"},
		{"longer than the size", longer, plain, d, size, "is longer than 100000 bytes"},
		{"longer, one byte per read", longer, iotest.OneByteReader, d, size, "is longer than 100000 bytes"},
		{"content for size 0", []byte("x"), plain, digest.FromBytes(nil), 0, "is longer than 0 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vr := digest.NewVerifyingReader(tc.wrap(bytes.NewReader(tc.data)), tc.want, tc.size)
			got, err := io.ReadAll(vr)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ReadAll: %v", err)
				}
				if !bytes.Equal(got, tc.data) {
					t.Errorf("read %d bytes, want the %d of the content", len(got), len(tc.data))
				}
				if vr.N() != int64(len(tc.data)) {
					t.Errorf("N() = %d, want %d", vr.N(), len(tc.data))
				}
				if n, err := vr.Read(make([]byte, 10)); n != 0 || err != io.EOF {
					t.Errorf("Read after EOF = %d, %v; want 0, EOF", n, err)
				}
				return
			}
			if !errors.Is(err, digest.ErrMismatch) {
				t.Fatalf("err = %v, want ErrMismatch", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q lacks %q", err, tc.wantErr)
			}
			if tc.size >= 0 && int64(len(got)) > tc.size {
				t.Errorf("passed %d bytes through, more than the %d announced", len(got), tc.size)
			}
			// The error is sticky: a retry cannot turn it into success.
			if n, again := vr.Read(make([]byte, 10)); n != 0 || !errors.Is(again, digest.ErrMismatch) {
				t.Errorf("Read after the error = %d, %v; want 0, ErrMismatch", n, again)
			}
		})
	}
}

// TestVerifyingReaderMismatchOnlyAtEOF: content is passed through as it is
// read, and only EOF reveals a bad digest; a consumer that stops early sees
// no error and must not treat the content as verified.
func TestVerifyingReaderMismatchOnlyAtEOF(t *testing.T) {
	vr := digest.NewVerifyingReader(bytes.NewReader([]byte("abcdef")), digest.FromBytes([]byte("other!")), 6)
	buf := make([]byte, 3)
	if n, err := io.ReadFull(vr, buf); n != 3 || err != nil {
		t.Fatalf("first read = %d, %v", n, err)
	}
	if string(buf) != "abc" {
		t.Errorf("data = %q", buf)
	}
	if _, err := io.ReadAll(vr); !errors.Is(err, digest.ErrMismatch) {
		t.Errorf("at EOF: %v, want ErrMismatch", err)
	}
}

// TestVerifyingReaderBoundsOverlongInput: a body longer than announced is
// refused after at most size+1 bytes, however long it is.
func TestVerifyingReaderBoundsOverlongInput(t *testing.T) {
	for _, size := range []int64{0, 1, 10, 32 << 10, 32<<10 + 1, 1 << 20} {
		src := &countingReader{r: endless{}}
		vr := digest.NewVerifyingReader(src, digest.FromBytes(nil), size)
		n, err := io.Copy(io.Discard, vr)
		if !errors.Is(err, digest.ErrMismatch) || !strings.Contains(err.Error(), "is longer than") {
			t.Errorf("size %d: err = %v, want a too-long mismatch", size, err)
		}
		if src.n > size+1 {
			t.Errorf("size %d: read %d bytes from the source, want at most %d", size, src.n, size+1)
		}
		if n > size {
			t.Errorf("size %d: passed %d bytes through", size, n)
		}
	}
}

// TestVerifyingReaderHugeSize: a size near the int64 limit (a lying
// manifest) must not break the bounds arithmetic.
func TestVerifyingReaderHugeSize(t *testing.T) {
	content := []byte("evidence")
	for _, size := range []int64{math.MaxInt64, math.MaxInt64 - 1} {
		vr := digest.NewVerifyingReader(bytes.NewReader(content), digest.FromBytes(content), size)
		_, err := io.ReadAll(vr)
		if !errors.Is(err, digest.ErrMismatch) || !strings.Contains(err.Error(), "has 8 bytes") {
			t.Errorf("size %d: err = %v, want a length mismatch", size, err)
		}
	}
}

func TestVerifyingReaderPassesReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(bytes.NewReader([]byte("abc")), iotest.ErrReader(boom))
	vr := digest.NewVerifyingReader(r, digest.FromBytes([]byte("abc")), -1)
	got, err := io.ReadAll(vr)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the source's error", err)
	}
	if errors.Is(err, digest.ErrMismatch) {
		t.Error("a read error is reported as a mismatch")
	}
	if string(got) != "abc" {
		t.Errorf("data = %q", got)
	}
	if _, again := vr.Read(make([]byte, 1)); !errors.Is(again, boom) {
		t.Errorf("the error is not sticky: %v", again)
	}
}
