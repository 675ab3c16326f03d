package pack

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/evident-dev/evident/internal/digest"
)

// Pack is an opened audit pack: an index of its tar entries, readable as an
// fs.FS without extracting anything.
type Pack struct {
	r       io.ReaderAt
	entries map[string]entry
	order   []string
	dirs    map[string][]string // directory -> sorted child names
}

type entry struct {
	off, size int64
}

// MaxIndexSize bounds the signed index.
const MaxIndexSize = 16 << 20

// Open reads the tar headers of a pack of size bytes. It accepts only
// regular files with clean names, each once, and PACK.sig first; nothing is
// verified yet (see Verify).
func Open(r io.ReaderAt, size int64) (*Pack, error) {
	sr := io.NewSectionReader(r, 0, size)
	tr := tar.NewReader(sr)
	p := &Pack{r: r, entries: map[string]entry{}, dirs: map[string][]string{}}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not a readable audit pack (tar): %v", err)
		}
		if h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("pack entry %q is not a regular file", h.Name)
		}
		if err := checkName(h.Name); err != nil {
			return nil, err
		}
		if _, dup := p.entries[h.Name]; dup {
			return nil, fmt.Errorf("pack entry %q appears twice", h.Name)
		}
		if len(p.order) == 0 && h.Name != IndexFile {
			return nil, fmt.Errorf("pack does not start with %s", IndexFile)
		}
		if len(p.order) >= MaxEntries {
			return nil, fmt.Errorf("pack has more than %d entries", MaxEntries)
		}
		off, err := sr.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		if h.Size < 0 || off+h.Size > size {
			return nil, fmt.Errorf("pack entry %q is truncated", h.Name)
		}
		p.entries[h.Name] = entry{off: off, size: h.Size}
		p.order = append(p.order, h.Name)
		p.addDirs(h.Name)
	}
	if len(p.order) == 0 {
		return nil, errors.New("the pack is empty")
	}
	for d := range p.dirs {
		sort.Strings(p.dirs[d])
		if _, clash := p.entries[d]; clash && d != "." {
			return nil, fmt.Errorf("pack entry %q is both a file and a directory", d)
		}
	}
	return p, nil
}

func (p *Pack) addDirs(name string) {
	for {
		dir := path.Dir(name)
		base := path.Base(name)
		kids := p.dirs[dir]
		found := false
		for _, k := range kids {
			if k == base {
				found = true
				break
			}
		}
		if !found {
			p.dirs[dir] = append(kids, base)
		}
		if dir == "." {
			return
		}
		name = dir
	}
}

// Names returns the entry names in tar order.
func (p *Pack) Names() []string { return append([]string(nil), p.order...) }

// Verify checks the signed index with v (the archive's log key) and that
// the pack holds exactly the entries the index lists, each with its size and
// sha256. It returns the index.
func (p *Pack) Verify(v note.Verifier) (*Index, error) {
	e := p.entries[IndexFile]
	if e.size > MaxIndexSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", IndexFile, MaxIndexSize)
	}
	raw := make([]byte, e.size)
	if _, err := p.r.ReadAt(raw, e.off); err != nil {
		return nil, err
	}
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		return nil, fmt.Errorf("%s: signature does not verify with log key %s: %v", IndexFile, v.Name(), err)
	}
	ix, err := parseIndex(n.Text)
	if err != nil {
		return nil, err
	}
	listed := map[string]bool{IndexFile: true}
	var probs []string
	for _, f := range ix.Entries {
		listed[f.Name] = true
		e, ok := p.entries[f.Name]
		if !ok {
			probs = append(probs, f.Name+": listed in the index but missing")
			continue
		}
		if e.size != f.Size {
			probs = append(probs, fmt.Sprintf("%s: %d bytes, the index says %d", f.Name, e.size, f.Size))
			continue
		}
		d, _, err := digest.FromReader(io.NewSectionReader(p.r, e.off, e.size))
		if err != nil {
			return nil, err
		}
		if d != f.Digest {
			probs = append(probs, fmt.Sprintf("%s: content changed (sha256 %s, the index says %s)", f.Name, d.Hex(), f.Digest.Hex()))
		}
	}
	for _, name := range p.order {
		if !listed[name] {
			probs = append(probs, name+": not listed in the signed index")
		}
	}
	if len(probs) > 0 {
		return &ix, errors.New(strings.Join(probs, "; "))
	}
	return &ix, nil
}

// ReadFile returns a small entry's content, refusing one over max bytes.
func (p *Pack) ReadFile(name string, max int64) ([]byte, error) {
	e, ok := p.entries[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	if e.size > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, max)
	}
	b := make([]byte, e.size)
	_, err := p.r.ReadAt(b, e.off)
	return b, err
}

// FS returns the pack as a read-only file system.
func (p *Pack) FS() fs.FS { return packFS{p} }

type packFS struct{ p *Pack }

func (f packFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if e, ok := f.p.entries[name]; ok {
		return &file{SectionReader: io.NewSectionReader(f.p.r, e.off, e.size), info: info{name: path.Base(name), size: e.size}}, nil
	}
	if kids, ok := f.p.dirs[name]; ok {
		return &dir{p: f.p, name: name, kids: kids}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

type info struct {
	name string
	size int64
	dir  bool
}

func (i info) Name() string { return i.name }
func (i info) Size() int64  { return i.size }
func (i info) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (i info) ModTime() time.Time { return time.Time{} }
func (i info) IsDir() bool        { return i.dir }
func (i info) Sys() any           { return nil }

type file struct {
	*io.SectionReader
	info info
}

func (f *file) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *file) Close() error               { return nil }

type dir struct {
	p    *Pack
	name string
	kids []string
	pos  int
}

func (d *dir) Stat() (fs.FileInfo, error) { return info{name: path.Base(d.name), dir: true}, nil }
func (d *dir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errors.New("is a directory")}
}
func (d *dir) Close() error { return nil }

func (d *dir) ReadDir(n int) ([]fs.DirEntry, error) {
	var out []fs.DirEntry
	for d.pos < len(d.kids) && (n <= 0 || len(out) < n) {
		child := path.Join(d.name, d.kids[d.pos])
		d.pos++
		if e, ok := d.p.entries[child]; ok {
			out = append(out, fs.FileInfoToDirEntry(info{name: path.Base(child), size: e.size}))
		} else {
			out = append(out, fs.FileInfoToDirEntry(info{name: path.Base(child), dir: true}))
		}
	}
	if n > 0 && len(out) == 0 {
		return nil, io.EOF
	}
	return out, nil
}
