// Package artifact records released files by SHA-256 digest and size. Files
// are hashed in parallel, each streamed through the hash, so memory does not
// depend on file size.
package artifact

import (
	"context"
	"path"
	"runtime"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

// File is a file to record: the name it is recorded under and where it is.
type File struct {
	Name string
	Path string
}

// Hash digests files with up to workers goroutines (GOMAXPROCS when <= 0)
// and returns one artifact per file, in the order given. The first error
// cancels the rest.
func Hash(ctx context.Context, files []File, workers int) ([]evidence.Artifact, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]evidence.Artifact, len(files))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i, f := range files {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			d, n, err := digest.FromFile(f.Path)
			if err != nil {
				return evidence.Errorf(evidence.KindInvalid, "artifact %s: %v", f.Name, err)
			}
			out[i] = evidence.Artifact{Name: f.Name, Digest: d, Size: n, MediaType: MediaType(f.Name)}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// Image returns the artifact for a container image pinned by digest.
func Image(name string, d digest.Digest) evidence.Artifact {
	return evidence.Artifact{Name: name + "@" + d.String(), Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json"}
}

// mediaTypes maps file extensions of typical released artifacts to media
// types. Firmware images have none registered; they are octet streams.
var mediaTypes = map[string]string{
	".apk":    "application/vnd.android.package-archive",
	".aab":    "application/octet-stream",
	".ipa":    "application/octet-stream",
	".bin":    "application/octet-stream",
	".hex":    "text/x-hex",
	".elf":    "application/x-elf",
	".img":    "application/octet-stream",
	".zip":    "application/zip",
	".tar":    "application/x-tar",
	".tgz":    "application/gzip",
	".gz":     "application/gzip",
	".jar":    "application/java-archive",
	".war":    "application/java-archive",
	".deb":    "application/vnd.debian.binary-package",
	".rpm":    "application/x-rpm",
	".msi":    "application/x-msi",
	".exe":    "application/vnd.microsoft.portable-executable",
	".dmg":    "application/x-apple-diskimage",
	".js":     "text/javascript",
	".json":   "application/json",
	".yaml":   "application/yaml",
	".yml":    "application/yaml",
	".wasm":   "application/wasm",
	".swu":    "application/octet-stream", // SWUpdate image
	".dfu":    "application/octet-stream",
	".signed": "application/octet-stream",
}

// MediaType guesses a media type from a file name.
func MediaType(name string) string {
	lower := strings.ToLower(name)
	if strings.HasSuffix(lower, ".tar.gz") {
		return "application/gzip"
	}
	if t, ok := mediaTypes[path.Ext(lower)]; ok {
		return t
	}
	return "application/octet-stream"
}
