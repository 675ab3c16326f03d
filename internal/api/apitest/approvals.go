package apitest

// The approval part of the contract: Part 11 electronic signatures on a
// pushed release. Each test gets a new archive holding the example
// release, with a release manager (Maria) and QA (Sven) registered, each
// with their own key; the release was sealed with fx.key, which is not an
// approver's.

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/testutil"
	"github.com/evident-dev/evident/internal/tlog"
	"github.com/evident-dev/evident/internal/verify"
)

// The approvers of the approval tests and what class C needs of them.
const (
	maria   = "Dr. Maria Lindqvist"
	sven    = "Sven Olsen"
	roleRM  = "release-manager"
	roleQA  = "qa"
	meanRM  = "approved for release"
	meanQA  = "QA review: verification complete"
	needQA  = "an approval by a qa (a person who has not filled another required role)"
	needRM  = "an approval by a release-manager (a person who has not filled another required role)"
	comment = "field safety notice FSN-2026-07: recall"
)

// statusOfKind is the HTTP status of each error kind (openapi.json).
var statusOfKind = map[evidence.Kind]int{
	evidence.KindInvalid:      http.StatusBadRequest,
	evidence.KindNotFound:     http.StatusNotFound,
	evidence.KindConflict:     http.StatusConflict,
	evidence.KindUnauthorized: http.StatusUnauthorized,
	evidence.KindForbidden:    http.StatusForbidden,
	evidence.KindVerification: http.StatusUnprocessableEntity,
	evidence.KindPolicy:       http.StatusUnprocessableEntity,
	evidence.KindTooLarge:     http.StatusRequestEntityTooLarge,
}

// signers is an archive set up for approvals: the example pushed, Maria
// and Sven registered, and a key nobody registered.
type signers struct {
	env                    Env
	maria, sven, outsider  *sign.PrivateKey
	approver, auditor, adm api.Archive
}

func setupApprovals(t *testing.T, fx *fixture, env Env) *signers {
	t.Helper()
	if env.RegisterApprover == nil {
		t.Fatal("Env.RegisterApprover is nil: the approval tests need to register approvers")
	}
	push(t, env, fx.base)
	s := &signers{env: env, maria: newKey(t), sven: newKey(t), outsider: newKey(t),
		approver: env.As(auth.RoleApprover), auditor: env.As(auth.RoleAuditor), adm: env.As(auth.RoleAdmin)}
	env.RegisterApprover(t, maria, roleRM, s.maria.Public())
	env.RegisterApprover(t, sven, roleQA, s.sven.Public())
	return s
}

// record is an approval record of fx.base by name in role signed with key.
func (fx *fixture) record(decision, name, role, meaning string, key *sign.PrivateKey) evidence.Approval {
	return testutil.NewApproval(fx.base.ref(), fx.base.req.Manifest, decision, name, role, meaning, key.Public())
}

// signed signs ap with key, after edit.
func signed(t *testing.T, key *sign.PrivateKey, ap evidence.Approval, edit ...func(*evidence.Approval)) []byte {
	t.Helper()
	for _, e := range edit {
		e(&ap)
	}
	return testutil.SignApproval(t, key, ap)
}

func submit(t *testing.T, a api.Archive, bundle []byte) *api.ApprovalResult {
	t.Helper()
	res, err := a.SubmitApproval(context.Background(), bundle)
	if err != nil {
		t.Fatalf("SubmitApproval: %v (kind %s)", err, evidence.KindOf(err))
	}
	return res
}

func status(t *testing.T, env Env, ref evidence.ReleaseRef) *api.ReleaseStatus {
	t.Helper()
	st, err := env.As(auth.RoleAuditor).Status(context.Background(), ref)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return st
}

// snapshot is what an archive has recorded about a release's approvals,
// and whether it holds a bundle.
type snapshot struct {
	status     string
	signatures []api.Signature
	logSize    uint64
	stored     bool
}

func takeSnapshot(t *testing.T, env Env, ref evidence.ReleaseRef, bundle digest.Digest) snapshot {
	t.Helper()
	st := status(t, env, ref)
	rc, _, err := env.As(auth.RoleAuditor).GetBlob(context.Background(), bundle)
	switch {
	case err == nil:
		rc.Close()
	case evidence.KindOf(err) != evidence.KindNotFound:
		t.Fatalf("GetBlob %s: %v", bundle, err)
	}
	return snapshot{status: st.Status, signatures: st.Signatures, logSize: logInfo(t, env).Size, stored: err == nil}
}

// wantRefused submits bundle as a principal of role, wants an error of kind
// naming every one of contains, and checks that nothing was recorded: the
// release's status and signatures and the log are as before, and the
// bundle was not stored (unless it already was). With Env.SubmitStatus it
// also checks the HTTP status of the refusal.
func wantRefused(t *testing.T, fx *fixture, env Env, role string, bundle []byte, kind evidence.Kind, contains ...string) {
	t.Helper()
	before := takeSnapshot(t, env, fx.base.ref(), digest.FromBytes(bundle))
	_, err := env.As(role).SubmitApproval(context.Background(), bundle)
	wantKind(t, err, kind, contains...)
	if env.SubmitStatus != nil {
		if got, want := env.SubmitStatus(t, role, bundle), statusOfKind[kind]; got != want {
			t.Errorf("over HTTP: status %d, want %d for a %s error", got, want, kind)
		}
	}
	after := takeSnapshot(t, env, fx.base.ref(), digest.FromBytes(bundle))
	if diff := cmp.Diff(before, after, cmp.AllowUnexported(snapshot{}), cmpDigest, equateEmpty); diff != "" {
		t.Errorf("a refused record changed what the archive holds (-before +after):\n%s", diff)
	}
}

// wantSignature checks an accepted record as the archive reports it, and
// its log proof when there is one.
func wantSignature(t *testing.T, got api.Signature, ap evidence.Approval, bundle []byte, index uint64) {
	t.Helper()
	want := api.Signature{
		Decision: ap.Decision, Name: ap.Signer.Name, Role: ap.Signer.Role, Identity: ap.Signer.Identity,
		Authentication: ap.Signer.Authentication, Meaning: ap.Meaning, Comment: ap.Comment,
		SignedAt: ap.SignedAt, Timestamped: false, Record: digest.FromBytes(bundle), LogIndex: index,
	}
	if diff := cmp.Diff(want, got, cmpDigest); diff != "" {
		t.Errorf("signature (-want +got):\n%s", diff)
	}
}

// wantApprovalEntry checks that res's proof verifies with its log key and
// logs the record bundle for fx.base.
func wantApprovalEntry(t *testing.T, fx *fixture, res *api.ApprovalResult, bundle []byte) {
	t.Helper()
	if res.Log == nil {
		t.Fatal("no log proof")
	}
	v, err := tlog.NewVerifier(res.LogKey)
	if err != nil {
		t.Fatalf("log key: %v", err)
	}
	e, _, err := res.Log.Verify(v)
	if err != nil {
		t.Fatalf("the log proof does not verify: %v", err)
	}
	want := tlog.Entry{Type: tlog.EntryApproval, Product: fx.base.m.Product.Name, Version: fx.base.m.Product.Version,
		Manifest: fx.base.req.Manifest, Record: digest.FromBytes(bundle)}
	if diff := cmp.Diff(want, e, cmpDigest); diff != "" {
		t.Errorf("log entry (-want +got):\n%s", diff)
	}
	if res.Log.Index != res.Signature.LogIndex {
		t.Errorf("proof of entry %d, the signature says %d", res.Log.Index, res.Signature.LogIndex)
	}
}

// testApprovals signs the example release through to approved, then
// revokes it, checking what every step reports.
func testApprovals(t *testing.T, fx *fixture, env Env) {
	s := setupApprovals(t, fx, env)
	ref := fx.base.ref()

	st := status(t, env, ref)
	if st.Status != api.StatusSealed || len(st.Signatures) != 0 {
		t.Errorf("before any approval: status %s with %d signatures", st.Status, len(st.Signatures))
	}
	if diff := cmp.Diff([]string{roleRM, roleQA}, st.RequiredRoles); diff != "" || !st.Distinct || st.AllowUnencryptedKeys {
		t.Errorf("class C approval policy: roles %v distinct %v unencrypted %v; want release-manager + qa, distinct, no unencrypted keys", st.RequiredRoles, st.Distinct, st.AllowUnencryptedKeys)
	}
	if diff := cmp.Diff([]string{needRM, needQA}, st.Missing); diff != "" {
		t.Errorf("missing before any approval (-want +got):\n%s", diff)
	}

	// The release manager signs: one role of two filled.
	rm := fx.record(evidence.DecisionApproved, maria, roleRM, meanRM, s.maria)
	rmBundle := signed(t, s.maria, rm)
	res := submit(t, s.approver, rmBundle)
	if res.Release != ref.String() || res.Status != api.StatusSealed {
		t.Errorf("after the release manager: release %s status %s, want %s sealed", res.Release, res.Status, ref)
	}
	if diff := cmp.Diff([]string{needQA}, res.Missing); diff != "" {
		t.Errorf("missing after the release manager (-want +got):\n%s", diff)
	}
	wantSignature(t, res.Signature, rm, rmBundle, 1)
	wantApprovalEntry(t, fx, res, rmBundle)
	if res.LogKey != logInfo(t, env).VerifierKey {
		t.Errorf("the result's log key is not the archive's")
	}

	// QA signs: approved.
	qa := fx.record(evidence.DecisionApproved, sven, roleQA, meanQA, s.sven)
	qaBundle := signed(t, s.sven, qa)
	res = submit(t, s.approver, qaBundle)
	if res.Status != api.StatusApproved || len(res.Missing) != 0 {
		t.Errorf("after QA: status %s missing %v, want approved, nothing missing", res.Status, res.Missing)
	}
	wantSignature(t, res.Signature, qa, qaBundle, 2)
	wantApprovalEntry(t, fx, res, qaBundle)

	// Every reader sees it: status lists both signatures with name, role,
	// time and meaning; the release and its history say approved.
	st = status(t, env, ref)
	if st.Status != api.StatusApproved || len(st.Missing) != 0 || len(st.Signatures) != 2 {
		t.Fatalf("status %s, missing %v, %d signatures; want approved with 2", st.Status, st.Missing, len(st.Signatures))
	}
	wantSignature(t, st.Signatures[0], rm, rmBundle, 1)
	wantSignature(t, st.Signatures[1], qa, qaBundle, 2)
	if st.ManifestDigest != fx.base.req.Manifest || st.Product != ref.Product || st.Version != ref.Version {
		t.Errorf("status of %s@%s %s", st.Product, st.Version, st.ManifestDigest)
	}
	rel, err := s.auditor.Release(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if rel.Status != api.StatusApproved {
		t.Errorf("Release says status %s, want approved", rel.Status)
	}
	hist, err := s.auditor.History(context.Background(), ref.Product)
	if err != nil || len(hist) != 1 || hist[0].Status != api.StatusApproved {
		t.Errorf("History = %+v, %v; want the release, approved", hist, err)
	}
	b, _ := readBlob(t, s.auditor, digest.FromBytes(qaBundle))
	if !bytes.Equal(b, qaBundle) {
		t.Error("the stored record is not the submitted bundle")
	}

	// A revocation (a recall) is a new record; the earlier ones stay.
	rev := fx.record(evidence.DecisionRevoked, sven, roleQA, "revoked: recall", s.sven)
	rev.Comment = comment
	revBundle := signed(t, s.sven, rev)
	res = submit(t, s.adm, revBundle)
	if res.Status != api.StatusRevoked || len(res.Missing) != 0 {
		t.Errorf("after the revocation: status %s missing %v", res.Status, res.Missing)
	}
	wantSignature(t, res.Signature, rev, revBundle, 3)
	st = status(t, env, ref)
	if st.Status != api.StatusRevoked || len(st.Signatures) != 3 {
		t.Fatalf("after the revocation: status %s with %d signatures, want revoked with 3", st.Status, len(st.Signatures))
	}
	wantSignature(t, st.Signatures[0], rm, rmBundle, 1)
	if info := logInfo(t, env); info.Size != 4 {
		t.Errorf("log size %d, want 4 (the release and three records)", info.Size)
	}
}

// testApprovalRefused submits records the archive must refuse, one after
// the other into the same archive, and checks after each that nothing was
// recorded.
func testApprovalRefused(t *testing.T, fx *fixture, env Env) {
	s := setupApprovals(t, fx, env)
	// The key that sealed the release, registered as an approver: it may
	// still not approve the release it sealed.
	env.RegisterApprover(t, "Release Pipeline", roleRM, fx.key.Public())
	rm := fx.record(evidence.DecisionApproved, maria, roleRM, meanRM, s.maria)
	_, unknown := randomBlob(t, 64)
	manifestJSON := testutil.ReadFile(t, filepath.Join(fx.base.dir, verify.ManifestFile))

	tests := []struct {
		name     string
		role     string // the caller's token role (default approver)
		bundle   func(t *testing.T) []byte
		kind     evidence.Kind
		contains []string
	}{
		{
			name: "a manifest the archive does not have",
			bundle: func(t *testing.T) []byte {
				return signed(t, s.maria, rm, func(a *evidence.Approval) { a.ManifestDigest = unknown })
			},
			kind: evidence.KindNotFound, contains: []string{unknown.String(), "wearable-monitor@2.4.0"},
		},
		{
			name: "a release the archive does not have",
			bundle: func(t *testing.T) []byte {
				return signed(t, s.maria, rm, func(a *evidence.Approval) { a.Version = "9.9.9" })
			},
			kind: evidence.KindNotFound, contains: []string{"wearable-monitor@9.9.9"},
		},
		{
			name: "signed by a key not in the registry",
			bundle: func(t *testing.T) []byte {
				return signed(t, s.outsider, rm, func(a *evidence.Approval) { a.Signer.Identity = s.outsider.Public().ID() })
			},
			kind: evidence.KindForbidden, contains: []string{"not signed by a registered approver"},
		},
		{
			name: "a registered key in a role it is not registered for",
			bundle: func(t *testing.T) []byte {
				return signed(t, s.maria, rm, func(a *evidence.Approval) { a.Signer.Role = roleQA })
			},
			kind: evidence.KindForbidden, contains: []string{s.maria.Public().ID(), "release-manager", `not "qa"`},
		},
		{
			name: "a registered key under another name",
			bundle: func(t *testing.T) []byte {
				return signed(t, s.maria, rm, func(a *evidence.Approval) { a.Signer.Name = sven })
			},
			kind: evidence.KindForbidden, contains: []string{`signed as "Sven Olsen"`, `belongs to "Dr. Maria Lindqvist"`},
		},
		{
			name: "by the sealer",
			bundle: func(t *testing.T) []byte {
				return signed(t, fx.key, rm, func(a *evidence.Approval) {
					a.Signer.Name, a.Signer.Identity = "Release Pipeline", fx.key.Public().ID()
				})
			},
			kind: evidence.KindForbidden, contains: []string{"sealed wearable-monitor@2.4.0 and cannot also approve it"},
		},
		{
			name: "a key without passphrase, which the policy does not allow",
			bundle: func(t *testing.T) []byte {
				return signed(t, s.maria, rm, func(a *evidence.Approval) { a.Signer.Authentication = evidence.AuthKey })
			},
			kind: evidence.KindForbidden, contains: []string{"no passphrase", "two components"},
		},
		{
			name: "a rejection without a comment",
			bundle: func(t *testing.T) []byte {
				return signed(t, s.maria, rm, func(a *evidence.Approval) { a.Decision = evidence.DecisionRejected })
			},
			kind: evidence.KindInvalid, contains: []string{"a rejected needs a comment"},
		},
		{
			name: "a revocation without a comment",
			bundle: func(t *testing.T) []byte {
				return signed(t, s.maria, rm, func(a *evidence.Approval) { a.Decision = evidence.DecisionRevoked; a.Comment = "  " })
			},
			kind: evidence.KindInvalid, contains: []string{"a revoked needs a comment"},
		},
		{
			name: "an empty meaning",
			bundle: func(t *testing.T) []byte {
				return signed(t, s.maria, rm, func(a *evidence.Approval) { a.Meaning = "" })
			},
			kind: evidence.KindInvalid, contains: []string{"meaning is empty"},
		},
		{
			name: "the subject is not the manifest in the predicate",
			bundle: func(t *testing.T) []byte {
				st := testutil.ApprovalStatement(t, rm)
				st.Subjects[0].Digest = unknown
				return testutil.SignBundle(t, st, sign.NewKeySigner(s.maria))
			},
			kind: evidence.KindInvalid, contains: []string{"only subject must be the manifest"},
		},
		{
			name: "a second subject",
			bundle: func(t *testing.T) []byte {
				st := testutil.ApprovalStatement(t, rm)
				st.Subjects = append(st.Subjects, sign.Subject{Name: "other", Digest: unknown})
				return testutil.SignBundle(t, st, sign.NewKeySigner(s.maria))
			},
			kind: evidence.KindInvalid, contains: []string{"only subject must be the manifest"},
		},
		{
			name: "signed in the future, without a trusted time",
			bundle: func(t *testing.T) []byte {
				return signed(t, s.maria, rm, func(a *evidence.Approval) { a.SignedAt = time.Now().Add(time.Hour).UTC().Truncate(time.Second) })
			},
			kind: evidence.KindInvalid, contains: []string{"in the future"},
		},
		{
			name: "a release statement signed by a registered key",
			bundle: func(t *testing.T) []byte {
				st := sign.Statement{PredicateType: evidence.PredicateTypeRelease, Predicate: manifestJSON,
					Subjects: []sign.Subject{{Name: ref(fx), Digest: fx.base.req.Manifest}}}
				return testutil.SignBundle(t, st, sign.NewKeySigner(s.maria))
			},
			kind: evidence.KindInvalid, contains: []string{"predicate type", evidence.PredicateTypeApproval},
		},
		{
			name: "the record names another signer than the key",
			bundle: func(t *testing.T) []byte {
				return signed(t, s.maria, rm, func(a *evidence.Approval) { a.Signer.Identity = s.sven.Public().ID() })
			},
			kind: evidence.KindInvalid, contains: []string{"is not who signed it"},
		},
		{
			name: "claims a keyless login, signed with a key",
			bundle: func(t *testing.T) []byte {
				return signed(t, s.maria, rm, func(a *evidence.Approval) { a.Signer.Authentication = evidence.AuthOIDC })
			},
			kind: evidence.KindInvalid, contains: []string{`authentication "oidc"`},
		},
		{
			name:   "not a bundle",
			bundle: func(t *testing.T) []byte { return []byte(`{"hello":"world"}`) },
			kind:   evidence.KindInvalid,
		},
		{
			name: "submitted with a CI token",
			role: auth.RoleCI,
			bundle: func(t *testing.T) []byte {
				return signed(t, s.maria, rm, func(a *evidence.Approval) { a.Meaning = "submitted by CI" })
			},
			kind: evidence.KindForbidden, contains: []string{`"ci"`},
		},
		{
			name: "submitted with an auditor token",
			role: auth.RoleAuditor,
			bundle: func(t *testing.T) []byte {
				return signed(t, s.maria, rm, func(a *evidence.Approval) { a.Meaning = "submitted by an auditor" })
			},
			kind: evidence.KindForbidden, contains: []string{`"auditor"`},
		},
		{
			name: "submitted without credentials",
			role: "",
			bundle: func(t *testing.T) []byte {
				return signed(t, s.maria, rm, func(a *evidence.Approval) { a.Meaning = "submitted anonymously" })
			},
			kind: evidence.KindUnauthorized,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			role := tt.role
			if role == "" && tt.kind != evidence.KindUnauthorized {
				role = auth.RoleApprover
			}
			wantRefused(t, fx, env, role, tt.bundle(t), tt.kind, tt.contains...)
		})
	}
	// None of it was recorded, and the right record still is.
	if st := status(t, env, fx.base.ref()); st.Status != api.StatusSealed || len(st.Signatures) != 0 {
		t.Errorf("after the refusals: status %s with %d signatures", st.Status, len(st.Signatures))
	}
	res := submit(t, s.approver, signed(t, s.maria, rm))
	if res.Signature.LogIndex != 1 {
		t.Errorf("the first accepted record is log entry %d, want 1", res.Signature.LogIndex)
	}
}

func ref(fx *fixture) string { return fx.base.ref().String() }

// testApprovalSequence checks the order records may come in (21 CFR
// 11.10(f)): one person signs a decision once, whatever their roles; no
// approval after a rejection; nothing after a revocation.
func testApprovalSequence(t *testing.T, fx *fixture, env Env) {
	s := setupApprovals(t, fx, env)
	// Maria also holds the QA role (a person with two roles is registered
	// twice).
	env.RegisterApprover(t, maria, roleQA, s.maria.Public())
	type step struct {
		name     string
		bundle   []byte
		kind     evidence.Kind // "" when accepted
		contains []string
		status   string // after the step
	}
	rm := fx.record(evidence.DecisionApproved, maria, roleRM, meanRM, s.maria)
	again := rm
	again.SignedAt = again.SignedAt.Add(-time.Second) // another record, the same decision
	asQA := fx.record(evidence.DecisionApproved, maria, roleQA, meanQA, s.maria)
	reject := fx.record(evidence.DecisionRejected, sven, roleQA, "rejected: verification incomplete", s.sven)
	reject.Comment = "the HIL report of wm-firmware is from 3.1.1"
	approveAfter := fx.record(evidence.DecisionApproved, sven, roleQA, meanQA, s.sven)
	revoke := fx.record(evidence.DecisionRevoked, maria, roleRM, "revoked", s.maria)
	revoke.Comment = comment
	revokeAgain := fx.record(evidence.DecisionRevoked, sven, roleQA, "revoked", s.sven)
	revokeAgain.Comment = comment
	rejectAfter := reject
	rejectAfter.Comment = "after the recall"
	rmBundle := signed(t, s.maria, rm)
	steps := []step{
		{name: "the release manager approves", bundle: rmBundle, status: api.StatusSealed},
		{name: "the same bundle again", bundle: rmBundle, kind: evidence.KindConflict, contains: []string{maria, "already approved"}, status: api.StatusSealed},
		{name: "the same person approves again", bundle: signed(t, s.maria, again), kind: evidence.KindConflict, contains: []string{maria, "already approved", "log entry 1"}, status: api.StatusSealed},
		{name: "the same person approves in another role", bundle: signed(t, s.maria, asQA), kind: evidence.KindConflict, contains: []string{maria, "already approved"}, status: api.StatusSealed},
		{name: "QA rejects", bundle: signed(t, s.sven, reject), status: api.StatusRejected},
		{name: "an approval after the rejection", bundle: signed(t, s.sven, approveAfter), kind: evidence.KindConflict, contains: []string{"rejected by Sven Olsen", "cannot be approved"}, status: api.StatusRejected},
		{name: "the release manager revokes", bundle: signed(t, s.maria, revoke), status: api.StatusRevoked},
		{name: "a revocation after the revocation", bundle: signed(t, s.sven, revokeAgain), kind: evidence.KindConflict, contains: []string{"revoked by " + maria, "nothing more can be signed"}, status: api.StatusRevoked},
		{name: "a rejection after the revocation", bundle: signed(t, s.sven, rejectAfter), kind: evidence.KindConflict, contains: []string{"revoked"}, status: api.StatusRevoked},
	}
	accepted := 0
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.kind != "" {
				wantRefused(t, fx, env, auth.RoleApprover, st.bundle, st.kind, st.contains...)
			} else {
				res := submit(t, s.approver, st.bundle)
				accepted++
				if res.Signature.LogIndex != uint64(accepted) {
					t.Errorf("log index %d, want %d", res.Signature.LogIndex, accepted)
				}
			}
			if got := status(t, env, fx.base.ref()); got.Status != st.status || len(got.Signatures) != accepted {
				t.Errorf("status %s with %d signatures, want %s with %d", got.Status, len(got.Signatures), st.status, accepted)
			}
		})
	}
}

// testApprovalNoApprovers: an archive without a registry accepts no record.
func testApprovalNoApprovers(t *testing.T, fx *fixture, env Env) {
	push(t, env, fx.base)
	key := newKey(t)
	bundle := signed(t, key, fx.record(evidence.DecisionApproved, maria, roleRM, meanRM, key))
	wantRefused(t, fx, env, auth.RoleApprover, bundle, evidence.KindForbidden, "no registered approvers")
}
