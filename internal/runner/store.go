package runner

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

// Layout of a sealed release directory. Evidence files are stored under
// their digest, so a directory (or an audit pack) can hold each file once
// however many components or names refer to it.
const (
	ManifestFile = "manifest.json"
	BundleFile   = "bundle.sigstore.json"
	EvidenceDir  = "evidence"
)

// EvidencePath returns the path of an evidence blob relative to a release
// directory: evidence/sha256/<hex>.
func EvidencePath(d digest.Digest) string {
	return filepath.Join(EvidenceDir, digest.Algorithm, d.Hex())
}

// store writes content-addressed files into a staging directory. Each file is
// streamed to a temporary name while it is hashed, synced, then renamed to
// its digest; a file already present is left alone.
type store struct {
	root string
}

func newStore(root string) (*store, error) {
	if err := os.MkdirAll(filepath.Join(root, EvidenceDir, digest.Algorithm), 0o755); err != nil {
		return nil, err
	}
	return &store{root: root}, nil
}

// put copies r into the store and returns its digest and size. When consume
// is not nil it reads the same bytes as they are copied (a tee), so a file is
// read once to be both parsed and archived; whatever consume leaves unread is
// still copied.
func (s *store) put(r io.Reader, consume func(io.Reader) error) (digest.Digest, int64, error) {
	tmp, err := os.CreateTemp(filepath.Join(s.root, EvidenceDir), ".put-*")
	if err != nil {
		return digest.Digest{}, 0, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	defer tmp.Close()

	h := digest.NewHasher()
	cw := &countWriter{}
	tee := io.TeeReader(r, io.MultiWriter(tmp, h, cw))
	if consume != nil {
		if err := consume(tee); err != nil {
			return digest.Digest{}, 0, err
		}
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return digest.Digest{}, 0, err
	}
	if err := tmp.Sync(); err != nil {
		return digest.Digest{}, 0, err
	}
	if err := tmp.Close(); err != nil {
		return digest.Digest{}, 0, err
	}
	d := h.Digest()
	dst := filepath.Join(s.root, EvidencePath(d))
	if _, err := os.Stat(dst); err == nil {
		return d, cw.n, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return digest.Digest{}, 0, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return digest.Digest{}, 0, fmt.Errorf("store evidence %s: %w", d, err)
	}
	return d, cw.n, nil
}

// putFile opens path and puts it.
func (s *store) putFile(path string, consume func(io.Reader) error) (digest.Digest, int64, error) {
	return s.putPath(path, consume, false)
}

// putText is putFile for evidence that is parsed as text (JUnit XML, go
// test JSON, CycloneDX JSON or XML, anomaly YAML or JSON): a NUL byte, which
// none of these formats allows anywhere, fails the file as soon as it is
// read. Without this a sparse or zero-filled file would be read to its end
// before a parser complained — encoding/xml collects a whole text run in
// memory before it checks its characters, so a 2 GiB hole became 2 GiB of
// heap and as much disk in the staging directory.
func (s *store) putText(path string, consume func(io.Reader) error) (digest.Digest, int64, error) {
	return s.putPath(path, consume, true)
}

func (s *store) putPath(path string, consume func(io.Reader) error, text bool) (digest.Digest, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return digest.Digest{}, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return digest.Digest{}, 0, err
	}
	if !st.Mode().IsRegular() {
		return digest.Digest{}, 0, errors.New("not a regular file")
	}
	if !text {
		return s.put(f, consume)
	}
	tr := &textReader{r: f}
	d, n, err := s.put(tr, consume)
	if tr.err != nil {
		// Whatever the parser made of the failed read, this is the cause.
		return digest.Digest{}, 0, tr.err
	}
	return d, n, err
}

// textReader passes a text file through and fails at its first NUL byte.
type textReader struct {
	r   io.Reader
	off int64
	err error
}

func (t *textReader) Read(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	n, err := t.r.Read(p)
	if i := bytes.IndexByte(p[:n], 0); i >= 0 {
		t.err = evidence.Errorf(evidence.KindInvalid, "byte %d is a NUL byte: not a text file (a binary, sparse or zero-padded file?)", t.off+int64(i))
		t.off += int64(i)
		return i, t.err
	}
	t.off += int64(n)
	return n, err
}

// writer returns a writer whose content becomes a stored file on commit.
func (s *store) writer() (*blobWriter, error) {
	tmp, err := os.CreateTemp(filepath.Join(s.root, EvidenceDir), ".put-*")
	if err != nil {
		return nil, err
	}
	return &blobWriter{s: s, f: tmp, h: digest.NewHasher()}, nil
}

type blobWriter struct {
	s *store
	f *os.File
	h *digest.Hasher
	n int64
}

func (w *blobWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// commit finishes the file and returns its digest and size.
func (w *blobWriter) commit() (digest.Digest, int64, error) {
	defer os.Remove(w.f.Name())
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return digest.Digest{}, 0, err
	}
	if err := w.f.Close(); err != nil {
		return digest.Digest{}, 0, err
	}
	d := w.h.Digest()
	dst := filepath.Join(w.s.root, EvidencePath(d))
	if _, err := os.Stat(dst); err == nil {
		return d, w.n, nil
	}
	if err := os.Rename(w.f.Name(), dst); err != nil {
		return digest.Digest{}, 0, err
	}
	return d, w.n, nil
}

// abort discards the file.
func (w *blobWriter) abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// writeFileSync writes b to path and syncs it.
func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir fsyncs a directory so that a rename into it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
