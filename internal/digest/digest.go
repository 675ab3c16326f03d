// Package digest is evident's content address: a SHA-256 digest printed as
// "sha256:<64 lowercase hex>", plus readers that compute or verify one while
// streaming so that no caller ever needs to hold content in memory.
//
// Only SHA-256 exists. Every other package names content through this type, so
// the algorithm is decided in exactly one place.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
)

// Algorithm is the only supported algorithm name.
const Algorithm = "sha256"

const prefix = Algorithm + ":"

// Digest is a SHA-256 content address. The zero value is invalid; use Parse,
// FromBytes or a Hasher to make one.
type Digest struct {
	sum [sha256.Size]byte
	ok  bool
}

// ErrMismatch is returned (wrapped) when content does not hash to the digest
// that was claimed for it.
var ErrMismatch = errors.New("digest mismatch")

// Parse accepts "sha256:<hex>" and, for convenience at the edges, a bare
// 64-character hex string. Upper-case hex is rejected so that a digest has
// exactly one spelling.
func Parse(s string) (Digest, error) {
	h := strings.TrimPrefix(s, prefix)
	if strings.Contains(h, ":") {
		return Digest{}, fmt.Errorf("digest %q: only %s is supported", s, Algorithm)
	}
	if len(h) != hex.EncodedLen(sha256.Size) {
		return Digest{}, fmt.Errorf("digest %q: want %d hex characters after %q", s, hex.EncodedLen(sha256.Size), prefix)
	}
	if strings.ToLower(h) != h {
		return Digest{}, fmt.Errorf("digest %q: hex must be lower case", s)
	}
	var d Digest
	if _, err := hex.Decode(d.sum[:], []byte(h)); err != nil {
		return Digest{}, fmt.Errorf("digest %q: %w", s, err)
	}
	d.ok = true
	return d, nil
}

// MustParse is Parse for constants in tests; it panics on a bad digest.
func MustParse(s string) Digest {
	d, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

// FromBytes returns the digest of b.
func FromBytes(b []byte) Digest {
	return Digest{sum: sha256.Sum256(b), ok: true}
}

// FromReader hashes r to its end and returns the digest and byte count.
func FromReader(r io.Reader) (Digest, int64, error) {
	h := NewHasher()
	n, err := io.Copy(h, r)
	if err != nil {
		return Digest{}, n, err
	}
	return h.Digest(), n, nil
}

// FromFile hashes the regular file at path.
func FromFile(path string) (Digest, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return Digest{}, 0, err
	}
	defer f.Close()
	d, n, err := FromReader(f)
	if err != nil {
		return Digest{}, n, fmt.Errorf("hash %s: %w", path, err)
	}
	return d, n, nil
}

// IsZero reports whether d is the invalid zero value.
func (d Digest) IsZero() bool { return !d.ok }

// String returns "sha256:<hex>", or "" for the zero value.
func (d Digest) String() string {
	if !d.ok {
		return ""
	}
	return prefix + hex.EncodeToString(d.sum[:])
}

// Hex returns the 64 hex characters without the algorithm prefix.
func (d Digest) Hex() string {
	if !d.ok {
		return ""
	}
	return hex.EncodeToString(d.sum[:])
}

// Bytes returns a copy of the raw 32-byte sum.
func (d Digest) Bytes() []byte { return append([]byte(nil), d.sum[:]...) }

// MarshalText implements encoding.TextMarshaler; the zero value is an error so
// that an unset digest is never written into a record.
func (d Digest) MarshalText() ([]byte, error) {
	if !d.ok {
		return nil, errors.New("digest: zero value")
	}
	return []byte(d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler, requiring the prefix.
func (d *Digest) UnmarshalText(b []byte) error {
	if !strings.HasPrefix(string(b), prefix) {
		return fmt.Errorf("digest %q: want %q prefix", b, prefix)
	}
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// Hasher computes a digest of everything written to it.
type Hasher struct{ h hash.Hash }

// NewHasher returns an empty Hasher.
func NewHasher() *Hasher { return &Hasher{h: sha256.New()} }

// Write never fails.
func (h *Hasher) Write(p []byte) (int, error) { return h.h.Write(p) }

// Digest returns the digest of what was written so far.
func (h *Hasher) Digest() Digest {
	var d Digest
	copy(d.sum[:], h.h.Sum(nil))
	d.ok = true
	return d
}

// VerifyingReader passes through reads from an underlying reader and, at EOF,
// returns an error wrapping ErrMismatch instead of io.EOF when the content did
// not hash to the expected digest (or, when a size is expected, had a
// different length). A consumer that stores what it reads must therefore treat
// content as valid only after it has seen io.EOF.
type VerifyingReader struct {
	r        io.Reader
	h        *Hasher
	want     Digest
	wantSize int64 // -1: unknown
	n        int64
	err      error
}

// NewVerifyingReader verifies r against want. size < 0 means "any length".
// Reading beyond size bytes fails immediately, so a lying client cannot make
// a server read more than it announced.
func NewVerifyingReader(r io.Reader, want Digest, size int64) *VerifyingReader {
	return &VerifyingReader{r: r, h: NewHasher(), want: want, wantSize: size}
}

func (v *VerifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if rest := v.wantSize - v.n; v.wantSize >= 0 && rest < int64(len(p)) {
		// Read at most one byte past the announced size: enough to detect an
		// overlong body without consuming an unbounded one. (rest is never
		// negative here, and comparing it, not rest+1, cannot overflow.)
		p = p[:rest+1]
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	v.h.Write(p[:n])
	if v.wantSize >= 0 && v.n > v.wantSize {
		v.err = fmt.Errorf("%w: content for %s is longer than %d bytes", ErrMismatch, v.want, v.wantSize)
		return 0, v.err
	}
	if err == io.EOF {
		if v.wantSize >= 0 && v.n != v.wantSize {
			v.err = fmt.Errorf("%w: content for %s has %d bytes, want %d", ErrMismatch, v.want, v.n, v.wantSize)
			return n, v.err
		}
		if got := v.h.Digest(); got != v.want {
			v.err = fmt.Errorf("%w: content hashes to %s, want %s", ErrMismatch, got, v.want)
			return n, v.err
		}
		v.err = io.EOF
	} else if err != nil {
		v.err = err
	}
	return n, err
}

// N returns the number of bytes read so far.
func (v *VerifyingReader) N() int64 { return v.n }
