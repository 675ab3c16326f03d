package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/evident-dev/evident/internal/blob"
	"github.com/evident-dev/evident/internal/blob/fsblob"
	"github.com/evident-dev/evident/internal/blob/s3blob"
	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/catalog/postgres"
	"github.com/evident-dev/evident/internal/catalog/sqlite"
	"github.com/evident-dev/evident/internal/tlog"
)

// stores is what every storage-touching command opens. main is the only
// place that knows the concrete stores.
type stores struct {
	blobs   blob.Store
	catalog catalog.Catalog
	signer  note.Signer
	vkey    string
	// blobsName and catalogName say where the stores are, without secrets,
	// for logs.
	blobsName, catalogName string
	closers                []func() error
}

func (s *stores) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	return errors.Join(errs...)
}

// openStores opens the blob store and catalog named by c (defaults: inside
// the data directory) and loads, or on first start creates, the log key.
// The data directory is created only when something lives in it.
func openStores(ctx context.Context, c *config, maxBlob int64) (*stores, error) {
	blobURL, catURL, keyFile := c.Blobs, c.Catalog, c.LogKey
	if blobURL == "" {
		blobURL = (&url.URL{Scheme: "file", Path: filepath.Join(c.Data, "blobs")}).String()
	}
	if catURL == "" {
		catURL = "sqlite://" + filepath.Join(c.Data, "catalog.db")
	}
	if keyFile == "" {
		keyFile = filepath.Join(c.Data, "log.key")
	}
	if c.Blobs == "" || c.Catalog == "" || c.LogKey == "" {
		if err := os.MkdirAll(c.Data, 0o700); err != nil {
			return nil, fmt.Errorf("data directory %s: %w", c.Data, err)
		}
	}

	s := &stores{}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	var err error
	var closeBlobs func() error
	s.blobs, s.blobsName, closeBlobs, err = openBlobs(ctx, blobURL, blobOptions{maxSize: maxBlob, retainDays: c.RetainDays})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, closeBlobs)

	s.catalog, s.catalogName, err = openCatalog(ctx, catURL)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.catalog.Close)

	if isShared(catURL) {
		if err := checkKeyFor(ctx, keyFile, s.catalog); err != nil {
			return nil, err
		}
	}
	s.signer, s.vkey, err = loadLogKey(keyFile, c.LogOrigin)
	if err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// isShared reports whether the catalog at raw can be served by several
// evidentd processes (replicas), each with its own --log-key setting.
func isShared(raw string) bool {
	scheme, _, _ := strings.Cut(raw, "://")
	return scheme == "postgres" || scheme == "postgresql"
}

// checkKeyFor refuses to let loadLogKey create a new log key for a shared
// catalog whose log already has entries: their checkpoints were signed with
// another key, and checkpoints under a new one would not verify for anyone
// who holds the old. This stops a replica started without the shared
// --log-key file. (A SQLite catalog keeps its default key beside it in the
// data directory; tools/loadcatalog relies on evidentd creating the key of a
// catalog it filled.)
func checkKeyFor(ctx context.Context, keyFile string, cat catalog.Reader) error {
	if _, err := os.Stat(keyFile); !errors.Is(err, fs.ErrNotExist) {
		return nil // loadLogKey reads it, or reports why it cannot
	}
	n, err := cat.LogSize(ctx)
	if err != nil {
		return fmt.Errorf("log key: read the log's size: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("log key %s does not exist, but the log is not empty (size %d) and its checkpoints were signed with a key: "+
			"give every evidentd on this catalog the same --log-key file (a new key would sign checkpoints nobody can verify)", keyFile, n)
	}
	return nil
}

// blobOptions are the settings of a blob store that do not fit in its URL.
type blobOptions struct {
	maxSize    int64 // 0: no limit
	retainDays int   // S3 Object Lock retention; 0: none
}

// openBlobs opens the blob store at raw (file:///DIR or s3://BUCKET/PREFIX?...)
// and returns it with a name for logs and its close function. Errors name
// the --blobs flag and never repeat an s3:// URL whole.
func openBlobs(ctx context.Context, raw string, opts blobOptions) (blob.Store, string, func() error, error) {
	scheme, _, _ := strings.Cut(raw, "://")
	switch scheme {
	case "file":
		u, err := url.Parse(raw)
		if err != nil {
			return nil, "", nil, &usageError{fmt.Errorf("--blobs %q: %v", raw, err)}
		}
		if u.Host != "" || u.Path == "" {
			return nil, "", nil, &usageError{fmt.Errorf("--blobs %q: want file:///absolute/path (three slashes)", raw)}
		}
		if opts.retainDays > 0 {
			return nil, "", nil, &usageError{fmt.Errorf("--retain-days needs an s3:// blob store with Object Lock; a local directory cannot enforce retention")}
		}
		st, err := fsblob.Open(u.Path, fsblob.Options{MaxSize: opts.maxSize})
		if err != nil {
			return nil, "", nil, fmt.Errorf("--blobs %s: %w", u.Path, err)
		}
		return st, raw, st.Close, nil
	case "s3":
		st, err := s3blob.Open(ctx, raw, s3blob.Options{MaxSize: opts.maxSize, RetainDays: opts.retainDays})
		if errors.Is(err, s3blob.ErrInvalidURL) {
			return nil, "", nil, &usageError{fmt.Errorf("--blobs: %w", err)}
		}
		if err != nil {
			return nil, "", nil, fmt.Errorf("--blobs: %w", err)
		}
		return st, st.Location().String(), func() error { return nil }, nil
	}
	return nil, "", nil, &usageError{fmt.Errorf("--blobs: unsupported store %q (want file:///path or s3://bucket/prefix)", schemeOf(raw))}
}

// openCatalog opens the catalog at raw (sqlite:///path/catalog.db or
// postgres://...) and returns it with a name for logs. Errors name the
// --catalog flag and never show a database password.
func openCatalog(ctx context.Context, raw string) (catalog.Catalog, string, error) {
	scheme, rest, _ := strings.Cut(raw, "://")
	switch scheme {
	case "sqlite":
		if rest == "" {
			return nil, "", &usageError{fmt.Errorf("--catalog %q: want sqlite:///path/catalog.db", raw)}
		}
		db, err := sqlite.Open(ctx, rest)
		if err != nil {
			return nil, "", fmt.Errorf("--catalog %s: %w", rest, err)
		}
		return db, raw, nil
	case "postgres", "postgresql":
		name, err := redactPostgres(raw)
		if err != nil {
			return nil, "", &usageError{fmt.Errorf("--catalog: %v", err)}
		}
		db, err := postgres.Open(ctx, raw)
		if err != nil {
			return nil, "", fmt.Errorf("--catalog %s: %w", name, err)
		}
		return db, name, nil
	}
	return nil, "", &usageError{fmt.Errorf("--catalog: unsupported store %q (want sqlite:///path/catalog.db or postgres://user@host/db)", schemeOf(raw))}
}

// redactPostgres returns the postgres:// URL raw with its password, if
// any, replaced, for messages and logs.
func redactPostgres(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error would repeat the URL, password included.
		return "", errors.New("the postgres:// URL is malformed (a password with special characters must be percent-encoded)")
	}
	return u.Redacted(), nil
}

// schemeOf returns the scheme of a store URL for messages, without the rest,
// which may hold a secret.
func schemeOf(raw string) string {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	return scheme + "://"
}

// loadLogKey reads the note signer key from file, creating it (mode 0600)
// with origin when it does not exist. The public verifier key is written
// beside it as <file>.pub for operators to publish.
func loadLogKey(file, origin string) (note.Signer, string, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		skey, _, err := tlog.CreateKeyFile(file, origin)
		if err != nil {
			return nil, "", err
		}
		b = []byte(skey)
	} else if err != nil {
		return nil, "", fmt.Errorf("log key %s: %w", file, err)
	}
	skey := strings.TrimSpace(string(b))
	signer, err := tlog.NewSigner(skey)
	if err != nil {
		return nil, "", fmt.Errorf("log key %s: %w", file, err)
	}
	vkey, err := tlog.VerifierKey(skey)
	if err != nil {
		return nil, "", fmt.Errorf("log key %s: %w", file, err)
	}
	return signer, vkey, nil
}
