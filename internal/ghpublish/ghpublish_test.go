package ghpublish_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/ghpublish"
	"github.com/evident-dev/evident/internal/ghpublish/ghtest"
)

const (
	token = "ghs_test-token-0123456789"
	sha   = "4c6f2b9e0d1a3c5e7f9b8d6a4c2e0f1a3b5d7c9e"
)

// sleeps records the waits of a publisher instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func setup(t *testing.T) (*ghtest.Server, *ghpublish.Publisher, *sleeps) {
	t.Helper()
	gh := ghtest.New(t, "acme-medical", "wearable-monitor", token)
	sl := &sleeps{}
	p, err := ghpublish.New(ghpublish.Config{
		APIURL: gh.APIURL(), Repository: "acme-medical/wearable-monitor", Token: token,
		Retry: ghpublish.Retry{Sleep: sl.sleep}, UserAgent: "evident-test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return gh, p, sl
}

func assets() []ghpublish.Asset {
	return []ghpublish.Asset{
		{Name: "wearable-monitor-2.4.0.manifest.json", MediaType: "application/json", Data: []byte(`{"schemaVersion":"1"}` + "\n")},
		{Name: "wearable-monitor-2.4.0.bundle.sigstore.json", MediaType: "application/json", Data: []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`)},
	}
}

func actions(rs []ghpublish.AssetResult) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name+" "+r.Action)
	}
	return out
}

func wantErr(t *testing.T, err error, kind evidence.Kind, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s error containing %q", kind, contains)
	}
	if kind != "" && evidence.KindOf(err) != kind {
		t.Errorf("error kind %s, want %s: %v", evidence.KindOf(err), kind, err)
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Errorf("error %q does not contain %q", err, c)
		}
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error shows the token: %v", err)
	}
}

func TestAttachAssets(t *testing.T) {
	ctx := context.Background()
	gh, p, _ := setup(t)
	gh.AddRelease("v2.3.0", false)
	gh.AddRelease("v2.4.0", false)

	rel, res, err := p.AttachAssets(ctx, "v2.4.0", assets(), ghpublish.AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rel.Tag != "v2.4.0" || rel.Draft {
		t.Errorf("release %+v", rel)
	}
	want := []string{"wearable-monitor-2.4.0.manifest.json uploaded", "wearable-monitor-2.4.0.bundle.sigstore.json uploaded"}
	if diff := cmp.Diff(want, actions(res)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	got := gh.Release("v2.4.0")
	for _, a := range assets() {
		if ga := got.Asset(a.Name); ga == nil || string(ga.Data) != string(a.Data) || ga.ContentType != a.MediaType {
			t.Errorf("asset %s on the release: %+v", a.Name, ga)
		}
	}
	if n := len(gh.Release("v2.3.0").Assets); n != 0 {
		t.Errorf("the other release got %d assets", n)
	}
	// Uploads went to the release's upload_url (GHES: /api/uploads).
	uploads := 0
	for _, r := range gh.Requests() {
		if strings.HasPrefix(r, "POST "+ghtest.UploadPath+"/") {
			uploads++
		}
	}
	if uploads != 2 {
		t.Errorf("%d uploads to %s, want 2: %q", uploads, ghtest.UploadPath, gh.Requests())
	}

	t.Run("re-run with identical content is a no-op", func(t *testing.T) {
		before := len(gh.Requests())
		_, res, err := p.AttachAssets(ctx, "v2.4.0", assets(), ghpublish.AttachOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"wearable-monitor-2.4.0.manifest.json unchanged", "wearable-monitor-2.4.0.bundle.sigstore.json unchanged"}
		if diff := cmp.Diff(want, actions(res)); diff != "" {
			t.Errorf("results (-want +got):\n%s", diff)
		}
		for _, r := range gh.Requests()[before:] {
			if strings.HasPrefix(r, "POST") || strings.HasPrefix(r, "DELETE") {
				t.Errorf("a re-run changed something: %s", r)
			}
		}
	})

	t.Run("different content is refused", func(t *testing.T) {
		changed := assets()
		changed[1].Data = []byte(`{"another":"signature"}`)
		_, res, err := p.AttachAssets(ctx, "v2.4.0", changed, ghpublish.AttachOptions{})
		wantErr(t, err, evidence.KindConflict, "release v2.4.0 already has an asset wearable-monitor-2.4.0.bundle.sigstore.json with different content", "--replace")
		if diff := cmp.Diff([]string{"wearable-monitor-2.4.0.manifest.json unchanged"}, actions(res)); diff != "" {
			t.Errorf("results (-want +got):\n%s", diff)
		}
		if got := gh.Release("v2.4.0").Asset(changed[1].Name); string(got.Data) != string(assets()[1].Data) {
			t.Error("the asset was changed")
		}

		_, res, err = p.AttachAssets(ctx, "v2.4.0", changed, ghpublish.AttachOptions{Replace: true})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"wearable-monitor-2.4.0.manifest.json unchanged", "wearable-monitor-2.4.0.bundle.sigstore.json replaced"}
		if diff := cmp.Diff(want, actions(res)); diff != "" {
			t.Errorf("results (-want +got):\n%s", diff)
		}
		if got := gh.Release("v2.4.0").Asset(changed[1].Name); string(got.Data) != string(changed[1].Data) {
			t.Error("the asset was not replaced")
		}
	})
}

func TestAttachDraftFoundThroughPages(t *testing.T) {
	gh, p, _ := setup(t)
	gh.PageSize = 2
	gh.AddRelease("v2.4.0", true) // oldest: on the last page
	for i := range 5 {
		gh.AddRelease(fmt.Sprintf("v1.%d.0", i), false)
	}
	rel, _, err := p.AttachAssets(context.Background(), "v2.4.0", assets(), ghpublish.AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rel.Draft || len(gh.Release("v2.4.0").Assets) != 2 {
		t.Errorf("draft release %+v, assets %v", rel, gh.Release("v2.4.0").AssetNames())
	}
	pages := 0
	for _, r := range gh.Requests() {
		if r == "GET "+ghtest.APIPath+"/repos/acme-medical/wearable-monitor/releases" {
			pages++
		}
	}
	if pages != 3 {
		t.Errorf("listed %d pages of releases, want 3", pages)
	}
}

func TestAttachReplacesBrokenUpload(t *testing.T) {
	gh, p, _ := setup(t)
	rel := gh.AddRelease("v2.4.0", false)
	gh.AddAsset(rel, assets()[0].Name, []byte("half"), "starter")
	_, res, err := p.AttachAssets(context.Background(), "v2.4.0", assets(), ghpublish.AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Action != ghpublish.AssetUploaded {
		t.Errorf("results %v", actions(res))
	}
	if got := gh.Release("v2.4.0").Asset(assets()[0].Name); got.State != "uploaded" || string(got.Data) != string(assets()[0].Data) {
		t.Errorf("asset %+v", got)
	}
}

func TestAttachErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("no release for the tag", func(t *testing.T) {
		gh, p, _ := setup(t)
		gh.AddRelease("v2.3.0", false)
		_, _, err := p.AttachAssets(ctx, "v2.4.0", assets(), ghpublish.AttachOptions{})
		wantErr(t, err, evidence.KindNotFound, "GitHub release of tag v2.4.0 in acme-medical/wearable-monitor", "creates none", "gh release create v2.4.0")
	})
	t.Run("no tag", func(t *testing.T) {
		_, p, _ := setup(t)
		_, _, err := p.AttachAssets(ctx, "", assets(), ghpublish.AttachOptions{})
		wantErr(t, err, evidence.KindInvalid, "tag build")
	})
	t.Run("token without contents: write", func(t *testing.T) {
		gh, p, _ := setup(t)
		gh.AddRelease("v2.4.0", false)
		gh.ContentsWrite = false
		_, _, err := p.AttachAssets(ctx, "v2.4.0", assets(), ghpublish.AttachOptions{})
		wantErr(t, err, evidence.KindForbidden, "403 Resource not accessible by integration", `"contents: write"`, "permissions: contents: write")
	})
	t.Run("bad token", func(t *testing.T) {
		gh, _, _ := setup(t)
		p, err := ghpublish.New(ghpublish.Config{APIURL: gh.APIURL(), Repository: "acme-medical/wearable-monitor", Token: "wrong"})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = p.AttachAssets(ctx, "v2.4.0", assets(), ghpublish.AttachOptions{})
		wantErr(t, err, evidence.KindUnauthorized, "401 Bad credentials", "expired or revoked")
	})
	t.Run("repository the token cannot see", func(t *testing.T) {
		gh, _, _ := setup(t)
		p, err := ghpublish.New(ghpublish.Config{APIURL: gh.APIURL(), Repository: "acme-medical/private-thing", Token: token})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = p.AttachAssets(ctx, "v2.4.0", assets(), ghpublish.AttachOptions{})
		wantErr(t, err, evidence.KindNotFound, "acme-medical/private-thing does not exist or the token cannot see it")
	})
}

func TestNewRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  ghpublish.Config
		want string
	}{
		{"no token", ghpublish.Config{Repository: "a/b"}, "no GitHub token"},
		{"bad repository", ghpublish.Config{Repository: "a", Token: token}, `"a" is not OWNER/NAME`},
		{"bad API URL", ghpublish.Config{Repository: "a/b", Token: token, APIURL: "ftp://x"}, "not an http(s) URL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ghpublish.New(c.cfg)
			wantErr(t, err, "", c.want)
		})
	}
	if s := fmt.Sprintf("%v %#v %+v", ghpublish.Config{Token: token}, ghpublish.Config{Token: token}, ghpublish.Token(token)); strings.Contains(s, token) {
		t.Errorf("a printed config shows the token: %s", s)
	}
}

func TestRetry(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name      string
		route     string
		failures  []ghtest.Failure
		wantWaits []time.Duration // exact waits; nil: only count them
		nWaits    int
		wantErr   string
	}{
		{name: "5xx twice, then fine", route: "GET releases/tags",
			failures: []ghtest.Failure{ghtest.ServerError, ghtest.ServerError}, nWaits: 2},
		{name: "upload 5xx: the body is sent again", route: "POST upload",
			failures: []ghtest.Failure{ghtest.ServerError}, nWaits: 1},
		{name: "429 with Retry-After", route: "GET assets",
			failures: []ghtest.Failure{ghtest.TooManyRequests}, wantWaits: []time.Duration{time.Second}},
		{name: "secondary rate limit", route: "POST upload",
			failures: []ghtest.Failure{ghtest.SecondaryRateLimit}, wantWaits: []time.Duration{2 * time.Second}},
		{name: "primary rate limit that resets soon", route: "GET releases/tags",
			failures: []ghtest.Failure{ghtest.PrimaryRateLimit(time.Now().Add(3 * time.Second))}, nWaits: 1},
		{name: "outage", route: "GET releases/tags",
			failures: []ghtest.Failure{ghtest.ServerError, ghtest.ServerError, ghtest.ServerError, ghtest.ServerError, ghtest.ServerError},
			nWaits:   4, wantErr: "answered HTTP 502 Server Error to 5 attempts; GitHub may be having an outage, re-run the job later"},
		{name: "secondary rate limit that does not end", route: "POST check-runs",
			failures: []ghtest.Failure{ghtest.SecondaryRateLimit, ghtest.SecondaryRateLimit, ghtest.SecondaryRateLimit, ghtest.SecondaryRateLimit, ghtest.SecondaryRateLimit},
			nWaits:   4, wantErr: "rate limit still exceeded after 5 attempts"},
		{name: "primary rate limit for an hour: no waiting", route: "GET releases/tags",
			failures: []ghtest.Failure{ghtest.PrimaryRateLimit(time.Now().Add(time.Hour))},
			nWaits:   0, wantErr: "rate limit exhausted for this token until"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gh, p, sl := setup(t)
			gh.AddRelease("v2.4.0", false)
			gh.Fail(c.route, c.failures...)
			var err error
			if c.route == "POST check-runs" {
				_, err = p.CreateCheckRun(ctx, ghpublish.CheckRun{HeadSHA: sha, Success: true, Title: "t", Summary: "s"})
			} else {
				_, _, err = p.AttachAssets(ctx, "v2.4.0", assets(), ghpublish.AttachOptions{})
			}
			if c.wantErr != "" {
				wantErr(t, err, "", c.wantErr)
			} else if err != nil {
				t.Fatal(err)
			} else if len(gh.Release("v2.4.0").Assets) != 2 {
				t.Errorf("assets %v", gh.Release("v2.4.0").AssetNames())
			}
			waits := sl.waits()
			if c.wantWaits != nil {
				if diff := cmp.Diff(c.wantWaits, waits); diff != "" {
					t.Errorf("waits (-want +got):\n%s", diff)
				}
			} else if len(waits) != c.nWaits {
				t.Errorf("waited %d times (%v), want %d", len(waits), waits, c.nWaits)
			}
			for _, w := range waits {
				if w <= 0 || w > time.Minute {
					t.Errorf("wait %v out of bounds", w)
				}
			}
		})
	}
}

func TestCreateCheckRun(t *testing.T) {
	ctx := context.Background()
	gh, p, _ := setup(t)
	res, err := p.CreateCheckRun(ctx, ghpublish.CheckRun{
		Name: "evident", HeadSHA: sha, Success: false, Title: "wearable-monitor 2.4.0: NOT SEALED",
		Summary: "## ❌ policy failed\n", DetailsURL: "https://archive.example/x", ExternalID: "sha256:abc",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Conclusion != "failure" || res.URL == "" {
		t.Errorf("result %+v", res)
	}
	crs := gh.CheckRuns()
	if len(crs) != 1 {
		t.Fatalf("%d check runs", len(crs))
	}
	want := ghtest.CheckRun{ID: crs[0].ID, Name: "evident", HeadSHA: sha, Status: "completed", Conclusion: "failure",
		DetailsURL: "https://archive.example/x", ExternalID: "sha256:abc", Title: "wearable-monitor 2.4.0: NOT SEALED",
		Summary: "## ❌ policy failed\n", CompletedAt: crs[0].CompletedAt}
	if diff := cmp.Diff(want, crs[0]); diff != "" {
		t.Errorf("check run (-want +got):\n%s", diff)
	}

	t.Run("long summary is cut to GitHub's limit", func(t *testing.T) {
		_, err := p.CreateCheckRun(ctx, ghpublish.CheckRun{HeadSHA: sha, Success: true, Title: "t", Summary: strings.Repeat("é", 70000)})
		if err != nil {
			t.Fatal(err)
		}
		crs := gh.CheckRuns()
		if n := len([]rune(crs[len(crs)-1].Summary)); n != ghpublish.MaxCheckRunText {
			t.Errorf("summary of %d characters", n)
		}
	})
	t.Run("token without checks: write", func(t *testing.T) {
		gh.ChecksWrite = false
		defer func() { gh.ChecksWrite = true }()
		_, err := p.CreateCheckRun(ctx, ghpublish.CheckRun{HeadSHA: sha, Success: true, Title: "t", Summary: "s"})
		wantErr(t, err, evidence.KindForbidden, `"checks: write"`, "permissions: checks: write")
	})
	t.Run("bad commit", func(t *testing.T) {
		_, err := p.CreateCheckRun(ctx, ghpublish.CheckRun{HeadSHA: "main", Success: true, Title: "t", Summary: "s"})
		wantErr(t, err, evidence.KindInvalid, "not a 40-character hex SHA")
	})
}

// A GitHub that cannot be reached is retried, then reported as such.
func TestUnreachable(t *testing.T) {
	sl := &sleeps{}
	p, err := ghpublish.New(ghpublish.Config{
		APIURL: "http://127.0.0.1:1/api/v3", Repository: "acme-medical/wearable-monitor", Token: token,
		Retry: ghpublish.Retry{Sleep: sl.sleep, Attempts: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.CreateCheckRun(context.Background(), ghpublish.CheckRun{HeadSHA: sha, Success: true, Title: "t", Summary: "s"})
	wantErr(t, err, "", "GitHub API unreachable: POST http://127.0.0.1:1/api/v3/repos/acme-medical/wearable-monitor/check-runs failed 3 times", "check GITHUB_API_URL")
	if n := len(sl.waits()); n != 2 {
		t.Errorf("waited %d times, want 2", n)
	}
}
