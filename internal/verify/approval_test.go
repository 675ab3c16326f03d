package verify_test

// Offline verification of the approvals in an audit pack: the pack an
// archive exports verifies with nothing but the release key and the
// archive's log key, and every way of changing its approvals is caught —
// with the archive's index signature intact (a changed byte) and, harder,
// with the index re-signed by the archive's own log key (what only a
// compromised archive could do).

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/pack"
	"github.com/evident-dev/evident/internal/rederive"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/sign/signtest"
	"github.com/evident-dev/evident/internal/testutil"
	"github.com/evident-dev/evident/internal/verify"
)

const (
	maria = "Dr. Maria Lindqvist"
	sven  = "Sven Olsen"
)

// approvedArchive is an archive holding the example as 2.4.0, approved by
// a release manager and QA, and as 2.5.0, approved by the release manager.
type approvedArchive struct {
	arch     *testutil.Archive
	key      *sign.PrivateKey // the release key
	m        *evidence.Manifest
	md       digest.Digest
	rm, qa   evidence.Approval // of 2.4.0
	rmNext   []byte            // the release manager's record of 2.5.0
	bundleQA []byte
}

func newApprovedArchive(t *testing.T) *approvedArchive {
	t.Helper()
	dir, key, m := sealed(t)
	next := testutil.CopyRelease(t, dir)
	mNext := testutil.ReadManifest(t, next)
	mNext.Product.Version = "2.5.0"
	testutil.Resign(t, next, mNext, key)

	x := &approvedArchive{arch: testutil.NewArchive(t, key.Public()), key: key, m: m}
	x.md = digest.FromBytes(testutil.ReadFile(t, filepath.Join(dir, verify.ManifestFile)))
	mdNext := digest.FromBytes(testutil.ReadFile(t, filepath.Join(next, verify.ManifestFile)))
	testutil.Push(t, x.arch.As(auth.RoleCI), dir)
	testutil.Push(t, x.arch.As(auth.RoleCI), next)
	mk, sk := newKey(t), newKey(t)
	x.arch.RegisterApprover(t, maria, "release-manager", mk.Public())
	x.arch.RegisterApprover(t, sven, "qa", sk.Public())

	x.rm = testutil.NewApproval(m.Ref(), x.md, evidence.DecisionApproved, maria, "release-manager", "approved for release", mk.Public())
	x.qa = testutil.NewApproval(m.Ref(), x.md, evidence.DecisionApproved, sven, "qa", "QA review: verification complete", sk.Public())
	x.qa.Comment = "HIL and system tests reviewed"
	x.bundleQA = testutil.SignApproval(t, sk, x.qa)
	x.submit(t, testutil.SignApproval(t, mk, x.rm))
	x.submit(t, x.bundleQA)
	x.rmNext = testutil.SignApproval(t, mk, testutil.NewApproval(mNext.Ref(), mdNext, evidence.DecisionApproved, maria, "release-manager", "approved for release", mk.Public()))
	x.submit(t, x.rmNext)
	return x
}

func (x *approvedArchive) submit(t *testing.T, bundle []byte) {
	t.Helper()
	if _, err := x.arch.As(auth.RoleApprover).SubmitApproval(context.Background(), bundle); err != nil {
		t.Fatalf("SubmitApproval: %v", err)
	}
}

func (x *approvedArchive) export(t *testing.T, ref evidence.ReleaseRef) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := x.arch.As(auth.RoleAuditor).Export(context.Background(), ref, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// verifyPack verifies b with the release key and, when pinned, the
// archive's log key; with packRoot, the pack's own trusted root checks
// certificates and timestamps, as evident verify does when given none.
func verifyPack(t *testing.T, b []byte, trust sign.Trust, logKey string, packRoot bool) *verify.Report {
	t.Helper()
	p, err := pack.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("pack.Open: %v", err)
	}
	if packRoot {
		rb, err := p.ReadFile(pack.TrustedRootFile, 16<<20)
		if err != nil {
			t.Fatalf("the pack has no trusted root: %v", err)
		}
		if trust.TrustedRoot, err = sign.ParseTrustedRoot(rb); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := verify.Pack(context.Background(), p, verify.PackOptions{
		Options: verify.Options{Trust: trust, Derive: rederive.Check}, LogKey: logKey,
	})
	if err != nil {
		t.Fatalf("verify.Pack: %v", err)
	}
	return rep
}

// packFiles is an audit pack's entries read into memory, to change and
// write again.
type packFiles struct {
	release string
	names   []string
	content map[string][]byte
}

func readPack(t *testing.T, b []byte) *packFiles {
	t.Helper()
	p, err := pack.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	pf := &packFiles{content: map[string][]byte{}}
	for _, n := range p.Names() {
		c, err := p.ReadFile(n, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		if n == pack.IndexFile {
			// "evident audit pack v1\nrelease NAME\n..."
			lines := strings.SplitN(string(c), "\n", 3)
			pf.release = strings.TrimPrefix(lines[1], "release ")
			continue
		}
		pf.names = append(pf.names, n)
		pf.content[n] = c
	}
	return pf
}

func (pf *packFiles) remove(name string) {
	delete(pf.content, name)
	for i, n := range pf.names {
		if n == name {
			pf.names = append(pf.names[:i], pf.names[i+1:]...)
			return
		}
	}
}

// write writes the pack with an index signed by the archive's log key, as
// the archive would have.
func (pf *packFiles) write(t *testing.T, x *approvedArchive) []byte {
	t.Helper()
	var files []pack.File
	for _, n := range pf.names {
		files = append(files, pack.Bytes(n, pf.content[n]))
	}
	var buf bytes.Buffer
	if err := pack.Write(context.Background(), &buf, pf.release, files, x.arch.LogSigner); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rewriteTar writes the tar b again, entry by entry, through edit (which
// returns the new content, or false to drop the entry), keeping the signed
// index as it was: what a change to the files of a pack on disk does.
func rewriteTar(t *testing.T, b []byte, edit func(name string, content []byte) ([]byte, bool)) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		c, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		c, keep := edit(h.Name, c)
		if !keep {
			continue
		}
		h.Size = int64(len(c))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// replaceEntry is rewriteTar changing one entry, which must be there.
func replaceEntry(t *testing.T, b []byte, name string, edit func([]byte) []byte) []byte {
	t.Helper()
	found := false
	out := rewriteTar(t, b, func(n string, c []byte) ([]byte, bool) {
		if n == name {
			found = true
			return edit(c), true
		}
		return c, true
	})
	if !found {
		t.Fatalf("the pack has no %s", name)
	}
	return out
}

func failedChecks(rep *verify.Report) []string { return names(rep.Failures()) }

func TestPackApprovals(t *testing.T) {
	x := newApprovedArchive(t)
	ref := x.m.Ref()
	exported := x.export(t, ref)
	trust := sign.Trust{Keys: []*sign.PublicKey{x.key.Public()}}

	t.Run("as exported", func(t *testing.T) {
		rep := verifyPack(t, exported, trust, x.arch.LogKey, false)
		if !rep.OK {
			t.Fatalf("the exported pack does not verify: %v", rep.Err())
		}
		if rep.Status != "approved" || len(rep.Missing) != 0 {
			t.Errorf("status %s, missing %v; want approved", rep.Status, rep.Missing)
		}
		want := []verify.Signature{
			{Decision: "approved", Name: maria, Role: "release-manager", Identity: x.rm.Signer.Identity, Meaning: "approved for release", SignedAt: x.rm.SignedAt, LogIndex: 2},
			{Decision: "approved", Name: sven, Role: "qa", Identity: x.qa.Signer.Identity, Meaning: "QA review: verification complete", Comment: "HIL and system tests reviewed", SignedAt: x.qa.SignedAt, LogIndex: 3},
		}
		if diff := cmp.Diff(want, rep.Signatures); diff != "" {
			t.Errorf("signatures (-want +got):\n%s", diff)
		}
		var detail string
		for _, c := range rep.Checks {
			if c.Name == "approvals" {
				detail = c.Detail
			}
		}
		// Name, time and meaning in the human-readable form (11.50).
		for _, s := range []string{maria, sven, `"approved for release"`, `"QA review: verification complete"`, x.rm.SignedAt.Format("2006-01-02 15:04:05 UTC"), "status APPROVED"} {
			if !strings.Contains(detail, s) {
				t.Errorf("the approvals check %q does not show %q", detail, s)
			}
		}
	})

	t.Run("the other release's pack", func(t *testing.T) {
		rep := verifyPack(t, x.export(t, evidence.ReleaseRef{Product: ref.Product, Version: "2.5.0"}), trust, x.arch.LogKey, false)
		if !rep.OK || rep.Status != "sealed" || len(rep.Signatures) != 1 {
			t.Errorf("2.5.0: ok %v status %s with %d signatures; want sealed with the release manager's (%v)", rep.OK, rep.Status, len(rep.Signatures), rep.Err())
		}
	})

	qaFile := pack.ApprovalFile(3)
	tests := []struct {
		name string
		pack func(t *testing.T) []byte
		// wantFailed are the checks that fail; none when the pack
		// verifies, with wantStatus.
		wantFailed []string
		contains   string // in the report's error
		wantStatus string
	}{
		{
			name: "a byte of an approval record flipped",
			pack: func(t *testing.T) []byte {
				return replaceEntry(t, exported, qaFile, func(b []byte) []byte { b[len(b)/2] ^= 0x01; return b })
			},
			wantFailed: []string{"pack", "approvals"}, contains: qaFile + ": content changed",
		},
		{
			name: "a byte of an approval record flipped, index re-signed",
			pack: func(t *testing.T) []byte {
				pf := readPack(t, exported)
				pf.content[qaFile][len(pf.content[qaFile])/2] ^= 0x01
				return pf.write(t, x)
			},
			wantFailed: []string{"approvals"}, contains: qaFile,
		},
		{
			name: "an approval record dropped",
			pack: func(t *testing.T) []byte {
				return rewriteTar(t, exported, func(n string, c []byte) ([]byte, bool) { return c, n != qaFile })
			},
			wantFailed: []string{"pack"}, contains: qaFile + ": listed in the index but missing",
		},
		{
			name: "an approval record dropped, index re-signed",
			pack: func(t *testing.T) []byte {
				pf := readPack(t, exported)
				pf.remove(qaFile)
				pf.remove(pack.ApprovalProofFile(3))
				return pf.write(t, x)
			},
			// What the archive could withhold: never approved.
			wantStatus: "sealed",
		},
		{
			name: "an approver's name replaced",
			pack: func(t *testing.T) []byte {
				return replaceEntry(t, exported, pack.ApproversFile, func(b []byte) []byte {
					return bytes.Replace(b, []byte(`"Sven Olsen"`), []byte(`"Sven Olssn"`), 1)
				})
			},
			wantFailed: []string{"pack", "approvals"}, contains: pack.ApproversFile + ": content changed",
		},
		{
			name: "an approver's name replaced, index re-signed",
			pack: func(t *testing.T) []byte {
				pf := readPack(t, exported)
				pf.content[pack.ApproversFile] = bytes.Replace(pf.content[pack.ApproversFile], []byte(`"Sven Olsen"`), []byte(`"Sven Olssn"`), 1)
				return pf.write(t, x)
			},
			wantFailed: []string{"approvals"}, contains: "Sven Olsen is not registered as qa",
		},
		{
			name: "an approver's key replaced, index re-signed",
			pack: func(t *testing.T) []byte {
				pf := readPack(t, exported)
				var approvers []pack.Approver
				if err := json.Unmarshal(pf.content[pack.ApproversFile], &approvers); err != nil {
					t.Fatal(err)
				}
				other, _ := newKey(t).Public().MarshalPEM()
				approvers[1].PublicKey = string(other)
				pf.content[pack.ApproversFile], _ = json.Marshal(approvers)
				return pf.write(t, x)
			},
			wantFailed: []string{"approvals"}, contains: "does not match its key ID",
		},
		{
			name: "an approval of the other release moved in, index re-signed",
			pack: func(t *testing.T) []byte {
				pf := readPack(t, exported)
				pf.content[qaFile] = x.rmNext
				return pf.write(t, x)
			},
			wantFailed: []string{"approvals"}, contains: "approves wearable-monitor@2.5.0",
		},
		{
			name: "the log proofs of two records swapped, index re-signed",
			pack: func(t *testing.T) []byte {
				pf := readPack(t, exported)
				a, b := pack.ApprovalProofFile(2), pack.ApprovalProofFile(3)
				pf.content[a], pf.content[b] = pf.content[b], pf.content[a]
				return pf.write(t, x)
			},
			wantFailed: []string{"approvals"}, contains: "is not this approval",
		},
		{
			name: "a record under a name that is not a log index, index re-signed",
			pack: func(t *testing.T) []byte {
				pf := readPack(t, exported)
				pf.names = append(pf.names, pack.ApprovalsDir+"/extra.sigstore.json")
				pf.content[pack.ApprovalsDir+"/extra.sigstore.json"] = x.bundleQA
				return pf.write(t, x)
			},
			wantFailed: []string{"approvals"}, contains: "not a recognised approval record name",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := verifyPack(t, tt.pack(t), trust, x.arch.LogKey, false)
			got := failedChecks(rep)
			if diff := cmp.Diff(tt.wantFailed, got, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("failed checks (-want +got):\n%s\n%v", diff, rep.Err())
			}
			if len(tt.wantFailed) > 0 {
				if rep.OK {
					t.Error("the report is OK with failed checks")
				}
				if !strings.Contains(rep.Err().Error(), tt.contains) {
					t.Errorf("the report %q does not mention %q", rep.Err(), tt.contains)
				}
				if rep.Status == "approved" {
					t.Error("a pack whose approvals fail still reports status approved")
				}
				return
			}
			if !rep.OK || rep.Status != tt.wantStatus {
				t.Errorf("ok %v, status %s; want ok, %s (%v)", rep.OK, rep.Status, tt.wantStatus, rep.Err())
			}
		})
	}
}

// A keyless approval in a pack verifies offline against the trusted root
// the pack carries; without a trusted root it cannot be checked, and the
// pack does not verify.
func TestPackKeylessApproval(t *testing.T) {
	dir, key, m := sealed(t)
	inst := testutil.NewSigstore(t, 0)
	arch := testutil.NewArchiveTrust(t, sign.Trust{Keys: []*sign.PublicKey{key.Public()}, TrustedRoot: inst.TrustedRoot}, inst.TrustedRootJSON(t))
	testutil.Push(t, arch.As(auth.RoleCI), dir)
	arch.RegisterKeylessApprover(t, maria, "release-manager", signtest.GitLabIssuer, `maria@acme-medical\.example`)

	tok := inst.GitLab.MustMint(t, map[string]any{"aud": "sigstore", "sub": "maria", "email": "maria@acme-medical.example", "email_verified": true, "exp": time.Now().Add(time.Minute).Unix()})
	signer, err := sign.NewKeylessSigner(sign.KeylessOptions{
		Token: func(context.Context) (string, error) { return tok, nil }, FulcioURL: inst.Fulcio.URL(), TSAURLs: []string{inst.TSA.URL()}, TrustedRoot: inst.TrustedRoot,
	})
	if err != nil {
		t.Fatal(err)
	}
	md := digest.FromBytes(testutil.ReadFile(t, filepath.Join(dir, verify.ManifestFile)))
	ap := testutil.NewApproval(m.Ref(), md, evidence.DecisionApproved, maria, "release-manager", "approved for release", key.Public())
	ap.Signer.Identity, ap.Signer.Authentication = signtest.GitLabIssuer, evidence.AuthOIDC
	if _, err := arch.As(auth.RoleApprover).SubmitApproval(context.Background(), testutil.SignBundle(t, testutil.ApprovalStatement(t, ap), signer)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := arch.As(auth.RoleAuditor).Export(context.Background(), m.Ref(), &buf); err != nil {
		t.Fatal(err)
	}
	trust := sign.Trust{Keys: []*sign.PublicKey{key.Public()}}

	rep := verifyPack(t, buf.Bytes(), trust, arch.LogKey, true)
	if !rep.OK || len(rep.Signatures) != 1 {
		t.Fatalf("with the pack's trusted root: ok %v, %d signatures (%v)", rep.OK, len(rep.Signatures), rep.Err())
	}
	s := rep.Signatures[0]
	if s.Name != maria || s.Identity != signtest.GitLabIssuer+"|maria@acme-medical.example" || !s.Timestamped {
		t.Errorf("signature %+v; want Maria's certificate, timestamped", s)
	}
	rep = verifyPack(t, buf.Bytes(), trust, arch.LogKey, false)
	if rep.OK || !cmp.Equal(failedChecks(rep), []string{"approvals"}) {
		t.Errorf("without a trusted root: ok %v, failed %v; want the approvals to fail", rep.OK, failedChecks(rep))
	}
}
