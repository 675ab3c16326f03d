package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", to tamper with the catalog

	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/testutil"
)

// These tests run evidentd in-process through run, main without the
// process. evidentd reads its EVIDENTD_* variables from the process
// environment, so they clear those the machine may have set and set their
// own with t.Setenv (and therefore do not run in parallel).

// result is what one command line did.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// clearEnv unsets, for the test, every EVIDENTD_* variable.
func clearEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "EVIDENTD_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

// evidentd runs one command line in-process.
func evidentd(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %v", code, r)
	}
}

// inProcess is evidentd serve running in-process.
type inProcess struct {
	url            string
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan int
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+)`)

// startServe runs evidentd serve args in-process. When it is listening it
// returns the server; when it exits first it returns nil and the result.
func startServe(t *testing.T, args ...string) (*inProcess, result) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &inProcess{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { s.done <- run(ctx, append([]string{"serve"}, args...), s.stdout, s.stderr) }()
	deadline := time.After(30 * time.Second)
	for {
		if m := listeningRE.FindStringSubmatch(s.stdout.String()); m != nil {
			s.url = m[1]
			t.Cleanup(func() { s.stop(t) })
			return s, result{}
		}
		select {
		case code := <-s.done:
			cancel()
			return nil, result{code: code, stdout: s.stdout.String(), stderr: s.stderr.String()}
		case <-deadline:
			cancel()
			<-s.done
			t.Fatalf("evidentd serve did not start within 30 s:\n%s%s", s.stdout, s.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stop cancels serve's context, as SIGTERM does, and returns its exit code.
func (s *inProcess) stop(t *testing.T) int {
	t.Helper()
	s.cancel()
	select {
	case code, ok := <-s.done:
		if ok {
			close(s.done)
			return code
		}
		return 0 // stopped before
	case <-time.After(time.Minute):
		t.Fatal("evidentd serve did not stop within a minute")
		return -1
	}
}

// TestConfigPrecedence checks where serve takes a setting from: the flag,
// else EVIDENTD_<NAME>, else the config file (--config or EVIDENTD_CONFIG),
// else the default. Each source names a different address; the ones that
// must lose name an invalid port, so that the error says which one won.
func TestConfigPrecedence(t *testing.T) {
	const (
		good       = "127.0.0.1:0"
		fromEnv    = "127.0.0.1:99991"
		fromConfig = "127.0.0.1:99992"
		fromFlag   = "127.0.0.1:99993"
	)
	dir := t.TempDir()
	pub := testutil.NewKey(t, dir, "release").PublicFile
	missing := filepath.Join(dir, "missing.pub")
	configWith := func(name, yaml string) string {
		p := filepath.Join(dir, name+".yaml")
		testutil.WriteFile(t, p, []byte(yaml))
		return p
	}
	configData := filepath.Join(dir, "data-from-config")

	tests := []struct {
		name string
		env  map[string]string
		args []string
		// wantListen: serve starts and prints this in its listening line;
		// otherwise it exits with wantCode and stderr contains wantErr.
		wantListen []string
		wantCode   int
		wantErr    string
		// ownData: the case sets the data directory itself; otherwise it
		// gets --data in a new directory.
		ownData bool
	}{
		{name: "flag", args: []string{"--addr", good}, wantListen: []string{"http://127.0.0.1:"}},
		{name: "environment when no flag", env: map[string]string{"EVIDENTD_ADDR": fromEnv},
			wantCode: exitError, wantErr: "listen on " + fromEnv},
		{name: "flag over environment", env: map[string]string{"EVIDENTD_ADDR": fromEnv}, args: []string{"--addr", good},
			wantListen: []string{"http://127.0.0.1:"}},
		{name: "config file when no flag or environment", args: []string{"--config", configWith("addr", "addr: "+fromConfig+"\n")},
			wantCode: exitError, wantErr: "listen on " + fromConfig},
		{name: "config file named by EVIDENTD_CONFIG", env: map[string]string{"EVIDENTD_CONFIG": configWith("addr", "addr: "+fromConfig+"\n")},
			wantCode: exitError, wantErr: "listen on " + fromConfig},
		{name: "environment over config file", env: map[string]string{"EVIDENTD_ADDR": fromEnv},
			args:     []string{"--config", configWith("addr", "addr: "+fromConfig+"\n")},
			wantCode: exitError, wantErr: "listen on " + fromEnv},
		{name: "flag over environment and config file", env: map[string]string{"EVIDENTD_ADDR": fromEnv},
			args:       []string{"--config", configWith("addr", "addr: "+fromConfig+"\n"), "--addr", good},
			wantListen: []string{"http://127.0.0.1:"}},
		{name: "flag with an invalid address", args: []string{"--addr", fromFlag},
			wantCode: exitError, wantErr: "listen on " + fromFlag},
		{name: "data directory from the config file", args: []string{"--config", configWith("data", "addr: "+good+"\ndata: "+configData+"\n")},
			wantListen: []string{"(data " + configData + ")"}, ownData: true},
		{name: "trusted keys from EVIDENTD_TRUSTED_KEY, comma-separated", env: map[string]string{"EVIDENTD_TRUSTED_KEY": pub + "," + missing},
			args: []string{"--addr", good}, wantCode: exitError, wantErr: "trusted key " + missing},
		{name: "trusted keys from the config file", args: []string{"--addr", good, "--config",
			configWith("keys", "trusted-key:\n  - "+pub+"\n  - "+missing+"\n")},
			wantCode: exitError, wantErr: "trusted key " + missing},
		{name: "malformed config file", args: []string{"--addr", good, "--config", configWith("bad", "addr: [\n")},
			wantCode: exitError, wantErr: "config " + filepath.Join(dir, "bad.yaml")},
		{name: "missing config file", args: []string{"--addr", good, "--config", filepath.Join(dir, "nope.yaml")},
			wantCode: exitError, wantErr: "nope.yaml"},
		{name: "empty data directory", args: []string{"--addr", good, "--data", ""},
			wantCode: exitUsage, wantErr: "--data must not be empty", ownData: true},
		{name: "unknown flag", args: []string{"--adress", good}, wantCode: exitUsage, wantErr: "unknown flag: --adress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := tt.args
			if !tt.ownData {
				args = append([]string{"--data", filepath.Join(t.TempDir(), "data")}, args...)
			}
			s, r := startServe(t, args...)
			if tt.wantListen != nil {
				if s == nil {
					t.Fatalf("serve did not start: %v", r)
				}
				line := s.stdout.String()
				for _, want := range tt.wantListen {
					if !strings.Contains(line, want) {
						t.Errorf("stdout %q does not contain %q", line, want)
					}
				}
				if code := s.stop(t); code != exitOK {
					t.Errorf("serve exited %d when stopped, want 0\n%s", code, s.stderr)
				}
				return
			}
			if s != nil {
				t.Fatalf("serve started (%s), want exit %d with %q", s.url, tt.wantCode, tt.wantErr)
			}
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("want exit %d with %q in stderr, got %v", tt.wantCode, tt.wantErr, r)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(configData, "catalog.db")); err != nil {
		t.Errorf("the data directory from the config file was not used: %v", err)
	}
}

func TestTokenCreate(t *testing.T) {
	clearEnv(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{name: "invalid role", args: []string{"--role", "superuser", "--name", "x"}, wantCode: exitUsage, wantErr: `--role "superuser"`},
		{name: "no role", args: []string{"--name", "x"}, wantCode: exitUsage, wantErr: "--role"},
		{name: "no name", args: []string{"--role", "ci"}, wantCode: exitUsage, wantErr: "--name"},
		{name: "path-like name", args: []string{"--role", "ci", "--name", "../x"}, wantCode: exitUsage, wantErr: "--name"},
		{name: "argument", args: []string{"--role", "ci", "--name", "x", "extra"}, wantCode: exitUsage, wantErr: "extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			wantCode(t, evidentd(t, "token", "create", "--data", data, "--role", "admin", "--name", "first"), exitOK)
			r := evidentd(t, append([]string{"token", "create", "--data", data}, tt.args...)...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) || r.stdout != "" {
				t.Errorf("want exit %d with %q in stderr and nothing on stdout, got %v", tt.wantCode, tt.wantErr, r)
			}
			// Nothing was stored: the list holds the first token only.
			l := evidentd(t, "token", "list", "--data", data)
			wantCode(t, l, exitOK)
			if lines := strings.Split(strings.TrimSpace(l.stdout), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "first") {
				t.Errorf("token list after a refused token create:\n%s", l.stdout)
			}
		})
	}
}

// TestTokenRevoke revokes a token while the server runs: the server then
// refuses it like an unknown one, token list still shows it, marked
// revoked, and the audit trail records the revocation.
func TestTokenRevoke(t *testing.T) {
	clearEnv(t)
	data := filepath.Join(t.TempDir(), "data")
	create := func(role, name string) string {
		r := evidentd(t, "token", "create", "--data", data, "--role", role, "--name", name)
		wantCode(t, r, exitOK)
		return strings.TrimSpace(r.stdout)
	}
	leaked, kept := create("admin", "leaked"), create("auditor", "kept")
	leakedID, keptID := auth.TokenID(leaked), auth.TokenID(kept)

	s, r := startServe(t, "--data", data, "--addr", "127.0.0.1:0")
	if s == nil {
		t.Fatalf("serve: %v", r)
	}
	status := func(token string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.url+"/api/v1/products", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(leaked); got != http.StatusOK {
		t.Fatalf("before revoking: status %d, want 200", got)
	}

	r = evidentd(t, "token", "revoke", "--data", data, leakedID)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stderr, "Revoked token "+leakedID) || r.stdout != "" {
		t.Errorf("token revoke: %v", r)
	}
	if got := status(leaked); got != http.StatusUnauthorized {
		t.Errorf("after revoking: status %d, want 401", got)
	}
	if got := status(kept); got != http.StatusOK {
		t.Errorf("the other token after revoking: status %d, want 200", got)
	}

	// Again: nothing changes, and that is not an error.
	list := func() string {
		t.Helper()
		l := evidentd(t, "token", "list", "--data", data)
		wantCode(t, l, exitOK)
		return l.stdout
	}
	before := list()
	wantCode(t, evidentd(t, "token", "revoke", "--data", data, leakedID), exitOK)
	if after := list(); after != before {
		t.Errorf("token list changed when revoking a revoked token:\n%s\nthen\n%s", before, after)
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(leakedID) + `\s+leaked\s+admin\s+\S+\s+revoked \S+$`).MatchString(before) {
		t.Errorf("token list does not show %s as revoked:\n%s", leakedID, before)
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(keptID) + `\s+kept\s+auditor\s+\S+\s+-$`).MatchString(before) {
		t.Errorf("token list does not show %s as not revoked:\n%s", keptID, before)
	}

	// Refused: an unknown ID, no ID, two IDs.
	for _, tt := range []struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		{args: []string{"tk-nope"}, wantCode: exitError, wantErr: `no token with ID "tk-nope"`},
		{args: nil, wantCode: exitUsage, wantErr: "want one token ID"},
		{args: []string{leakedID, keptID}, wantCode: exitUsage, wantErr: "want one token ID"},
	} {
		r := evidentd(t, append([]string{"token", "revoke", "--data", data}, tt.args...)...)
		if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
			t.Errorf("token revoke %q: want exit %d with %q in stderr, got %v", tt.args, tt.wantCode, tt.wantErr, r)
		}
	}
	if got := status(kept); got != http.StatusOK {
		t.Errorf("the other token after the refused revocations: status %d, want 200", got)
	}

	// The audit trail: one event per revocation that went through.
	db, err := sql.Open("sqlite", filepath.Join(data, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT target, outcome, actor FROM audit WHERE action = 'token.revoke' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var events []string
	for rows.Next() {
		var target, outcome, actor string
		if err := rows.Scan(&target, &outcome, &actor); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(actor, "local:evidentd token revoke") {
			t.Errorf("audit actor %q", actor)
		}
		events = append(events, target+" "+outcome)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"token:" + leakedID + " ok", "token:" + leakedID + " ok"}
	if strings.Join(events, "\n") != strings.Join(want, "\n") {
		t.Errorf("token.revoke audit events %q, want %q", events, want)
	}
}

// TestTokenListNeverPrintsSecrets creates tokens and checks that token
// list names them without their secrets, and that no file of the data
// directory holds a secret.
func TestTokenListNeverPrintsSecrets(t *testing.T) {
	clearEnv(t)
	data := filepath.Join(t.TempDir(), "data")
	type tok struct{ secret, role, name string }
	toks := []*tok{{role: "ci", name: "release-pipeline"}, {role: "auditor", name: "notified-body"}, {role: "admin", name: "ops"}}
	for _, k := range toks {
		r := evidentd(t, "token", "create", "--data", data, "--role", k.role, "--name", k.name)
		wantCode(t, r, exitOK)
		k.secret = strings.TrimSpace(r.stdout)
		if !strings.HasPrefix(k.secret, auth.TokenPrefix) || strings.Contains(r.stderr, k.secret) {
			t.Fatalf("token create: %v", r)
		}
	}
	r := evidentd(t, "token", "list", "--data", data)
	wantCode(t, r, exitOK)
	for _, k := range toks {
		id := auth.TokenID(k.secret)
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(id) + `\s+` + k.name + `\s+` + k.role + `\s`).MatchString(r.stdout) {
			t.Errorf("token list does not show %s %s %s:\n%s", id, k.name, k.role, r.stdout)
		}
		secretPart := strings.TrimPrefix(k.secret, auth.TokenPrefix)[8:]
		if strings.Contains(r.stdout+r.stderr, secretPart) {
			t.Errorf("token list prints the secret of %s:\n%s", k.name, r)
		}
	}
	err := filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, k := range toks {
			if bytes.Contains(b, []byte(k.secret)) {
				t.Errorf("%s holds the secret of token %s", p, k.name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// archiveWithRelease returns a data directory holding one release (the
// wearable example, 2.4.0), pushed through evidentd serve in-process, which
// is stopped again, and the release's key.
func archiveWithRelease(t *testing.T) (string, testutil.Key, *sealed) {
	t.Helper()
	key, rels := sealVersions(t, "2.4.0")
	data := filepath.Join(t.TempDir(), "data")
	r := evidentd(t, "token", "create", "--data", data, "--role", "ci", "--name", "ci")
	wantCode(t, r, exitOK)
	token := strings.TrimSpace(r.stdout)
	s, r := startServe(t, "--data", data, "--addr", "127.0.0.1:0", "--trusted-key", key.PublicFile)
	if s == nil {
		t.Fatalf("serve: %v", r)
	}
	c, err := newClientWith(s.url, token, &http.Client{Transport: &http.Transport{DisableKeepAlives: true}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := push(timeout(t, time.Minute), c, rels[0])
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	checkPushResult(t, res, rels[0], filepath.Join(data, "log.key.pub"))
	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve exited %d when stopped\n%s", code, s.stderr)
	}
	return data, key, rels[0]
}

// TestFsck runs evidentd fsck on an archive holding one release, intact
// and damaged in the ways storage gets damaged, and on an empty one.
func TestFsck(t *testing.T) {
	clearEnv(t)
	t.Run("empty data directory", func(t *testing.T) {
		data := t.TempDir()
		r := evidentd(t, "fsck", "--data", data)
		wantCode(t, r, exitOK)
		if !strings.Contains(r.stdout, "OK: no problems found") {
			t.Errorf("stdout:\n%s", r.stdout)
		}
	})

	src, key, rel := archiveWithRelease(t)
	other := testutil.NewKey(t, t.TempDir(), "other")
	// An evidence blob (not the manifest or bundle) to damage.
	victim := rel.all[0]

	tests := []struct {
		name    string
		damage  func(t *testing.T, data string)
		key     string
		want    int
		wantOut []string
	}{
		{name: "intact", key: key.PublicFile, want: exitOK,
			wantOut: []string{"releases:   1 checked", "signatures: 1 verified", "log:        1 entries recomputed", "OK: no problems found"}},
		{name: "intact without keys", want: exitOK,
			wantOut: []string{"signatures: not checked", "OK: no problems found"}},
		{name: "corrupted blob", key: key.PublicFile, want: exitProblems,
			damage:  func(t *testing.T, data string) { testutil.FlipByte(t, blobFile(data, victim), 10) },
			wantOut: []string{"PROBLEM: blob " + victim.String() + ": content hashes to"}},
		{name: "deleted blob", key: key.PublicFile, want: exitProblems,
			damage: func(t *testing.T, data string) {
				if err := os.Remove(blobFile(data, victim)); err != nil {
					t.Fatal(err)
				}
			},
			wantOut: []string{"PROBLEM: release " + rel.ref.String() + ": blob " + victim.String()}},
		{name: "deleted manifest", key: key.PublicFile, want: exitProblems,
			damage: func(t *testing.T, data string) {
				if err := os.Remove(blobFile(data, rel.manifest)); err != nil {
					t.Fatal(err)
				}
			},
			wantOut: []string{"PROBLEM: release " + rel.ref.String() + ": manifest"}},
		{name: "tampered log leaf", key: key.PublicFile, want: exitProblems,
			damage:  func(t *testing.T, data string) { tamperLogLeaf(t, data, 0, `"2.4.0"`, `"2.4.9"`) },
			wantOut: []string{"PROBLEM: log leaf 0 records wearable-monitor@2.4.9"}},
		{name: "signed by a key not trusted", key: other.PublicFile, want: exitProblems,
			wantOut: []string{"PROBLEM: release " + rel.ref.String()}},
		{name: "foreign file in the blob store", key: key.PublicFile, want: exitProblems,
			damage: func(t *testing.T, data string) {
				testutil.WriteFile(t, filepath.Join(data, "blobs", "sha256", "zz", "notes.txt"), []byte("x"))
			},
			wantOut: []string{"PROBLEM: blob store: ", filepath.Join("blobs", "sha256", "zz") + ": not part of the blob store"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			testutil.CopyTree(t, src, data)
			if tt.damage != nil {
				tt.damage(t, data)
			}
			args := []string{"fsck", "--data", data}
			if tt.key != "" {
				args = append(args, "--trusted-key", tt.key)
			}
			r := evidentd(t, args...)
			wantCode(t, r, tt.want)
			for _, w := range tt.wantOut {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout does not contain %q:\n%s", w, r.stdout)
				}
			}
			if problems := strings.Count(r.stdout, "PROBLEM:"); (problems > 0) != (tt.want == exitProblems) {
				t.Errorf("%d problems listed with exit %d:\n%s", problems, r.code, r.stdout)
			}
		})
	}
}

// tamperLogLeaf replaces old by new in the data of log leaf idx, directly
// in the SQLite catalog, as someone with write access to the file could.
func tamperLogLeaf(t *testing.T, data string, idx int, old, new string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(data, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var leaf []byte
	if err := db.QueryRow("SELECT data FROM log_leaves WHERE idx = ?", idx).Scan(&leaf); err != nil {
		t.Fatalf("read log leaf %d: %v", idx, err)
	}
	if !bytes.Contains(leaf, []byte(old)) {
		t.Fatalf("log leaf %d does not contain %s: %s", idx, old, leaf)
	}
	leaf = bytes.Replace(leaf, []byte(old), []byte(new), 1)
	res, err := db.Exec("UPDATE log_leaves SET data = ? WHERE idx = ?", leaf, idx)
	if err != nil {
		t.Fatalf("tamper with log leaf %d: %v", idx, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tamper with log leaf %d: %d rows changed", idx, n)
	}
}
