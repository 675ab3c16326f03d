package main

// evident approve, reject, revoke and status against an archive served
// in-process over HTTP, and the audit pack of the approved release verified
// offline by evident verify.

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/testutil"
	"github.com/evident-dev/evident/internal/tlog"
)

const (
	maria = "Dr. Maria Lindqvist"
	sven  = "Sven Olsen"
	ref   = "wearable-monitor@2.4.0"
)

// archiveServer is an archive served over HTTP in-process, with a token
// per role and its log key in a file.
type archiveServer struct {
	arch       *testutil.Archive
	url        string
	tokens     map[string]string
	logKeyFile string
}

func newArchiveServer(t *testing.T, trust sign.Trust, rootJSON []byte) *archiveServer {
	t.Helper()
	arch := testutil.NewArchiveTrust(t, trust, rootJSON)
	srv, token := testutil.NewServer(t, arch)
	s := &archiveServer{arch: arch, url: srv.URL, tokens: map[string]string{}}
	for _, role := range []string{auth.RoleCI, auth.RoleApprover, auth.RoleAuditor} {
		s.tokens[role] = token(role)
	}
	s.logKeyFile = filepath.Join(t.TempDir(), "log.pub")
	testutil.WriteFile(t, s.logKeyFile, []byte(arch.LogKey+"\n"))
	return s
}

// env is the environment of a caller of role: the server, its token, and
// extra.
func (s *archiveServer) env(role string, extra map[string]string) map[string]string {
	env := map[string]string{"EVIDENT_SERVER": s.url, "EVIDENT_TOKEN": s.tokens[role]}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// records returns the release's accepted approval records and the log size.
func (s *archiveServer) records(t *testing.T) ([]string, uint64) {
	t.Helper()
	ctx := context.Background()
	recs, err := s.arch.Catalog.Approvals(ctx, "wearable-monitor", "2.4.0")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Decision+" by "+r.Name)
	}
	info, err := s.arch.As(auth.RoleAuditor).LogInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return out, info.Size
}

// submissions counts the approval records the archive was sent, accepted
// or not: a check made locally must not send anything.
func (s *archiveServer) submissions(t *testing.T) int {
	t.Helper()
	evs, err := s.arch.Catalog.AuditEvents(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if strings.HasPrefix(e.Action, "approval.") {
			n++
		}
	}
	return n
}

// approver is a person with a passphrase-protected key pair, written by
// evident key generate, registered with the archive.
type approver struct {
	name, role, key, passphrase string
	pub                         *sign.PublicKey
}

func newApprover(t *testing.T, s *archiveServer, name, role, passphrase string) approver {
	t.Helper()
	priv, pub := keyFiles(t, map[string]string{envKeyPassword: passphrase})
	k := loadPub(t, pub)
	s.arch.RegisterApprover(t, name, role, k)
	return approver{name: name, role: role, key: priv, passphrase: passphrase, pub: k}
}

// sign runs evident DECISION REF as a, with args added.
func (a approver) sign(t *testing.T, s *archiveServer, decision string, args ...string) result {
	t.Helper()
	return evident(t, s.env(auth.RoleApprover, map[string]string{envKeyPassword: a.passphrase}),
		append([]string{decision, ref, "--key", a.key, "--name", a.name, "--role", a.role}, args...)...)
}

// loadPub reads a public key file.
func loadPub(t *testing.T, path string) *sign.PublicKey {
	t.Helper()
	k, err := sign.LoadPublicKey(testutil.ReadFile(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// push runs evident push dir as CI; it must succeed.
func (s *archiveServer) push(t *testing.T, dir string) {
	t.Helper()
	r := evident(t, s.env(auth.RoleCI, nil), "push", dir)
	wantCode(t, r, exitOK)
}

func decodeApproval(t *testing.T, r result) *api.ApprovalResult {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	for _, f := range []string{"release", "status", "missing", "signature", "log", "logKey"} {
		if _, ok := m[f]; !ok {
			t.Errorf("--json output has no %q:\n%s", f, r.stdout)
		}
	}
	var sig map[string]json.RawMessage
	if err := json.Unmarshal(m["signature"], &sig); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"decision", "name", "role", "identity", "authentication", "meaning", "signedAt", "timestamped", "record", "logIndex"} {
		if _, ok := sig[f]; !ok {
			t.Errorf("--json signature has no %q:\n%s", f, m["signature"])
		}
	}
	var res api.ApprovalResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	return &res
}

func wantStderr(t *testing.T, r result, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.stderr, p) {
			t.Errorf("stderr does not say %q:\n%s", p, r.stderr)
		}
	}
}

func wantStdout(t *testing.T, r result, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.stdout, p) {
			t.Errorf("stdout does not say %q:\n%s", p, r.stdout)
		}
	}
}

// TestApprove takes one release from sealed to approved to revoked with
// the CLI, refusing on the way everything that must be refused before
// anything is signed or sent.
func TestApprove(t *testing.T) {
	dir, releasePub, _ := sealedRelease(t)
	s := newArchiveServer(t, sign.Trust{Keys: []*sign.PublicKey{loadPub(t, releasePub)}}, nil)
	s.push(t, dir)
	mk := newApprover(t, s, maria, "release-manager", "maria-passphrase")
	sv := newApprover(t, s, sven, "qa", "sven-passphrase")
	meaningRM := []string{"--meaning", "approved for release"}

	t.Run("status before any approval", func(t *testing.T) {
		r := evident(t, s.env(auth.RoleAuditor, nil), "status", ref, "--json")
		wantCode(t, r, exitOK)
		var st api.ReleaseStatus
		decodeJSON(t, r, &st, "status", "signatures", "missing", "requiredRoles", "distinct", "allowUnencryptedKeys", "manifestDigest")
		if st.Status != api.StatusSealed || len(st.Signatures) != 0 || len(st.Missing) != 2 || !st.Distinct ||
			!cmp.Equal(st.RequiredRoles, []string{"release-manager", "qa"}) {
			t.Errorf("status %+v", st)
		}
	})

	// Refused before anything is signed: nothing reaches the archive.
	refusals := []struct {
		name     string
		run      func(t *testing.T) result
		code     int
		contains []string
	}{
		{"--yes missing off a terminal", func(t *testing.T) result {
			return mk.sign(t, s, "approve", meaningRM...)
		}, exitUsage, []string{"not a terminal", "--yes"}},
		{"wrong passphrase", func(t *testing.T) result {
			return evident(t, s.env(auth.RoleApprover, map[string]string{envKeyPassword: "not-marias-passphrase"}),
				"approve", ref, "--key", mk.key, "--name", maria, "--role", "release-manager", "--meaning", "approved for release", "--yes")
		}, exitError, []string{mk.key, "wrong passphrase"}},
		{"a key without passphrase", func(t *testing.T) result {
			return evident(t, s.env(auth.RoleApprover, nil),
				"approve", ref, "--key", unencryptedKey(t), "--name", maria, "--role", "release-manager", "--meaning", "approved for release", "--yes")
		}, exitError, []string{"has no passphrase", "two components", "21 CFR 11.200"}},
		{"reject without --comment", func(t *testing.T) result {
			return sv.sign(t, s, "reject", "--meaning", "rejected", "--yes")
		}, exitUsage, []string{"a rejected needs --comment"}},
		{"revoke without --comment", func(t *testing.T) result {
			return sv.sign(t, s, "revoke", "--meaning", "revoked", "--yes", "--comment", "  ")
		}, exitUsage, []string{"a revoked needs --comment"}},
		{"no --meaning", func(t *testing.T) result {
			return mk.sign(t, s, "approve", "--yes")
		}, exitUsage, []string{"--name, --role and --meaning are required"}},
		{"no key", func(t *testing.T) result {
			return evident(t, s.env(auth.RoleApprover, nil), "approve", ref, "--name", maria, "--role", "release-manager", "--meaning", "x", "--yes")
		}, exitUsage, []string{"--key KEY or --keyless is required"}},
		{"not a release reference", func(t *testing.T) result {
			return evident(t, s.env(auth.RoleApprover, nil), "approve", "wearable-monitor", "--key", mk.key, "--name", maria, "--role", "release-manager", "--meaning", "x", "--yes")
		}, exitUsage, nil},
		{"a release the archive does not have", func(t *testing.T) result {
			return evident(t, s.env(auth.RoleApprover, map[string]string{envKeyPassword: mk.passphrase}), "approve", "wearable-monitor@9.9.9",
				"--key", mk.key, "--name", maria, "--role", "release-manager", "--meaning", "x", "--yes")
		}, exitError, []string{"wearable-monitor@9.9.9"}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			recsBefore, sizeBefore := s.records(t)
			sent := s.submissions(t)
			r := tt.run(t)
			wantCode(t, r, tt.code)
			wantStderr(t, r, tt.contains...)
			if r.stdout != "" {
				t.Errorf("stdout of a refused command:\n%s", r.stdout)
			}
			recs, size := s.records(t)
			if !cmp.Equal(recsBefore, recs) || size != sizeBefore {
				t.Errorf("records %v, log size %d; before %v, %d", recs, size, recsBefore, sizeBefore)
			}
			if n := s.submissions(t); n != sent {
				t.Errorf("%d record(s) sent to the archive, want none", n-sent)
			}
		})
	}

	var rmSigned time.Time
	t.Run("approve --json", func(t *testing.T) {
		before := time.Now().Add(-time.Second)
		r := mk.sign(t, s, "approve", "--meaning", "approved for release", "--yes", "--json")
		wantCode(t, r, exitOK)
		// What is signed is shown before it is signed (on stderr, so that
		// stdout stays JSON).
		wantStderr(t, r, "wearable-monitor 2.4.0", "You are about to sign: APPROVED", maria+" (release-manager)", `"approved for release"`)
		res := decodeApproval(t, r)
		sig := res.Signature
		if res.Release != ref || res.Status != api.StatusSealed || len(res.Missing) != 1 || !strings.Contains(res.Missing[0], "qa") {
			t.Errorf("release %s status %s missing %v", res.Release, res.Status, res.Missing)
		}
		if sig.Decision != "approved" || sig.Name != maria || sig.Role != "release-manager" || sig.Identity != mk.pub.ID() ||
			sig.Authentication != evidence.AuthKeyPassphrase || sig.Meaning != "approved for release" || sig.Timestamped || sig.LogIndex != 1 {
			t.Errorf("signature %+v", sig)
		}
		if sig.SignedAt.Before(before) || sig.SignedAt.After(time.Now()) {
			t.Errorf("signed at %s, want about now", sig.SignedAt)
		}
		rmSigned = sig.SignedAt
		v, err := tlog.NewVerifier(res.LogKey)
		if err != nil || res.LogKey != s.arch.LogKey {
			t.Fatalf("log key %q: %v", res.LogKey, err)
		}
		e, _, err := res.Log.Verify(v)
		if err != nil || e.Type != tlog.EntryApproval || e.Record != sig.Record {
			t.Errorf("log entry %+v, %v", e, err)
		}
	})

	t.Run("the same person again", func(t *testing.T) {
		r := mk.sign(t, s, "approve", "--meaning", "approved for release", "--yes")
		wantCode(t, r, exitError)
		wantStderr(t, r, "already approved")
	})

	t.Run("approve", func(t *testing.T) {
		r := sv.sign(t, s, "approve", "--meaning", "QA review: verification complete", "--yes")
		wantCode(t, r, exitOK)
		wantStdout(t, r, "APPROVED "+ref+": "+sven+" (qa), ", ` — "QA review: verification complete"`,
			"recorded as log entry 2 (inclusion proof verified); release status: APPROVED")
	})

	t.Run("status", func(t *testing.T) {
		r := evident(t, s.env(auth.RoleAuditor, nil), "status", ref)
		wantCode(t, r, exitOK)
		wantStdout(t, r, "Approvals required for class C: release-manager + qa (different people)", "Status: APPROVED",
			maria, "release-manager", rmSigned.UTC().Format("2006-01-02 15:04:05"), `"approved for release"`,
			sven, `"QA review: verification complete"`)
		r = evident(t, s.env(auth.RoleAuditor, nil), "status", ref, "--json")
		wantCode(t, r, exitOK)
		var st api.ReleaseStatus
		decodeJSON(t, r, &st)
		if st.Status != api.StatusApproved || len(st.Signatures) != 2 || len(st.Missing) != 0 {
			t.Errorf("status %s with %d signatures, missing %v", st.Status, len(st.Signatures), st.Missing)
		}
	})

	pack := filepath.Join(t.TempDir(), "wearable-monitor-2.4.0.tar")
	t.Run("the audit pack verifies offline", func(t *testing.T) {
		wantCode(t, evident(t, s.env(auth.RoleAuditor, nil), "export", ref, "-o", pack), exitOK)
		r := evident(t, nil, "verify", pack, "--key", releasePub, "--log-key", s.logKeyFile)
		wantCode(t, r, exitOK)
		// Name, time and meaning of every signature (21 CFR 11.50).
		wantStdout(t, r, "Release status: APPROVED",
			"APPROVED "+maria+" (release-manager), "+rmSigned.UTC().Format("2006-01-02 15:04:05 UTC")+`: "approved for release"`,
			"APPROVED "+sven+" (qa), ", `: "QA review: verification complete"`, "VERIFIED "+ref)

		other := filepath.Join(t.TempDir(), "other.pub")
		_, otherKey, err := tlog.GenerateKey(testutil.LogOrigin)
		if err != nil {
			t.Fatal(err)
		}
		testutil.WriteFile(t, other, []byte(otherKey+"\n"))
		r = evident(t, nil, "verify", pack, "--key", releasePub, "--log-key", other)
		wantCode(t, r, exitVerification)
	})

	t.Run("revoke", func(t *testing.T) {
		r := sv.sign(t, s, "revoke", "--meaning", "revoked: field safety notice", "--comment", "FSN-2026-07", "--yes")
		wantCode(t, r, exitOK)
		wantStdout(t, r, "REVOKED "+ref+": "+sven, "release status: REVOKED")
		r = mk.sign(t, s, "reject", "--meaning", "rejected", "--comment", "too late", "--yes")
		wantCode(t, r, exitError)
		wantStderr(t, r, "revoked by "+sven, "nothing more can be signed")
		recs, _ := s.records(t)
		if want := []string{"approved by " + maria, "approved by " + sven, "revoked by " + sven}; !cmp.Equal(recs, want) {
			t.Errorf("records %v, want %v", recs, want)
		}
	})
}
