package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/pack"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/tlog"
)

// PackOptions adds to Options what an audit pack needs.
type PackOptions struct {
	Options
	// LogKey, when set, is the archive's log verifier key the auditor
	// trusts; the pack's own trust/log.pub must then be this key. When
	// empty, the pack's key is used and the report says it was not pinned.
	LogKey string
}

// Pack verifies an opened audit pack: the signed index (every byte of the
// pack), the release in it (as Release does), and the log inclusion proof of
// the release against the archive's log key.
func Pack(ctx context.Context, p *pack.Pack, opts PackOptions) (*Report, error) {
	packKey, err := p.ReadFile(pack.LogKeyFile, 4096)
	if err != nil {
		r := &Report{}
		r.Fail("pack", "%s: %v", pack.LogKeyFile, err)
		return r, nil
	}
	vkey := strings.TrimSpace(string(packKey))
	pinned := opts.LogKey != ""
	var keyProblem string
	if pinned && strings.TrimSpace(opts.LogKey) != vkey {
		keyProblem = "the pack's log key is not the pinned --log-key"
		vkey = strings.TrimSpace(opts.LogKey)
	}
	verifier, err := tlog.NewVerifier(vkey)
	if err != nil {
		r := &Report{}
		r.Fail("pack", "log key: %v", err)
		return r, nil
	}

	o := opts.Options
	o.Allowed = func(name string) bool {
		switch {
		case name == pack.IndexFile, name == pack.RecordFile, name == pack.ProofFile, name == pack.LogKeyFile:
			return true
		case strings.HasPrefix(name, pack.KeysDir+"/"), strings.HasPrefix(name, pack.ApprovalsDir+"/"):
			return true
		}
		return false
	}
	r, err := Release(ctx, p.FS(), o)
	if err != nil {
		return nil, err
	}

	// Every byte of the pack, under the archive's signature.
	ix, err := p.Verify(verifier)
	switch {
	case keyProblem != "":
		r.Fail("pack", "%s", keyProblem)
	case err != nil:
		r.Fail("pack", "%v", err)
	case r.Release != "" && ix.Release != r.Release:
		r.Fail("pack", "the signed index is for %s, the pack holds %s", ix.Release, r.Release)
	default:
		how := "the pack's own key (pin it with --log-key)"
		if pinned {
			how = "the pinned log key"
		}
		r.Pass("pack", "signed index of %d entries verified with %s %s+%08x", len(ix.Entries), how, verifier.Name(), verifier.KeyHash())
	}

	// The release is in the archive's log.
	checkLogProof(r, p, verifier)

	r.OK = len(r.Failures()) == 0 && r.Artifacts > 0
	return r, nil
}

func checkLogProof(r *Report, p *pack.Pack, v interface {
	Name() string
	KeyHash() uint32
	Verify(msg, sig []byte) bool
}) {
	b, err := p.ReadFile(pack.ProofFile, 1<<20)
	if err != nil {
		r.Fail("log", "%v", err)
		return
	}
	var proof tlog.Proof
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&proof); err != nil {
		r.Fail("log", "%s: %v", pack.ProofFile, err)
		return
	}
	e, cp, err := proof.Verify(v)
	if err != nil {
		r.Fail("log", "%v", err)
		return
	}
	mb, err1 := p.ReadFile(pack.ManifestFile, evidence.MaxManifestSize)
	bb, err2 := p.ReadFile(pack.BundleFile, sign.MaxBundleSize)
	if err1 != nil || err2 != nil {
		r.Fail("log", "cannot read the manifest or bundle to match the log entry")
		return
	}
	md, bd := digest.FromBytes(mb), digest.FromBytes(bb)
	if e.Type != tlog.EntryRelease || e.Manifest != md || e.Record != bd || e.Product+"@"+e.Version != r.Release {
		r.Fail("log", "the log entry records %s@%s %s, not this release", e.Product, e.Version, e.Manifest)
		return
	}
	r.Pass("log", "%s is entry %d of log %s (checkpoint of %d entries, signature and inclusion proof verified)",
		r.Release, proof.Index, cp.Origin, cp.Size)
}
