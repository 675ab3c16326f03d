package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/spf13/cobra"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/client"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/runner"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/tlog"
)

// serverOptions are the flags of every command that talks to an archive.
type serverOptions struct {
	server string
	token  string
}

func (o *serverOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.server, "server", "", "archive URL (or EVIDENT_SERVER)")
	cmd.Flags().StringVar(&o.token, "token", "", "API token (or EVIDENT_TOKEN; prefer the variable: flags show up in process lists)")
}

// client binds the options to the environment and returns a client.
func (a *app) client(cmd *cobra.Command, o *serverOptions) (*client.Client, error) {
	if err := a.bindEnv(cmd, "server", "token"); err != nil {
		return nil, err
	}
	if o.server == "" {
		return nil, &usageError{errors.New("--server URL is required (or EVIDENT_SERVER)")}
	}
	if o.token == "" {
		return nil, &usageError{errors.New("--token is required (or EVIDENT_TOKEN)")}
	}
	c, err := client.New(o.server, o.token, nil)
	if err != nil {
		return nil, err
	}
	c.UserAgent = "evident/" + version
	return c, nil
}

type pushOptions struct {
	serverOptions
	logKey string
	json   bool
}

func (a *app) pushCommand() *cobra.Command {
	var o pushOptions
	cmd := &cobra.Command{
		Use:   "push DIR --server URL --token T",
		Short: "Upload a sealed release to an archive",
		Long: `Upload a sealed release directory to an evidentd archive: the evidence blobs the
archive does not have yet, then the manifest and its signature. The archive verifies
the signature against its trust policy, checks every blob and re-evaluates the
policy before the release becomes visible. The inclusion proof it returns is
verified here against the archive's log key (pin it with --log-key).

Pushing the same release again is a no-op; the same version with different
content is refused (409) and the message names the release that conflicts.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd, &o.serverOptions)
			if err != nil {
				return err
			}
			return a.runPush(cmd.Context(), c, args[0], o)
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&o.logKey, "log-key", "", "the archive's log verifier key (file); when set, the proof must be signed by it")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the result as JSON on stdout")
	return cmd
}

type pushReport struct {
	*api.PushResult
	Uploaded      int    `json:"uploaded"`
	UploadedBytes int64  `json:"uploadedBytes"`
	ProofVerified bool   `json:"proofVerified"`
	LogKeyPinned  bool   `json:"logKeyPinned"`
	Checkpoint    string `json:"-"`
}

func (a *app) runPush(ctx context.Context, c api.Archive, dir string, o pushOptions) error {
	mb, err := readFileLimited(filepath.Join(dir, runner.ManifestFile), evidence.MaxManifestSize)
	if err != nil {
		return evidence.Errorf(evidence.KindInvalid, "%s is not a sealed release: %v", dir, err)
	}
	bb, err := readFileLimited(filepath.Join(dir, runner.BundleFile), sign.MaxBundleSize)
	if err != nil {
		return evidence.Errorf(evidence.KindInvalid, "%s is not sealed (run evident seal): %v", dir, err)
	}
	m, err := evidence.DecodeManifest(bytes.NewReader(mb))
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	md, bd := digest.FromBytes(mb), digest.FromBytes(bb)

	// Upload what the archive lacks: evidence, then manifest and bundle.
	type upload struct {
		d    digest.Digest
		path string
		data []byte
	}
	uploads := map[digest.Digest]upload{md: {d: md, data: mb}, bd: {d: bd, data: bb}}
	want := []digest.Digest{md, bd}
	for _, d := range m.EvidenceDigests() {
		uploads[d] = upload{d: d, path: filepath.Join(dir, runner.EvidencePath(d))}
		want = append(want, d)
	}
	missing, err := c.MissingBlobs(ctx, want)
	if err != nil {
		return err
	}
	rep := pushReport{}
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, d := range missing {
		u, ok := uploads[d]
		if !ok {
			return fmt.Errorf("the archive asked for %s, which this release does not reference", d)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			n, err := putOne(ctx, c, u.d, u.path, u.data)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			rep.Uploaded++
			rep.UploadedBytes += n
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}

	res, err := c.PushRelease(ctx, api.PushRequest{Manifest: md, Bundle: bd})
	if err != nil {
		return err
	}
	rep.PushResult = res

	// The archive's word that the release is in its log, checked here.
	vkey := res.LogKey
	if o.logKey != "" {
		b, err := readFileLimited(o.logKey, 4096)
		if err != nil {
			return evidence.Errorf(evidence.KindInvalid, "log key %s: %v", o.logKey, err)
		}
		vkey = string(bytes.TrimSpace(b))
		rep.LogKeyPinned = true
	}
	if err := checkPushProof(res, vkey, m.Ref(), md, bd); err != nil {
		return err
	}
	rep.ProofVerified = true
	a.render(o.json, rep, func() {
		what := "archived"
		if !res.Created {
			what = "already archived (identical); nothing changed"
		}
		fmt.Fprintf(a.stdout, "%s %s: uploaded %d blob(s), %d bytes\n", res.Release, what, rep.Uploaded, rep.UploadedBytes)
		fmt.Fprintf(a.stdout, "manifest %s, signed by %s\n", res.ManifestDigest, res.Signer)
		pin := "key from the archive"
		if rep.LogKeyPinned {
			pin = "pinned key"
		}
		fmt.Fprintf(a.stdout, "log entry %d in a tree of %d: inclusion proof verified (%s %s)\n", res.Log.Index, res.Log.Size, pin, keyName(vkey))
	})
	return nil
}

// checkPushProof verifies the inclusion proof of a push against vkey and
// that its entry is this release.
func checkPushProof(res *api.PushResult, vkey string, ref evidence.ReleaseRef, md, bd digest.Digest) error {
	if res.Log == nil {
		return evidence.Errorf(evidence.KindVerification, "the archive returned no log proof")
	}
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		return evidence.Errorf(evidence.KindVerification, "log key: %v", err)
	}
	e, _, err := res.Log.Verify(v)
	if err != nil {
		return evidence.Errorf(evidence.KindVerification, "the archive's log proof does not verify: %v", err)
	}
	if e.Type != tlog.EntryRelease || e.Product != ref.Product || e.Version != ref.Version || e.Manifest != md || e.Record != bd {
		return evidence.Errorf(evidence.KindVerification, "the archive's log entry is not this release: %s@%s %s", e.Product, e.Version, e.Manifest)
	}
	return nil
}

func keyName(vkey string) string {
	if v, err := tlog.NewVerifier(vkey); err == nil {
		return fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash())
	}
	return "?"
}

func putOne(ctx context.Context, c api.Archive, d digest.Digest, path string, data []byte) (int64, error) {
	if data != nil {
		return int64(len(data)), c.PutBlob(ctx, d, int64(len(data)), bytes.NewReader(data))
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, evidence.Errorf(evidence.KindInvalid, "evidence %s: %v", d, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	// The archive verifies the digest while it stores the blob; a file
	// changed since sealing is refused there.
	if err := c.PutBlob(ctx, d, st.Size(), f); err != nil {
		return 0, fmt.Errorf("upload %s: %w", d, err)
	}
	return st.Size(), nil
}
