package config

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

// File is a resolved input file.
type File struct {
	Name string // slash-separated path relative to the config directory: the name it is recorded under
	Path string // path on disk
}

// Glob resolves one pattern of key (e.g. "components[0] (wm-firmware).artifacts")
// to the regular files it matches, sorted by name. "**" matches any number of
// directories but does not descend into symlinked ones; a symlink to a file
// is matched and hashed through the link. A pattern that matches nothing, or that names a directory, is
// an error naming the key: a release must never silently lack evidence
// because a path was mistyped.
func (c *Config) Glob(key, pattern string) ([]File, error) {
	if err := checkPattern(key, pattern); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "%v", err)
	}
	pattern = path.Clean(pattern)
	fsys := os.DirFS(c.Dir)
	// "**" does not descend into symlinked directories (WithNoFollow): a
	// symlink loop, common in node_modules, would otherwise never end. An
	// unreadable directory is an error, not a silent gap.
	matches, err := doublestar.Glob(fsys, pattern, doublestar.WithFilesOnly(), doublestar.WithNoFollow(),
		doublestar.WithFailOnPatternNotExist(), doublestar.WithFailOnIOErrors())
	if err != nil && err != doublestar.ErrPatternNotExist {
		return nil, evidence.Errorf(evidence.KindInvalid, "%s: pattern %q: %v", key, pattern, err)
	}
	sort.Strings(matches)
	files := make([]File, 0, len(matches))
	for _, m := range matches {
		p := filepath.Join(c.Dir, filepath.FromSlash(m))
		// A symlink may point outside the project; what matters is what the
		// name resolves to now, which is what gets hashed.
		st, err := os.Stat(p)
		if err != nil {
			return nil, evidence.Errorf(evidence.KindInvalid, "%s: %s: %v", key, m, err)
		}
		if st.IsDir() {
			continue // a symlink to a directory, listed because of WithNoFollow
		}
		if !st.Mode().IsRegular() {
			return nil, evidence.Errorf(evidence.KindInvalid, "%s: %s is not a regular file", key, m)
		}
		files = append(files, File{Name: m, Path: p})
	}
	if len(files) == 0 {
		if st, serr := fs.Stat(fsys, pattern); serr == nil && st.IsDir() {
			return nil, evidence.Errorf(evidence.KindInvalid, "%s: %q is a directory, want files (try %q)", key, pattern, pattern+"/*")
		}
		return nil, evidence.Errorf(evidence.KindInvalid, "%s: %q matches no file under %s", key, pattern, c.Dir)
	}
	return files, nil
}

// GlobAll resolves several patterns of one key, dropping duplicates.
func (c *Config) GlobAll(key string, patterns []string) ([]File, error) {
	seen := map[string]bool{}
	var out []File
	for _, p := range patterns {
		fs, err := c.Glob(key, p)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if !seen[f.Name] {
				seen[f.Name] = true
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// ParseImage splits a container image reference pinned by digest,
// "registry/repo@sha256:HEX" (a tag before the @ is allowed and kept).
func ParseImage(ref string) (name string, d digest.Digest, err error) {
	i := strings.LastIndex(ref, "@")
	if i <= 0 {
		return "", digest.Digest{}, fmt.Errorf("image %q: want NAME@sha256:HEX (images are pinned by digest)", ref)
	}
	d, err = digest.Parse(ref[i+1:])
	if err != nil || !strings.HasPrefix(ref[i+1:], "sha256:") {
		return "", digest.Digest{}, fmt.Errorf("image %q: want NAME@sha256:HEX (images are pinned by digest)", ref)
	}
	if strings.Contains(ref[:i], "@") {
		return "", digest.Digest{}, fmt.Errorf("image %q: want one @, before the digest", ref)
	}
	if strings.ContainsAny(ref[:i], " \t\n\\") {
		return "", digest.Digest{}, fmt.Errorf("image %q: the name has white space or a backslash", ref)
	}
	return ref[:i], d, nil
}
