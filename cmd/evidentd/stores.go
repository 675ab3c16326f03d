package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/evident-dev/evident/internal/blob"
	"github.com/evident-dev/evident/internal/blob/fsblob"
	"github.com/evident-dev/evident/internal/catalog"
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
	closers []func() error
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
func openStores(ctx context.Context, c *config, maxBlob int64) (*stores, error) {
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", c.Data, err)
	}
	s := &stores{}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()

	blobURL := c.Blobs
	if blobURL == "" {
		blobURL = "file://" + filepath.Join(c.Data, "blobs")
	}
	bs, closeBlobs, err := openBlobs(blobURL, maxBlob)
	if err != nil {
		return nil, err
	}
	s.blobs = bs
	s.closers = append(s.closers, closeBlobs)

	catURL := c.Catalog
	if catURL == "" {
		catURL = "sqlite://" + filepath.Join(c.Data, "catalog.db")
	}
	cat, err := openCatalog(ctx, catURL)
	if err != nil {
		return nil, err
	}
	s.catalog = cat
	s.closers = append(s.closers, cat.Close)

	keyFile := c.LogKey
	if keyFile == "" {
		keyFile = filepath.Join(c.Data, "log.key")
	}
	s.signer, s.vkey, err = loadLogKey(keyFile, c.LogOrigin)
	if err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

func openBlobs(raw string, maxBlob int64) (blob.Store, func() error, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("blob store %q: %w", raw, err)
	}
	switch u.Scheme {
	case "file":
		st, err := fsblob.Open(u.Path, fsblob.Options{MaxSize: maxBlob})
		if err != nil {
			return nil, nil, fmt.Errorf("blob store %s: %w", u.Path, err)
		}
		return st, st.Close, nil
	}
	return nil, nil, fmt.Errorf("blob store %q: unsupported scheme %q (want file://)", raw, u.Scheme)
}

func openCatalog(ctx context.Context, raw string) (catalog.Catalog, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("catalog %q: want sqlite:///path", raw)
	}
	switch scheme {
	case "sqlite":
		db, err := sqlite.Open(ctx, rest)
		if err != nil {
			return nil, fmt.Errorf("catalog %s: %w", rest, err)
		}
		return db, nil
	}
	return nil, fmt.Errorf("catalog %q: unsupported scheme %q (want sqlite://)", raw, scheme)
}

// loadLogKey reads the note signer key from file, creating it (mode 0600)
// with origin when it does not exist. The public verifier key is written
// beside it as <file>.pub for operators to publish.
func loadLogKey(file, origin string) (note.Signer, string, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		skey, vkey, err := tlog.GenerateKey(origin)
		if err != nil {
			return nil, "", fmt.Errorf("log key: %w", err)
		}
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, "", fmt.Errorf("log key %s: %w", file, err)
		}
		if _, err := f.WriteString(skey + "\n"); err != nil {
			f.Close()
			return nil, "", err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, "", err
		}
		if err := f.Close(); err != nil {
			return nil, "", err
		}
		if err := os.WriteFile(file+".pub", []byte(vkey+"\n"), 0o644); err != nil {
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
