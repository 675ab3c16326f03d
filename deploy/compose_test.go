package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

const composeDir = "compose"

// loadCompose loads dir/compose.yaml as docker compose would, with the
// variables of dir/.env.example and nothing from this process's
// environment: the compose specification's schema is validated, variables
// interpolated (a missing ${VAR:?} is an error) and references between
// services, volumes and networks checked.
func loadCompose(t *testing.T, dir string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")},
		cli.WithWorkingDirectory(dir),
		cli.WithEnvFiles(filepath.Join(dir, ".env.example")),
		cli.WithDotEnv,
		cli.WithLoadOptions(func(o *loader.Options) {
			o.SkipValidation = false
			o.SkipInterpolation = false
			o.SkipConsistencyCheck = false
			o.ResolvePaths = true
		}),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

func env(s types.ServiceConfig, name string) string {
	if v := s.Environment[name]; v != nil {
		return *v
	}
	return ""
}

// The services compose.yaml must have, and what evidentd waits for.
var evidentdNeeds = map[string]string{
	"postgres":   types.ServiceConditionHealthy,
	"minio":      types.ServiceConditionHealthy,
	"minio-init": types.ServiceConditionCompletedSuccessfully,
}

// checkCompose checks a loaded project: healthchecks, dependencies, and
// what evidentd is given against its real flags and the other services.
func checkCompose(p *types.Project, flags flagSet, health healthcheckCLI, repo string) []error {
	var pr problems
	svc := p.Services
	for _, name := range []string{"postgres", "minio", "minio-init", "evidentd"} {
		if _, ok := svc[name]; !ok {
			pr.add("no service %s", name)
		}
	}
	if len(pr) > 0 {
		return pr
	}

	// One-shot services are those others wait to complete; every other
	// service runs on, restarts, and has a healthcheck.
	oneShot := map[string]bool{}
	for _, s := range svc {
		for dep, d := range s.DependsOn {
			if d.Condition == types.ServiceConditionCompletedSuccessfully {
				oneShot[dep] = true
			}
		}
	}
	for _, name := range sortedKeys(svc) {
		s := svc[name]
		if oneShot[name] {
			if s.Restart != "" && s.Restart != types.RestartPolicyNo {
				pr.add("service %s: others wait for it to complete, so it must not restart (restart: %s)", name, s.Restart)
			}
			continue
		}
		hc := s.HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 2 || (hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL") {
			pr.add("service %s: no healthcheck", name)
		}
		if s.Restart != types.RestartPolicyUnlessStopped && s.Restart != types.RestartPolicyAlways {
			pr.add("service %s: restart: want unless-stopped", name)
		}
		for dep, d := range s.DependsOn {
			switch d.Condition {
			case types.ServiceConditionHealthy:
				if t, ok := svc[dep]; !ok || t.HealthCheck == nil || t.HealthCheck.Disable {
					pr.add("service %s waits for %s to be healthy, which has no healthcheck", name, dep)
				}
			case types.ServiceConditionCompletedSuccessfully:
			default:
				pr.add("service %s: depends_on %s: condition %s; a started service is not a ready one (service_healthy or service_completed_successfully)", name, dep, d.Condition)
			}
		}
	}

	e := svc["evidentd"]
	for dep, cond := range evidentdNeeds {
		if got := e.DependsOn[dep].Condition; got != cond {
			pr.add("service evidentd: depends_on %s: condition %q, want %s", dep, got, cond)
		}
	}
	checkComposeEvidentd(&pr, p, flags, health, repo)

	// Stateful services keep their data in named volumes.
	dataDirs := map[string]string{"postgres": "/var/lib/postgresql", "evidentd": "/data"}
	if cmd := svc["minio"].Command; len(cmd) > 0 {
		dataDirs["minio"] = cmd[len(cmd)-1] // minio server DIR
	}
	for name, dir := range dataDirs {
		if !slices.ContainsFunc(svc[name].Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && v.Source != "" && strings.HasPrefix(v.Target, dir)
		}) {
			pr.add("service %s: no named volume for its data in %s: it would be lost with the container", name, dir)
		}
	}
	for _, name := range []string{"postgres", "minio"} {
		if len(svc[name].Ports) > 0 {
			pr.add("service %s publishes ports: only evidentd needs to be reachable", name)
		}
	}
	return pr
}

func checkComposeEvidentd(pr *problems, p *types.Project, flags flagSet, health healthcheckCLI, repo string) {
	svc := p.Services
	e := svc["evidentd"]

	// The image is the repository's Dockerfile.
	if e.Build == nil {
		pr.add("service evidentd: no build: the image is built from the repository's Dockerfile")
	} else if !sameDir(e.Build.Context, repo) {
		pr.add("service evidentd: build context %s is not the repository root %s", e.Build.Context, repo)
	} else if df := e.Build.Dockerfile; df == "" {
		pr.add("service evidentd: build: no dockerfile")
	} else if _, err := os.Stat(filepath.Join(repo, df)); err != nil {
		pr.add("service evidentd: dockerfile: %v", err)
	}

	// Its command and environment.
	settings := map[string][]string{}
	for name, v := range e.Environment {
		if !strings.HasPrefix(name, "EVIDENTD_") {
			continue
		}
		flag, ok := flags.fromEnv(name)
		if !ok {
			pr.add("service evidentd: environment %s: evidentd serve has no flag --%s", name, flag)
			continue
		}
		if v != nil && *v != "" {
			settings[flag] = strings.Split(*v, ",")
		}
	}
	if len(e.Command) == 0 || e.Command[0] != "serve" {
		pr.add("service evidentd: command %q: want serve and its flags", []string(e.Command))
	} else {
		vals, errs := flags.parseArgs(e.Command[1:])
		for _, err := range errs {
			pr.add("service evidentd: command: %v", err)
		}
		for k, v := range vals {
			settings[k] = v
		}
	}
	port := 0
	if addr := last(settings["addr"]); addr == "" {
		pr.add("service evidentd: no --addr: the default 127.0.0.1:8080 cannot be reached from outside the container")
	} else if n, err := listenPort(addr); err != nil {
		pr.add("service evidentd: %v", err)
	} else {
		port = n
	}
	if !slices.ContainsFunc(e.Ports, func(pc types.ServicePortConfig) bool { return int(pc.Target) == port }) {
		pr.add("service evidentd: port %d (--addr) is not published", port)
	}
	for _, pc := range e.Ports {
		if pc.HostIP != "127.0.0.1" {
			pr.add("service evidentd: port %d is published on %q: publish it on 127.0.0.1 only (plain HTTP; TLS is a proxy's job)", pc.Target, pc.HostIP)
		}
	}

	// The catalog is the postgres service's database.
	pg := svc["postgres"]
	if u, err := url.Parse(last(settings["catalog"])); err != nil || u.Scheme != "postgres" {
		pr.add("service evidentd: --catalog %q: want postgres://...", last(settings["catalog"]))
	} else {
		pass, _ := u.User.Password()
		if pass == "" {
			pass = env(e, "PGPASSWORD")
		}
		switch {
		case u.Hostname() != "postgres" || (u.Port() != "" && u.Port() != "5432"):
			pr.add("service evidentd: --catalog: host %s is not the postgres service", u.Host)
		case u.User.Username() != env(pg, "POSTGRES_USER") || strings.TrimPrefix(u.Path, "/") != env(pg, "POSTGRES_DB"):
			pr.add("service evidentd: --catalog: user %s, database %s; the postgres service creates %s, %s",
				u.User.Username(), u.Path, env(pg, "POSTGRES_USER"), env(pg, "POSTGRES_DB"))
		case pass != env(pg, "POSTGRES_PASSWORD"):
			pr.add("service evidentd: the catalog's password (in the URL or PGPASSWORD) is not the postgres service's POSTGRES_PASSWORD")
		}
	}

	// The blobs are in the bucket minio-init creates, with the key it
	// creates for evidentd.
	init := svc["minio-init"]
	script := strings.Join(init.Command, "\n")
	u, err := url.Parse(last(settings["blobs"]))
	if err != nil || u.Scheme != "s3" {
		pr.add("service evidentd: --blobs %q: want s3://...", last(settings["blobs"]))
		return
	}
	bucket := u.Host
	if ep, err := url.Parse(u.Query().Get("endpoint")); err != nil || ep.Hostname() != "minio" {
		pr.add("service evidentd: --blobs: endpoint %q is not the minio service", u.Query().Get("endpoint"))
	}
	if !regexp.MustCompile(`(?m)^\s*mc mb .*\s[\w.-]+/` + regexp.QuoteMeta(bucket) + `\s*$`).MatchString(script) {
		pr.add("service evidentd: bucket %s is not created by minio-init (mc mb ALIAS/%s)", bucket, bucket)
	}
	if env(e, "AWS_ACCESS_KEY_ID") != env(init, "EVIDENTD_S3_ACCESS_KEY") || env(e, "AWS_SECRET_ACCESS_KEY") != env(init, "EVIDENTD_S3_SECRET_KEY") {
		pr.add("service evidentd: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not the key minio-init creates (EVIDENTD_S3_ACCESS_KEY, EVIDENTD_S3_SECRET_KEY)")
	}
	policyMounted := false
	for _, v := range init.Volumes {
		if v.Type != types.VolumeTypeBind || !strings.Contains(script, "policy create") || !strings.Contains(script, v.Target) {
			continue
		}
		policyMounted = true
		pol, err := readPolicy(v.Source)
		if err != nil {
			pr.add("service minio-init: %v", err)
			continue
		}
		for _, err := range pol.check(bucket) {
			pr.add("service minio-init: %s: %v", filepath.Base(v.Source), err)
		}
	}
	if !policyMounted {
		pr.add("service minio-init: no policy file mounted and given to mc admin policy create")
	}

	// The image has no shell and no HTTP client: the healthcheck is
	// evidentd's own healthcheck subcommand, run by the image's binary.
	hc := e.HealthCheck
	if hc == nil || len(hc.Test) < 2 {
		return
	}
	if hc.Test[0] != "CMD" {
		pr.add("service evidentd: healthcheck %s: the image has no shell, use CMD", hc.Test[0])
	}
	if e.Build != nil {
		if bin, err := imageEntrypoint(filepath.Join(repo, e.Build.Dockerfile)); err != nil {
			pr.add("service evidentd: %v", err)
		} else if hc.Test[1] != bin {
			pr.add("service evidentd: the healthcheck runs %s, which is not the image's evidentd (%s); the distroless image has no other program", hc.Test[1], bin)
		}
	}
	if len(hc.Test) < 3 || hc.Test[2] != "healthcheck" {
		pr.add("service evidentd: the healthcheck runs %q: want the evidentd healthcheck subcommand", []string(hc.Test[1:]))
		return
	}
	probe := health.defaultURL
	if addr := env(e, "EVIDENTD_ADDR"); addr != "" {
		// Without --url, healthcheck asks this port; serve's --addr wins.
		n, err := listenPort(addr)
		if err != nil {
			pr.add("service evidentd: EVIDENTD_ADDR: %v", err)
		}
		probe = fmt.Sprintf("http://127.0.0.1:%d/readyz", n)
	}
	for i := 3; i < len(hc.Test); i++ {
		name, val, hasVal := strings.Cut(strings.TrimPrefix(hc.Test[i], "--"), "=")
		if !strings.HasPrefix(hc.Test[i], "--") || !health.flags[name] {
			pr.add("service evidentd: healthcheck: %q is not a flag of evidentd healthcheck", hc.Test[i])
			continue
		}
		if !hasVal && i+1 < len(hc.Test) {
			i++
			val = hc.Test[i]
		}
		if name == "url" {
			probe = val
		}
	}
	if want := fmt.Sprintf("http://127.0.0.1:%d/readyz", port); probe != want {
		pr.add("service evidentd: the healthcheck asks %q, which does not ask %s", probe, want)
	}
}

// imageEntrypoint returns the program of the final stage's ENTRYPOINT in
// the Dockerfile file: the path of evidentd in the image.
func imageEntrypoint(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	df, err := parseDockerfile(string(b))
	if err != nil {
		return "", err
	}
	var entrypoint []string
	for _, in := range df.stages[len(df.stages)-1].ins {
		if in.cmd == "ENTRYPOINT" {
			if entrypoint, err = execForm(in); err != nil {
				return "", err
			}
		}
	}
	if len(entrypoint) == 0 {
		return "", fmt.Errorf("%s has no ENTRYPOINT", filepath.Base(file))
	}
	return entrypoint[0], nil
}

func sameDir(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	if err1 != nil || err2 != nil {
		return false
	}
	ra, _ = filepath.Abs(ra)
	rb, _ = filepath.Abs(rb)
	return ra == rb
}

// iamPolicy is an S3 (IAM) policy document: the subset s3-policy.json
// uses, decoded strictly.
type iamPolicy struct {
	Version   string
	Statement []struct {
		Sid      string
		Effect   string
		Action   []string
		Resource []string
	}
}

func readPolicy(file string) (*iamPolicy, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p iamPolicy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Base(file), err)
	}
	return &p, nil
}

// s3Action is the permission an S3 API operation needs, and whether on the
// bucket or on its objects.
type s3Action struct {
	action    string
	onObjects bool
}

// s3Actions maps the S3 operations of internal/blob/s3blob to permissions.
var s3Actions = map[string]s3Action{
	"HeadBucket":                 {"s3:ListBucket", false},
	"ListObjectsV2":              {"s3:ListBucket", false},
	"ListMultipartUploads":       {"s3:ListBucketMultipartUploads", false},
	"GetObjectLockConfiguration": {"s3:GetBucketObjectLockConfiguration", false},
	"GetObject":                  {"s3:GetObject", true},
	"HeadObject":                 {"s3:GetObject", true},
	"PutObject":                  {"s3:PutObject", true},
	"CreateMultipartUpload":      {"s3:PutObject", true},
	"UploadPart":                 {"s3:PutObject", true},
	"CompleteMultipartUpload":    {"s3:PutObject", true},
	"AbortMultipartUpload":       {"s3:AbortMultipartUpload", true},
	"ListParts":                  {"s3:ListMultipartUploadParts", true},
	// HeadObject returns an object's retention only with
	// s3:GetObjectRetention; s3blob reads it before extending it.
	"PutObjectRetention": {"s3:PutObjectRetention", true},
	"GetObjectRetention": {"s3:GetObjectRetention", true},
}

// allows reports whether the policy allows action on resource (exact
// match, or a trailing * wildcard).
func (p *iamPolicy) allows(action, resource string) bool {
	for _, st := range p.Statement {
		if st.Effect != "Allow" || !slices.Contains(st.Action, action) {
			continue
		}
		for _, r := range st.Resource {
			if r == resource || (strings.HasSuffix(r, "*") && strings.HasPrefix(resource, strings.TrimSuffix(r, "*"))) {
				return true
			}
		}
	}
	return false
}

// check checks the policy's shape for bucket: nothing broad, nothing that
// deletes, deletion explicitly denied.
func (p *iamPolicy) check(bucket string) []error {
	var pr problems
	if p.Version != "2012-10-17" {
		pr.add("Version %q: want 2012-10-17", p.Version)
	}
	denied := map[string]bool{}
	for _, st := range p.Statement {
		for _, a := range st.Action {
			switch {
			case st.Effect == "Deny":
				denied[a] = true
			case strings.Contains(a, "*"), strings.Contains(a, "Delete"), strings.Contains(a, "Bypass"), strings.HasPrefix(a, "s3:PutBucket"):
				pr.add("statement %s allows %s: evidentd writes blobs and never deletes anything", st.Sid, a)
			}
		}
		for _, r := range st.Resource {
			if r != "arn:aws:s3:::"+bucket && !strings.HasPrefix(r, "arn:aws:s3:::"+bucket+"/") {
				pr.add("statement %s: resource %s is not bucket %s", st.Sid, r, bucket)
			}
		}
	}
	for _, a := range []string{"s3:DeleteObject", "s3:DeleteObjectVersion"} {
		if !denied[a] {
			pr.add("%s is not denied", a)
		}
	}
	return pr
}

// s3Operations returns the S3 API operations the s3blob package calls, from
// its source.
func s3Operations(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join(repoRoot, "internal", "blob", "s3blob")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	call := regexp.MustCompile(`\.client\.([A-Z]\w+)\(|\bs3\.New(\w+)Paginator\(`)
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			seen[m[1]+m[2]] = true
		}
	}
	if len(seen) == 0 {
		t.Skipf("no S3 calls found in %s: the S3 blob store is not in this tree", dir)
	}
	return sortedKeys(seen)
}

func TestCompose(t *testing.T) {
	flags, health := serveFlags(t), healthcheckFlags(t)
	p, err := loadCompose(t, composeDir)
	if err != nil {
		t.Fatalf("loading compose.yaml with .env.example: %v", err)
	}
	repo, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	if errs := checkCompose(p, flags, health, repo); len(errs) > 0 {
		t.Fatalf("%d problems:\n%s", len(errs), joinErrors(errs))
	}
}

// missingPermissions returns an error for each S3 operation in ops that
// the policy does not allow on bucket.
func (p *iamPolicy) missingPermissions(ops []string, bucket string) []error {
	var pr problems
	if slices.Contains(ops, "PutObjectRetention") {
		ops = append(ops, "GetObjectRetention")
	}
	for _, op := range ops {
		a, ok := s3Actions[op]
		if !ok {
			pr.add("s3blob calls %s: add the permission it needs to s3Actions and to s3-policy.json", op)
			continue
		}
		res := "arn:aws:s3:::" + bucket
		if a.onObjects {
			res += "/sha256/00/0000"
		}
		if !p.allows(a.action, res) {
			pr.add("s3blob calls %s, which needs %s on %s; s3-policy.json does not allow it", op, a.action, res)
		}
	}
	return pr
}

// TestS3Policy checks that s3-policy.json allows every S3 call the blob
// store makes, on the right resource, and nothing that deletes.
func TestS3Policy(t *testing.T) {
	p, err := readPolicy(filepath.Join(composeDir, "s3-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	const bucket = "evidentd"
	if errs := p.check(bucket); len(errs) > 0 {
		t.Errorf("s3-policy.json:\n%s", joinErrors(errs))
	}
	ops := s3Operations(t)
	if errs := p.missingPermissions(ops, bucket); len(errs) > 0 {
		t.Errorf("s3-policy.json:\n%s", joinErrors(errs))
	}

	// And the check itself: without one permission, or with an operation
	// it does not know, it fails.
	for i := range p.Statement {
		p.Statement[i].Action = slices.DeleteFunc(p.Statement[i].Action, func(a string) bool { return a == "s3:PutObjectRetention" })
	}
	wantError(t, p.missingPermissions([]string{"PutObjectRetention"}, bucket), "needs s3:PutObjectRetention")
	wantError(t, p.missingPermissions([]string{"DeleteObjects"}, bucket), "s3blob calls DeleteObjects: add the permission")
}

// copyCompose copies the compose directory into a temporary one, as
// deploy/compose under a fake repository root (whose Dockerfile is the real
// one), with edit applied to each file's content.
func copyCompose(t *testing.T, edit func(name, content string) string) (dir, repo string) {
	t.Helper()
	repo = t.TempDir()
	dir = filepath.Join(repo, "deploy", "compose")
	if err := os.CopyFS(dir, os.DirFS(composeDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "Dockerfile"), []byte(readRepoFile(t, "Dockerfile")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"compose.yaml", ".env.example"} {
		f := filepath.Join(dir, name)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(edit(name, string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, repo
}

func TestComposeBroken(t *testing.T) {
	flags, health := serveFlags(t), healthcheckFlags(t)
	// Files that the loader must refuse: schema, interpolation, references.
	for _, tc := range []struct{ name, file, old, new, want string }{
		{"not in the schema", "compose.yaml", "    healthcheck:\n      # GET http", "    healtcheck:\n      # GET http", "healtcheck"},
		{"wrong type", "compose.yaml", "retries: 3", "retries: three", "retries"},
		{"variable missing", ".env.example", "POSTGRES_PASSWORD=change-me-postgres\n", "", "set POSTGRES_PASSWORD in .env"},
		{"undefined service", "compose.yaml", "      minio-init:\n        condition: service_completed_successfully\n    healthcheck", "      minio-setup:\n        condition: service_completed_successfully\n    healthcheck", "minio-setup"},
		{"undefined volume", "compose.yaml", "      - evidentd-data:/data", "      - evidentd-state:/data", "evidentd-state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := copyCompose(t, func(name, content string) string {
				if name == tc.file {
					return replaceOnce(t, content, tc.old, tc.new)
				}
				return content
			})
			_, err := loadCompose(t, dir)
			if err == nil {
				t.Fatalf("loaded, want an error containing %q", tc.want)
			}
			wantError(t, []error{err}, tc.want)
		})
	}

	// Projects that load but are wrong.
	dir, repo := copyCompose(t, func(_, content string) string { return content })
	for _, tc := range []struct {
		name   string
		change func(p *types.Project)
		want   string
	}{
		{"no healthcheck", func(p *types.Project) {
			setService(p, "postgres", func(s *types.ServiceConfig) { s.HealthCheck = nil })
		}, "service postgres: no healthcheck"},
		{"waits for started only", func(p *types.Project) {
			setService(p, "evidentd", func(s *types.ServiceConfig) {
				s.DependsOn["postgres"] = types.ServiceDependency{Condition: types.ServiceConditionStarted, Required: true}
			})
		}, "a started service is not a ready one"},
		{"waits for nothing", func(p *types.Project) {
			setService(p, "evidentd", func(s *types.ServiceConfig) { delete(s.DependsOn, "minio") })
		}, "depends_on minio"},
		{"one-shot restarts", func(p *types.Project) {
			setService(p, "minio-init", func(s *types.ServiceConfig) { s.Restart = types.RestartPolicyUnlessStopped })
		}, "must not restart"},
		{"unknown variable", func(p *types.Project) { setEnv(p, "evidentd", "EVIDENTD_CATALOGUE", "x") }, "no flag --catalogue"},
		{"unknown flag", func(p *types.Project) {
			setService(p, "evidentd", func(s *types.ServiceConfig) { s.Command = append(s.Command, "--retention=7") })
		}, "--retention is not a flag"},
		{"catalog elsewhere", func(p *types.Project) {
			setEnv(p, "evidentd", "EVIDENTD_CATALOG", "postgres://evidentd@db:5432/evidentd")
		}, "host db:5432 is not the postgres service"},
		{"catalog password", func(p *types.Project) { setEnv(p, "evidentd", "PGPASSWORD", "other") }, "POSTGRES_PASSWORD"},
		{"bucket not created", func(p *types.Project) {
			setEnv(p, "evidentd", "EVIDENTD_BLOBS", "s3://archive?endpoint=http://minio:9000")
		}, "bucket archive is not created by minio-init"},
		{"S3 key", func(p *types.Project) { setEnv(p, "evidentd", "AWS_ACCESS_KEY_ID", "minio-root") }, "not the key minio-init creates"},
		{"healthcheck program", func(p *types.Project) {
			setService(p, "evidentd", func(s *types.ServiceConfig) { s.HealthCheck.Test[1] = "/usr/bin/wget" })
		}, "runs /usr/bin/wget, which is not the image's evidentd (/usr/local/bin/evidentd)"},
		{"healthcheck not a subcommand", func(p *types.Project) {
			setService(p, "evidentd", func(s *types.ServiceConfig) { s.HealthCheck.Test[2] = "health" })
		}, "want the evidentd healthcheck subcommand"},
		{"healthcheck flag", func(p *types.Project) {
			setService(p, "evidentd", func(s *types.ServiceConfig) {
				s.HealthCheck.Test = append(s.HealthCheck.Test, "--uri=http://127.0.0.1:8080/readyz")
			})
		}, `"--uri=http://127.0.0.1:8080/readyz" is not a flag of evidentd healthcheck`},
		{"healthcheck port", func(p *types.Project) {
			setService(p, "evidentd", func(s *types.ServiceConfig) {
				s.HealthCheck.Test = append(s.HealthCheck.Test, "--url", "http://127.0.0.1:9090/readyz")
			})
		}, "does not ask http://127.0.0.1:8080/readyz"},
		{"healthcheck and EVIDENTD_ADDR", func(p *types.Project) { setEnv(p, "evidentd", "EVIDENTD_ADDR", "0.0.0.0:9090") },
			`the healthcheck asks "http://127.0.0.1:9090/readyz", which does not ask http://127.0.0.1:8080/readyz`},
		{"healthcheck shell", func(p *types.Project) {
			setService(p, "evidentd", func(s *types.ServiceConfig) {
				s.HealthCheck.Test = types.HealthCheckTest{"CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/readyz"}
			})
		}, "the image has no shell"},
		{"published on every interface", func(p *types.Project) {
			setService(p, "evidentd", func(s *types.ServiceConfig) { s.Ports[0].HostIP = "" })
		}, "publish it on 127.0.0.1 only"},
		{"database not kept", func(p *types.Project) { setService(p, "postgres", func(s *types.ServiceConfig) { s.Volumes = nil }) },
			"service postgres: no named volume"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := loadCompose(t, dir)
			if err != nil {
				t.Fatal(err)
			}
			if errs := checkCompose(p, flags, health, repo); len(errs) > 0 {
				t.Fatalf("the unchanged copy has problems:\n%s", joinErrors(errs))
			}
			tc.change(p)
			wantError(t, checkCompose(p, flags, health, repo), tc.want)
		})
	}

	// The policy: too broad, deleting, another bucket.
	for _, tc := range []struct{ name, old, new, want string }{
		{"everything", `"s3:GetObject",`, `"s3:*",`, "allows s3:*"},
		{"delete allowed", `"s3:AbortMultipartUpload",`, `"s3:AbortMultipartUpload", "s3:DeleteObject",`, "allows s3:DeleteObject"},
		{"delete not denied", `"s3:DeleteObjectVersion",`, ``, "s3:DeleteObjectVersion is not denied"},
		{"another bucket", `"arn:aws:s3:::evidentd"`, `"arn:aws:s3:::*"`, "is not bucket evidentd"},
	} {
		t.Run("policy/"+tc.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(composeDir, "s3-policy.json"))
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(t.TempDir(), "s3-policy.json")
			if err := os.WriteFile(f, []byte(replaceOnce(t, string(b), tc.old, tc.new)), 0o644); err != nil {
				t.Fatal(err)
			}
			p, err := readPolicy(f)
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, p.check("evidentd"), tc.want)
		})
	}
}

func setService(p *types.Project, name string, change func(*types.ServiceConfig)) {
	s := p.Services[name]
	change(&s)
	p.Services[name] = s
}

func setEnv(p *types.Project, service, name, value string) {
	setService(p, service, func(s *types.ServiceConfig) { s.Environment[name] = &value })
}
