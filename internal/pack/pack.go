// Package pack writes and reads audit packs: one tar file per release that
// holds everything needed to verify it offline, years later, without the
// archive — the manifest, the Sigstore bundle, every evidence file, approvals,
// the log inclusion proof, the trust material, and RECORD.html, a readable
// record for people.
//
// The first entry, PACK.sig, is an index of every other entry (path, size,
// sha256) signed by the archive's log key in the signed-note format, so that
// a change to any byte of the pack — RECORD.html included — is detected. The
// release itself is verified independently with the signer's key.
//
// Layout:
//
//	PACK.sig                       signed index of all entries below
//	RECORD.html                    the human-readable release record
//	manifest.json                  the release manifest
//	bundle.sigstore.json           its signature
//	evidence/sha256/<hex>          every evidence file
//	approvals/<i>.sigstore.json    approval records, when there are any (i: log index)
//	approvals/approvers.json       the registry entries of their signers
//	log/proof.json                 inclusion proof of the release in the archive's log
//	log/approval-<i>.json          inclusion proof of each approval record
//	trust/log.pub                  the log's note verifier key
//	trust/keys/<key id>.pub        the public key the release verified with
//	trust/trusted_root.json        the archive's trusted root, when it has one
package pack

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/evident-dev/evident/internal/digest"
)

// Names of fixed entries.
const (
	IndexFile    = "PACK.sig"
	RecordFile   = "RECORD.html"
	ManifestFile = "manifest.json"
	BundleFile   = "bundle.sigstore.json"
	ProofFile    = "log/proof.json"
	LogKeyFile   = "trust/log.pub"
	// TrustedRootFile is the archive's trusted root (Fulcio CAs, timestamp
	// authorities, logs) when it has one: the material keyless signatures
	// and timestamps in the pack verify against.
	TrustedRootFile = "trust/trusted_root.json"
	KeysDir         = "trust/keys"
	ApprovalsDir    = "approvals"
	ApproversFile   = "approvals/approvers.json"
	EvidenceDir     = "evidence"
)

// ApprovalFile and ApprovalProofFile name the entries of the approval
// record at a log index.
func ApprovalFile(index uint64) string {
	return fmt.Sprintf("%s/%d.sigstore.json", ApprovalsDir, index)
}

// ApprovalProofFile names the inclusion proof of the approval at a log index.
func ApprovalProofFile(index uint64) string { return fmt.Sprintf("log/approval-%d.json", index) }

// Approver is a registry entry of an approval's signer, as a pack carries it.
type Approver struct {
	Name      string `json:"name"`
	Role      string `json:"role"`
	KeyID     string `json:"keyId,omitempty"`
	PublicKey string `json:"publicKey,omitempty"` // PEM
	Issuer    string `json:"issuer,omitempty"`
	Subject   string `json:"subject,omitempty"`
}

// indexHeader starts the signed index; the version is part of the signed text.
const indexHeader = "evident audit pack v1"

// MaxEntries bounds the entries of a pack a reader accepts.
const MaxEntries = 100000

// File is one entry to write.
type File struct {
	Name   string
	Size   int64
	Digest digest.Digest
	// Open returns the content; it must have Size bytes hashing to Digest.
	Open func(ctx context.Context) (io.ReadCloser, error)
}

// Bytes returns a File for in-memory content.
func Bytes(name string, b []byte) File {
	return File{Name: name, Size: int64(len(b)), Digest: digest.FromBytes(b), Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}}
}

// Index is the signed table of contents of a pack.
type Index struct {
	Release string
	Entries []File // Open is nil for entries read from a pack
}

// Marshal returns the index text that is signed.
func (ix Index) Marshal() []byte {
	var b strings.Builder
	b.WriteString(indexHeader + "\n")
	b.WriteString("release " + ix.Release + "\n")
	for _, e := range ix.Entries {
		fmt.Fprintf(&b, "%s %d %s\n", e.Digest.Hex(), e.Size, e.Name)
	}
	return []byte(b.String())
}

// parseIndex parses the signed text of an index.
func parseIndex(text string) (Index, error) {
	var ix Index
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 2 || lines[0] != indexHeader {
		return ix, fmt.Errorf("not an evident audit pack index (want %q first)", indexHeader)
	}
	rel, ok := strings.CutPrefix(lines[1], "release ")
	if !ok || rel == "" {
		return ix, errors.New("index: no release line")
	}
	ix.Release = rel
	seen := map[string]bool{}
	for i, l := range lines[2:] {
		parts := strings.SplitN(l, " ", 3)
		if len(parts) != 3 {
			return ix, fmt.Errorf("index line %d: malformed", i+3)
		}
		d, err := digest.Parse(parts[0])
		if err != nil {
			return ix, fmt.Errorf("index line %d: %v", i+3, err)
		}
		n, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil || n < 0 {
			return ix, fmt.Errorf("index line %d: bad size", i+3)
		}
		if err := checkName(parts[2]); err != nil {
			return ix, fmt.Errorf("index line %d: %v", i+3, err)
		}
		if seen[parts[2]] {
			return ix, fmt.Errorf("index line %d: %s listed twice", i+3, parts[2])
		}
		seen[parts[2]] = true
		ix.Entries = append(ix.Entries, File{Name: parts[2], Size: n, Digest: d})
	}
	return ix, nil
}

// checkName accepts only clean, relative, slash-separated names without
// special characters: a pack entry can never point outside where it is read.
func checkName(name string) error {
	switch {
	case name == "" || name == "." || len(name) > 256:
		return fmt.Errorf("entry name %q: bad length", name)
	case path.IsAbs(name) || path.Clean(name) != name || strings.HasPrefix(name, "../") || name == "..":
		return fmt.Errorf("entry name %q: not a clean relative path", name)
	}
	for _, r := range name {
		ok := r == '/' || r == '.' || r == '-' || r == '_' || r == '@' || r == '+' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return fmt.Errorf("entry name %q: character %q is not allowed", name, r)
		}
	}
	return nil
}

// Write writes a pack for release with files (in order) to w: first the
// index signed by signer, then each file, each checked against its digest
// while it is copied. A file whose content differs fails the write.
func Write(ctx context.Context, w io.Writer, release string, files []File, signer note.Signer) error {
	ix := Index{Release: release, Entries: files}
	seen := map[string]bool{IndexFile: true}
	for _, f := range files {
		if err := checkName(f.Name); err != nil {
			return err
		}
		if seen[f.Name] {
			return fmt.Errorf("pack: %s added twice", f.Name)
		}
		seen[f.Name] = true
	}
	signed, err := note.Sign(&note.Note{Text: string(ix.Marshal())}, signer)
	if err != nil {
		return fmt.Errorf("sign pack index: %w", err)
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	tw := tar.NewWriter(bw)
	// A fixed time keeps packs of the same content byte-identical.
	mtime := time.Unix(0, 0).UTC()
	hdr := func(name string, size int64) *tar.Header {
		return &tar.Header{Name: name, Size: size, Mode: 0o444, ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	}
	if err := tw.WriteHeader(hdr(IndexFile, int64(len(signed)))); err != nil {
		return err
	}
	if _, err := tw.Write(signed); err != nil {
		return err
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := tw.WriteHeader(hdr(f.Name, f.Size)); err != nil {
			return err
		}
		rc, err := f.Open(ctx)
		if err != nil {
			return fmt.Errorf("pack %s: %w", f.Name, err)
		}
		_, err = io.Copy(tw, digest.NewVerifyingReader(rc, f.Digest, f.Size))
		rc.Close()
		if err != nil {
			return fmt.Errorf("pack %s: %w", f.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}
