package provenance

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/evident-dev/evident/internal/ci"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const commit = "8d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a09f8e7d6"

var (
	started  = time.Date(2025, 3, 4, 9, 15, 2, 0, time.UTC)
	finished = time.Date(2025, 3, 4, 10, 21, 47, 500_000_000, time.FixedZone("CET", 3600))
)

// githubInput is the firmware of the wearable built by a tag push on a
// GitHub-hosted runner, as ci.Detect describes that run.
func githubInput() Input {
	return Input{
		Run: ci.Run{
			System:            ci.SystemGitHubActions,
			Repository:        "https://github.com/acme/wearable",
			RepositoryID:      "712345678",
			RepositoryOwnerID: "98765432",
			ServerURL:         "https://github.com",
			Commit:            commit,
			Ref:               "refs/tags/v2.4.0",
			BuilderID:         "https://github.com/actions/runner/github-hosted",
			RunID:             "11940000001",
			RunAttempt:        "1",
			RunURL:            "https://github.com/acme/wearable/actions/runs/11940000001",
			Job:               "seal",
			InvocationID:      "https://github.com/acme/wearable/actions/runs/11940000001/attempts/1",
			Workflow:          "acme/wearable/.github/workflows/release.yml@refs/tags/v2.4.0",
			WorkflowPath:      ".github/workflows/release.yml",
			WorkflowRef:       "refs/tags/v2.4.0",
			Event:             "push",
			Actor:             "jdoe",
			Runner:            "GitHub Actions 12 (Linux/X64, github-hosted)",
			RunnerEnvironment: "github-hosted",
			Image:             "ubuntu24/20250105.1.0",
			OIDC:              ci.OIDC{Available: true, Issuer: "https://token.actions.githubusercontent.com"},
		},
		Component: "firmware",
		Artifacts: []evidence.Artifact{
			{Name: "firmware/build/wearable-fw-2.4.0.bin", Digest: digest.FromBytes([]byte("firmware image")), Size: 14, MediaType: "application/octet-stream"},
			{Name: "firmware/build/wearable-fw-2.4.0.elf", Digest: digest.FromBytes([]byte("firmware elf")), Size: 12, MediaType: "application/x-elf"},
		},
		BuildCommand: "make -C firmware release",
		Toolchain:    []evidence.Tool{{Name: "arm-none-eabi-gcc", Version: "13.2.1"}, {Name: "cmake", Version: "3.28.3"}},
		StartedAt:    started,
		FinishedAt:   finished,
	}
}

// gitlabInput is the cloud alert service built in a tag pipeline; the start
// time comes from the job (CI_JOB_STARTED_AT).
func gitlabInput() Input {
	return Input{
		Run: ci.Run{
			System:            ci.SystemGitLabCI,
			Repository:        "https://gitlab.example.com/medical/alert-service",
			RepositoryID:      "4711",
			RepositoryOwnerID: "815",
			ServerURL:         "https://gitlab.example.com",
			Commit:            commit,
			Ref:               "refs/tags/v2.4.0",
			BuilderID:         "https://gitlab.example.com/medical/alert-service/-/runners/12270",
			RunID:             "1200345",
			RunURL:            "https://gitlab.example.com/medical/alert-service/-/pipelines/1200345",
			Job:               "build-image",
			JobID:             "98001234",
			InvocationID:      "https://gitlab.example.com/medical/alert-service/-/jobs/98001234",
			Workflow:          ".gitlab-ci.yml",
			WorkflowPath:      ".gitlab-ci.yml",
			Event:             "push",
			Actor:             "jdoe",
			Runner:            "cloud-runner-1 (#12270, linux/amd64, gitlab-runner 17.4.0, tags: docker)",
			Image:             "golang:1.26@sha256:2b9a8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b",
			JobStartedAt:      started,
		},
		Component: "alert-service",
		Artifacts: []evidence.Artifact{
			{Name: "registry.example.com/medical/alert-service@sha256:" + digest.FromBytes([]byte("image")).Hex(), Digest: digest.FromBytes([]byte("image")), MediaType: "application/vnd.oci.image.index.v1+json"},
		},
		BuildCommand: "docker buildx build --push -t registry.example.com/medical/alert-service:2.4.0 .",
		Toolchain:    []evidence.Tool{{Name: "go", Version: "1.26.0"}, {Name: "docker-buildx", Version: "0.17.1"}},
		FinishedAt:   started.Add(4 * time.Minute),
	}
}

// localInput is the trend dashboard built on a developer's machine with
// uncommitted changes, without timing.
func localInput() Input {
	return Input{
		Run: ci.Run{
			System:     ci.SystemLocal,
			Repository: "https://github.com/acme/trend-dashboard",
			Commit:     commit,
			Ref:        "refs/heads/main",
			Dirty:      true,
			BuilderID:  ci.BuilderLocal,
			Runner:     "linux/amd64",
		},
		Component:    "trend-dashboard",
		Artifacts:    []evidence.Artifact{{Name: "dist/dashboard.tar.gz", Digest: digest.FromBytes([]byte("dashboard")), Size: 9}},
		BuildCommand: "npm run build",
	}
}

func TestBuildGolden(t *testing.T) {
	tests := []struct {
		name string
		in   Input
	}{
		{name: "github-actions", in: githubInput()},
		{name: "gitlab-ci", in: gitlabInput()},
		{name: "local", in: localInput()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := Build(tt.in)
			if err != nil {
				t.Fatalf("Build() error = %v", err)
			}
			golden := filepath.Join("testdata", tt.name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("Build() differs from %s (-want +got):\n%s", golden, diff)
			}

			// The bytes are a valid SLSA v1 predicate for the in-toto
			// schema, and indented with a trailing newline.
			var p slsa.Provenance
			if err := protojson.Unmarshal(got, &p); err != nil {
				t.Fatalf("predicate does not decode as SLSA v1: %v", err)
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("predicate does not validate: %v", err)
			}
			if p.GetRunDetails().GetBuilder().GetId() != tt.in.Run.BuilderID {
				t.Errorf("builder.id = %q, want %q", p.GetRunDetails().GetBuilder().GetId(), tt.in.Run.BuilderID)
			}
			if got := p.GetBuildDefinition().GetResolvedDependencies()[0].GetDigest()["gitCommit"]; got != commit {
				t.Errorf("source gitCommit = %q, want %q", got, commit)
			}
			if !bytes.HasSuffix(got, []byte("}\n")) || !bytes.Contains(got, []byte("\n  \"buildDefinition\": {")) {
				t.Errorf("predicate is not indented JSON with a trailing newline:\n%s", got)
			}
		})
	}
}

func TestBuildDeterministic(t *testing.T) {
	for _, in := range []Input{githubInput(), gitlabInput(), localInput()} {
		first, sum1, err := Build(in)
		if err != nil {
			t.Fatal(err)
		}
		// Parameters pass through Go maps, whose order is random on every
		// iteration: repeat enough to catch any dependence on it.
		for range 50 {
			again, sum2, err := Build(in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, again) {
				t.Fatalf("Build(%s) is not deterministic:\n%s\nvs\n%s", in.Component, first, again)
			}
			if diff := cmp.Diff(sum1, sum2); diff != "" {
				t.Fatalf("summary is not deterministic: %s", diff)
			}
		}
		st1, err := BuildStatement(in)
		if err != nil {
			t.Fatal(err)
		}
		st2, err := BuildStatement(in)
		if err != nil || !bytes.Equal(st1, st2) {
			t.Fatalf("BuildStatement(%s) is not deterministic (err %v)", in.Component, err)
		}
	}
}

func TestBuildSummary(t *testing.T) {
	start := started
	finish := finished.UTC()
	tests := []struct {
		name string
		in   Input
		want evidence.Provenance
	}{
		{
			name: "github-actions",
			in:   githubInput(),
			want: evidence.Provenance{
				CISystem:     "github-actions",
				SourceRepo:   "https://github.com/acme/wearable",
				Commit:       commit,
				Ref:          "refs/tags/v2.4.0",
				BuilderID:    "https://github.com/actions/runner/github-hosted",
				BuildType:    BuildTypeGitHubActions,
				RunID:        "11940000001",
				RunURL:       "https://github.com/acme/wearable/actions/runs/11940000001",
				Workflow:     "acme/wearable/.github/workflows/release.yml@refs/tags/v2.4.0",
				BuildCommand: "make -C firmware release",
				Runner:       "GitHub Actions 12 (Linux/X64, github-hosted)",
				Image:        "ubuntu24/20250105.1.0",
				Toolchain:    []evidence.Tool{{Name: "arm-none-eabi-gcc", Version: "13.2.1"}, {Name: "cmake", Version: "3.28.3"}},
				StartedAt:    &start,
				FinishedAt:   &finish,
			},
		},
		{
			name: "local without times",
			in:   localInput(),
			want: evidence.Provenance{
				CISystem:     "local",
				SourceRepo:   "https://github.com/acme/trend-dashboard",
				Commit:       commit,
				Ref:          "refs/heads/main",
				BuilderID:    ci.BuilderLocal,
				BuildType:    BuildTypeLocalGit,
				BuildCommand: "npm run build",
				Runner:       "linux/amd64",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := Build(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("summary mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildJobStartFallback(t *testing.T) {
	in := gitlabInput()
	_, sum, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if sum.StartedAt == nil || !sum.StartedAt.Equal(in.Run.JobStartedAt) {
		t.Errorf("StartedAt = %v, want the job's start %v", sum.StartedAt, in.Run.JobStartedAt)
	}
	in.StartedAt = started.Add(time.Minute)
	_, sum, err = Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.StartedAt.Equal(in.StartedAt) {
		t.Errorf("StartedAt = %v, want the given %v", sum.StartedAt, in.StartedAt)
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Input)
		wantErr string
	}{
		{name: "unknown system", change: func(in *Input) { in.Run.System = "jenkins" }, wantErr: `unknown CI system "jenkins"`},
		{name: "no commit", change: func(in *Input) { in.Run.Commit = "" }, wantErr: `source commit "" is not`},
		{name: "short commit", change: func(in *Input) { in.Run.Commit = "8d5c4b3" }, wantErr: "is not a 40-digit lower-case hex SHA-1"},
		{name: "upper-case commit", change: func(in *Input) { in.Run.Commit = strings.ToUpper(commit) }, wantErr: "is not a 40-digit"},
		{name: "sha-256 commit", change: func(in *Input) { in.Run.Commit = strings.Repeat("ab", 32) }, wantErr: "is not a 40-digit"},
		{name: "no builder", change: func(in *Input) { in.Run.BuilderID = "" }, wantErr: "the run has no builder id"},
		{name: "bad component", change: func(in *Input) { in.Component = "../firmware" }, wantErr: `component "../firmware"`},
		{name: "no component", change: func(in *Input) { in.Component = "" }, wantErr: "component is empty"},
		{name: "finished before started", change: func(in *Input) { in.FinishedAt = started.Add(-time.Second) }, wantErr: "build finished (2025-03-04T09:15:01Z) before it started (2025-03-04T09:15:02Z)"},
		{name: "nameless tool", change: func(in *Input) { in.Toolchain = []evidence.Tool{{Version: "1"}} }, wantErr: "toolchain[0] has no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := githubInput()
			tt.change(&in)
			_, _, err := Build(in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Build() error = %v, want it to contain %q", err, tt.wantErr)
			}
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Errorf("kind = %q, want %q", evidence.KindOf(err), evidence.KindInvalid)
			}
		})
	}
}

func TestBuildStatementRoundTrip(t *testing.T) {
	for _, in := range []Input{githubInput(), gitlabInput(), localInput()} {
		t.Run(in.Component, func(t *testing.T) {
			st, err := BuildStatement(in)
			if err != nil {
				t.Fatal(err)
			}
			pt, subjects, err := ReadStatement(bytes.NewReader(st))
			if err != nil {
				t.Fatalf("ReadStatement(BuildStatement()) error = %v\n%s", err, st)
			}
			if pt != PredicateType {
				t.Errorf("predicateType = %q, want %q", pt, PredicateType)
			}
			var want []Subject
			for _, a := range in.Artifacts {
				want = append(want, Subject{Name: a.Name, Digest: map[string]string{"sha256": a.Digest.Hex()}})
			}
			if diff := cmp.Diff(want, subjects); diff != "" {
				t.Errorf("subjects mismatch (-want +got):\n%s", diff)
			}
			// The statement's predicate is exactly Build's.
			pred, _, err := Build(in)
			if err != nil {
				t.Fatal(err)
			}
			var stmt struct{ Predicate json.RawMessage }
			if err := json.Unmarshal(st, &stmt); err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, stmt.Predicate, pred) {
				t.Errorf("statement predicate differs from Build's:\n%s\nvs\n%s", stmt.Predicate, pred)
			}
		})
	}
}

func TestBuildStatementErrors(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Input)
		wantErr string
	}{
		{name: "no artifacts", change: func(in *Input) { in.Artifacts = nil }, wantErr: "needs at least one artifact"},
		{name: "unnamed artifact", change: func(in *Input) { in.Artifacts[1].Name = "" }, wantErr: "artifacts[1]: name is empty"},
		{name: "artifact without digest", change: func(in *Input) { in.Artifacts[0].Digest = digest.Digest{} }, wantErr: "digest is missing"},
		{name: "bad run", change: func(in *Input) { in.Run.BuilderID = "" }, wantErr: "no builder id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := githubInput()
			tt.change(&in)
			if _, err := BuildStatement(in); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("BuildStatement() error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestGitHubConventions applies the same checks to the predicate GitHub's
// actions/attest-build-provenance wrote (from the corpus) and to ours, so
// that tools which know GitHub's shape find what they expect in evident's.
func TestGitHubConventions(t *testing.T) {
	theirs := corpusPredicate(t, "../../../testdata/corpus/sigstore/github_attestation_bundle-v0.3_no-tlog_tsa-only.jsonl")
	ours, _, err := Build(githubInput())
	if err != nil {
		t.Fatal(err)
	}
	var oursMap map[string]any
	if err := json.Unmarshal(ours, &oursMap); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]map[string]any{"attest-build-provenance": theirs, "evident": oursMap} {
		t.Run(name, func(t *testing.T) {
			checkGitHubConventions(t, p)
		})
	}
	// Every github internal parameter GitHub records, evident records too.
	theirKeys := keys(lookup(theirs, "buildDefinition", "internalParameters", "github"))
	ourKeys := keys(lookup(oursMap, "buildDefinition", "internalParameters", "github"))
	for _, k := range theirKeys {
		if !contains(ourKeys, k) {
			t.Errorf("internalParameters.github lacks %q (GitHub records %v)", k, theirKeys)
		}
	}
}

var (
	sourceURIRE    = regexp.MustCompile(`^git\+https://github\.com/[^/]+/[^/@]+@refs/[^ ]+$`)
	invocationIDRE = regexp.MustCompile(`^https://github\.com/[^/]+/[^/]+/actions/runs/\d+/attempts/\d+$`)
	builderIDRE    = regexp.MustCompile(`^https://github\.com/actions/runner/(github-hosted|self-hosted)$`)
)

func checkGitHubConventions(t *testing.T, p map[string]any) {
	t.Helper()
	wf := lookup(p, "buildDefinition", "externalParameters", "workflow")
	if diff := cmp.Diff([]string{"path", "ref", "repository"}, keys(wf)); diff != "" {
		t.Errorf("externalParameters.workflow keys (-want +got):\n%s", diff)
	}
	if repo, _ := wf["repository"].(string); !strings.HasPrefix(repo, "https://github.com/") {
		t.Errorf("workflow.repository = %q, want an https URL", repo)
	}
	if path, _ := wf["path"].(string); !strings.HasPrefix(path, ".github/workflows/") {
		t.Errorf("workflow.path = %q, want a path in .github/workflows/", path)
	}
	deps, _ := lookup(p, "buildDefinition")["resolvedDependencies"].([]any)
	if len(deps) == 0 {
		t.Fatal("no resolvedDependencies")
	}
	src, _ := deps[0].(map[string]any)
	if uri, _ := src["uri"].(string); !sourceURIRE.MatchString(uri) {
		t.Errorf("resolvedDependencies[0].uri = %q, want git+https://github.com/OWNER/REPO@REF", uri)
	}
	dg, _ := src["digest"].(map[string]any)
	if diff := cmp.Diff([]string{"gitCommit"}, keys(dg)); diff != "" {
		t.Errorf("resolvedDependencies[0].digest keys (-want +got):\n%s", diff)
	}
	if id, _ := lookup(p, "runDetails", "builder")["id"].(string); !builderIDRE.MatchString(id) {
		t.Errorf("builder.id = %q", id)
	}
	if inv, _ := lookup(p, "runDetails", "metadata")["invocationId"].(string); !invocationIDRE.MatchString(inv) {
		t.Errorf("metadata.invocationId = %q", inv)
	}
}

// corpusPredicate returns the predicate of the first bundle in a corpus file.
func corpusPredicate(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		DSSEEnvelope struct{ Payload string } `json:"dsseEnvelope"`
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&bundle); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.StdEncoding.DecodeString(bundle.DSSEEnvelope.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Predicate map[string]any }
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	return st.Predicate
}

func lookup(m map[string]any, path ...string) map[string]any {
	for _, k := range path {
		m, _ = m[k].(map[string]any)
	}
	return m
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return cmp.Equal(x, y)
}
