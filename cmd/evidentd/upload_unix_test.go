//go:build unix

package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/testutil"
)

// uploadServer starts the real evidentd with args on a new data directory
// and returns it and a CI token.
func uploadServer(t *testing.T, args ...string) (testutil.Binaries, *testutil.Server, string) {
	t.Helper()
	bins := testutil.BuildBinaries(t)
	data := filepath.Join(t.TempDir(), "data")
	token := testutil.CreateToken(t, bins.Evidentd, data, "ci", "release-pipeline")
	srv := testutil.StartServer(t, bins.Evidentd, testutil.ServerOptions{Data: data, Args: args})
	srv.WaitReady(30 * time.Second)
	return bins, srv, token
}

// tmpFiles lists the blob store's temp files.
func tmpFiles(t *testing.T, data string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(data, "blobs", "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// checkMissing fails the test unless the archive reports exactly want of ds
// as missing.
func checkMissing(t *testing.T, url, token string, ds, want []digest.Digest) {
	t.Helper()
	got, err := newClient(t, url, token).MissingBlobs(timeout(t, time.Minute), ds)
	if err != nil {
		t.Fatalf("missing blobs: %v", err)
	}
	if diff := cmp.Diff(digestStrings(want), digestStrings(got)); diff != "" {
		t.Errorf("missing blobs (-want +got):\n%s", diff)
	}
}

func digestStrings(ds []digest.Digest) []string {
	ss := []string{}
	for _, d := range ds {
		ss = append(ss, d.String())
	}
	return ss
}

// checkStored fails the test unless the blob store holds exactly content
// under its digest.
func checkStored(t *testing.T, data string, content []byte) {
	t.Helper()
	b, err := os.ReadFile(blobFile(data, digest.FromBytes(content)))
	if err != nil {
		t.Fatalf("the blob is not stored: %v", err)
	}
	if !bytes.Equal(b, content) {
		t.Fatalf("the stored blob differs from what was uploaded (%d bytes, want %d)", len(b), len(content))
	}
}

// TestAbortedUpload: a client that disconnects half way through a 50 MB
// upload leaves nothing stored and nothing behind, and the same blob can be
// uploaded afterwards.
func TestAbortedUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("runs evidentd; not with -short")
	}
	_, srv, token := uploadServer(t)
	data := srv.Data()
	before := blobFiles(t, data)

	u := startUpload(t, srv.URL(), token, 50<<20, 1)
	u.send(t, 25<<20)
	waitInFlight(t, srv, 1)
	u.conn.Close()

	// The server notices, ends the request and removes its temp file.
	deadline := time.Now().Add(30 * time.Second)
	for srv.Metric("evidentd_http_requests_in_flight") != 0 || len(tmpFiles(t, data)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("30 s after the client went away: %v requests in flight, temp files %v",
				srv.Metric("evidentd_http_requests_in_flight"), tmpFiles(t, data))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if after := blobFiles(t, data); !slices.Equal(before, after) {
		t.Errorf("blob files changed by an aborted upload: before %v, after %v", before, after)
	}
	checkMissing(t, srv.URL(), token, []digest.Digest{u.d}, []digest.Digest{u.d})
	checkHealthz(t, srv.URL())
	if strings.Contains(srv.Output(), `"level":"ERROR"`) {
		t.Errorf("a client going away was logged as a server error:\n%s", srv.Output())
	}

	// Whole, it is stored.
	if err := newClient(t, srv.URL(), token).PutBlob(timeout(t, time.Minute), u.d, int64(len(u.content)), bytes.NewReader(u.content)); err != nil {
		t.Fatalf("uploading the whole blob: %v", err)
	}
	checkMissing(t, srv.URL(), token, []digest.Digest{u.d}, []digest.Digest{})
	checkStored(t, data, u.content)
}

// TestSIGTERMDuringUpload: SIGTERM lets an upload in progress finish within
// the shutdown timeout, or abandons it after, storing nothing of it; either
// way the process exits 0 and starts again on the same data.
func TestSIGTERMDuringUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("runs evidentd; not with -short")
	}
	tests := []struct {
		name string
		args []string
		// finish: the client sends the rest after SIGTERM.
		finish bool
	}{
		{name: "finished within the shutdown timeout", finish: true},
		{name: "abandoned after the shutdown timeout", args: []string{"--shutdown-timeout", "1s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bins, srv, token := uploadServer(t, tt.args...)
			data := srv.Data()
			url := srv.URL()
			u := startUpload(t, url, token, 4<<20, 2)
			u.send(t, 2<<20)
			waitInFlight(t, srv, 1)

			srv.Signal(syscall.SIGTERM)
			// Shutting down: new connections are refused at once.
			deadline := time.Now().Add(10 * time.Second)
			for {
				c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second)
				if err != nil {
					break
				}
				c.Close()
				if time.Now().After(deadline) {
					t.Fatal("evidentd still accepts connections 10 s after SIGTERM")
				}
				time.Sleep(20 * time.Millisecond)
			}

			if tt.finish {
				u.send(t, -1)
				if status, body := u.response(t); status != http.StatusCreated {
					t.Fatalf("the upload finished after SIGTERM: %d %s", status, body)
				}
			}
			if code := srv.Wait(30 * time.Second); code != 0 {
				t.Fatalf("evidentd exited %d after SIGTERM, want 0", code)
			}
			if !tt.finish {
				u.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				if resp, err := http.ReadResponse(u.br, nil); err == nil {
					t.Errorf("the abandoned upload was answered %s", resp.Status)
				}
				if _, err := os.Stat(blobFile(data, u.d)); !os.IsNotExist(err) {
					t.Errorf("the abandoned upload is visible as a blob (%v)", err)
				}
			}
			if r := testutil.RunBinary(t, bins.Evidentd, nil, "fsck", "--data", data); r.Code != 0 {
				t.Errorf("evidentd fsck after the shutdown: %v", r)
			}

			srv.Start()
			srv.WaitReady(30 * time.Second)
			if tt.finish {
				checkMissing(t, srv.URL(), token, []digest.Digest{u.d}, []digest.Digest{})
				checkStored(t, data, u.content)
			} else {
				checkMissing(t, srv.URL(), token, []digest.Digest{u.d}, []digest.Digest{u.d})
			}
		})
	}
}
