package fsblob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/evident-dev/evident/internal/blob"
	"github.com/evident-dev/evident/internal/blob/fsblob"
	"github.com/evident-dev/evident/internal/digest"
)

// chunked returns at most n bytes per Read.
type chunked struct {
	r io.Reader
	n int
}

func (c chunked) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

// FuzzPut puts content under a claimed digest and size, into a store with a
// size limit, read in chunks of any size, and checks that exactly the right
// uploads are stored and that a failure has the right kind.
func FuzzPut(f *testing.F) {
	f.Add([]byte("hello"), int64(5), false, uint16(0), uint8(255))
	f.Add([]byte("hello"), int64(-1), false, uint16(0), uint8(0))
	f.Add([]byte("hello"), int64(4), false, uint16(0), uint8(1))
	f.Add([]byte("hello"), int64(6), false, uint16(0), uint8(2))
	f.Add([]byte("hello"), int64(5), true, uint16(0), uint8(3))
	f.Add([]byte("hello"), int64(5), false, uint16(4), uint8(0))
	f.Add([]byte("hello"), int64(-1), false, uint16(4), uint8(0))
	f.Add([]byte("hello"), int64(-1), false, uint16(5), uint8(4))
	f.Add([]byte("hello"), int64(5), false, uint16(5), uint8(0))
	f.Add([]byte("hello, world"), int64(5), false, uint16(5), uint8(7))
	f.Add([]byte{}, int64(0), false, uint16(0), uint8(0))
	f.Add([]byte{}, int64(0), true, uint16(1), uint8(0))
	f.Fuzz(func(t *testing.T, content []byte, size int64, wrongDigest bool, maxSize uint16, chunk uint8) {
		s, _ := newStore(t, fsblob.Options{MaxSize: int64(maxSize)})
		n, max := int64(len(content)), int64(maxSize)
		d := digest.FromBytes(content)
		if wrongDigest {
			d = digest.FromBytes(append(content, '!'))
		}
		var want error // what the contract says must happen, in order of precedence
		switch {
		case max > 0 && size > max:
			want = blob.ErrTooLarge
		case size >= 0 && (n != size || wrongDigest):
			want = digest.ErrMismatch
		case size < 0 && max > 0 && n > max:
			want = blob.ErrTooLarge
		case wrongDigest:
			want = digest.ErrMismatch
		}
		err := s.Put(context.Background(), d, size, chunked{bytes.NewReader(content), int(chunk) + 1})
		if want == nil {
			if err != nil {
				t.Fatalf("Put(%d bytes, size %d, max %d): %v", n, size, max, err)
			}
			assertWalk(t, s, map[digest.Digest]int64{d: n})
			rc, _, err := s.Get(context.Background(), d)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			defer rc.Close()
			if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, content) {
				t.Fatalf("Get = %q, %v; want %q", got, err, content)
			}
			return
		}
		if !errors.Is(err, want) {
			t.Fatalf("Put(%d bytes, size %d, max %d, wrong digest %v): error %v; want one wrapping %v", n, size, max, wrongDigest, err, want)
		}
		assertWalk(t, s, nil)
	})
}
