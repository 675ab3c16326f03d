package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/testutil"
)

// instruction is one Dockerfile instruction.
type instruction struct {
	line int    // where it starts, from 1
	cmd  string // upper case: FROM, RUN, ...
	args string // the rest, continuation lines joined
}

// stage is one FROM and the instructions after it.
type stage struct {
	from, name string
	ins        []instruction
}

// dockerfile is a parsed Dockerfile: its parser directives and stages.
type dockerfile struct {
	directives map[string]string
	stages     []stage
}

var directiveLine = regexp.MustCompile(`^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$`)

// parseDockerfile parses what these tests need of the Dockerfile syntax:
// parser directives, comments, instructions with backslash continuations
// (comment lines inside them are dropped, as Docker does) and stages.
func parseDockerfile(src string) (*dockerfile, error) {
	df := &dockerfile{directives: map[string]string{}}
	lines := strings.Split(src, "\n")
	inDirectives := true
	var cur *instruction
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if inDirectives {
			if m := directiveLine.FindStringSubmatch(trimmed); m != nil {
				df.directives[strings.ToLower(m[1])] = m[2]
				continue
			}
			inDirectives = false
		}
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur == nil) {
			continue
		}
		cont := strings.HasSuffix(trimmed, "\\")
		text := strings.TrimSuffix(trimmed, "\\")
		if cur == nil {
			cmd, args, _ := strings.Cut(text, " ")
			cur = &instruction{line: i + 1, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		} else {
			cur.args = strings.TrimSpace(cur.args + " " + text)
		}
		if cont {
			continue
		}
		if cur.cmd == "FROM" {
			f := strings.Fields(cur.args)
			var st stage
			for _, w := range f {
				if !strings.HasPrefix(w, "--") {
					st.from = w
					break
				}
			}
			if n := len(f); n >= 3 && strings.EqualFold(f[n-2], "AS") {
				st.name = f[n-1]
			}
			df.stages = append(df.stages, st)
		} else if len(df.stages) == 0 {
			if cur.cmd != "ARG" {
				return nil, fmt.Errorf("line %d: %s before the first FROM", cur.line, cur.cmd)
			}
		} else {
			last := &df.stages[len(df.stages)-1]
			last.ins = append(last.ins, *cur)
		}
		cur = nil
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: the file ends inside a continued instruction", cur.line)
	}
	if len(df.stages) == 0 {
		return nil, errors.New("no FROM")
	}
	return df, nil
}

// execForm parses the JSON (exec) form of CMD and ENTRYPOINT.
func execForm(in instruction) ([]string, error) {
	var v []string
	if err := json.Unmarshal([]byte(in.args), &v); err != nil {
		return nil, fmt.Errorf("line %d: %s: use the exec form, a JSON array (%v)", in.line, in.cmd, err)
	}
	return v, nil
}

// makeBuild is what the Makefile's build target does.
type makeBuild struct {
	outputs []string // what it writes, e.g. bin/evident
	static  bool     // CGO_ENABLED=0
}

// runsMakeBuild matches a RUN that runs make build.
var runsMakeBuild = regexp.MustCompile(`(^|[\s;&|])make build(\s|$)`)

var makeOutput = regexp.MustCompile(`-o \$\(BIN\)/(\S+)\s+\./cmd/(\S+)`)

// parseMakefile finds the outputs of `make build` and whether the build is
// static.
func parseMakefile(src string) (makeBuild, error) {
	var mb makeBuild
	bin := ""
	inBuild := false
	for line := range strings.SplitSeq(src, "\n") {
		if v, ok := strings.CutPrefix(line, "BIN"); ok {
			if v, ok := strings.CutPrefix(strings.TrimSpace(v), "?="); ok {
				bin = strings.TrimSpace(v)
			}
		}
		if v, ok := strings.CutPrefix(line, "GOBUILD"); ok && strings.Contains(v, "CGO_ENABLED=0") {
			mb.static = true
		}
		switch {
		case strings.HasPrefix(line, "build:"):
			inBuild = true
		case inBuild && strings.HasPrefix(line, "\t"):
			for _, m := range makeOutput.FindAllStringSubmatch(line, -1) {
				mb.outputs = append(mb.outputs, path.Join(bin, m[1]))
			}
		case inBuild:
			inBuild = false
		}
	}
	if bin == "" || len(mb.outputs) == 0 {
		return mb, errors.New("no BIN ?= ... or no `-o $(BIN)/NAME ./cmd/NAME` lines in the build target: update parseMakefile")
	}
	return mb, nil
}

// checkDockerfile checks the image against the Makefile and evidentd.
func checkDockerfile(df *dockerfile, mb makeBuild, flags flagSet) []error {
	var p problems
	if df.directives["syntax"] == "" {
		p.add("no # syntax= directive: RUN --mount needs BuildKit's Dockerfile frontend")
	}
	if len(df.stages) < 2 {
		p.add("want a multi-stage build (a Go builder, then the runtime image); got %d stage(s)", len(df.stages))
		return p
	}
	if !mb.static {
		p.add("the Makefile's GOBUILD does not set CGO_ENABLED=0: the binaries would not be static")
	}

	// The builder runs make build.
	builders := map[string]string{} // stage name -> WORKDIR
	for _, st := range df.stages[:len(df.stages)-1] {
		wd := "/"
		made := false
		for _, in := range st.ins {
			switch in.cmd {
			case "WORKDIR":
				wd = path.Join(wd, in.args)
			case "RUN":
				if runsMakeBuild.MatchString(in.args) {
					made = true
				}
				if strings.Contains(in.args, "go build") {
					p.add("line %d: go build in the Dockerfile: run make build, the Makefile's command, instead", in.line)
				}
			}
		}
		if made {
			builders[st.name] = wd
		}
	}
	if len(builders) == 0 {
		p.add("no build stage runs make build")
	}

	// The runtime image: distroless or scratch, the binaries of make build,
	// a numeric non-root user, evidentd as the entrypoint.
	final := df.stages[len(df.stages)-1]
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		p.add("the runtime image is %s: want gcr.io/distroless/static-... or scratch (static binaries need nothing else)", final.from)
	}
	if strings.HasPrefix(final.from, "gcr.io/distroless/") && !strings.Contains(final.from, "nonroot") {
		p.add("the runtime image %s: want a :nonroot variant", final.from)
	}
	copied := map[string]string{} // path in the image -> what make build wrote
	var user string
	var entrypoint, cmd []string
	var exposed []string
	env := map[string]string{}
	for _, in := range final.ins {
		switch in.cmd {
		case "COPY":
			f := strings.Fields(in.args)
			var from string
			var rest []string
			for _, w := range f {
				if v, ok := strings.CutPrefix(w, "--from="); ok {
					from = v
				} else if !strings.HasPrefix(w, "--") {
					rest = append(rest, w)
				}
			}
			wd, fromBuilder := builders[from]
			if !fromBuilder || len(rest) < 2 {
				continue
			}
			dest := rest[len(rest)-1]
			for _, src := range rest[:len(rest)-1] {
				rel := strings.TrimPrefix(path.Clean(src), path.Clean(wd)+"/")
				if !slices.Contains(mb.outputs, rel) {
					continue
				}
				target := dest
				if strings.HasSuffix(dest, "/") || len(rest) > 2 {
					target = path.Join(dest, path.Base(src))
				}
				copied[target] = rel
			}
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			v, err := execForm(in)
			if err != nil {
				p.add("%v", err)
			}
			entrypoint = v
		case "CMD":
			v, err := execForm(in)
			if err != nil {
				p.add("%v", err)
			}
			cmd = v
		case "EXPOSE":
			exposed = append(exposed, strings.Fields(in.args)...)
		case "ENV":
			k, v, ok := strings.Cut(in.args, "=")
			if !ok || strings.ContainsAny(v, " \t") {
				p.add("line %d: ENV: write one KEY=VALUE per ENV", in.line)
				continue
			}
			env[k] = v
		case "RUN":
			p.add("line %d: RUN in the runtime image, which has no shell", in.line)
		}
	}
	for _, out := range mb.outputs {
		if !slices.Contains(slices.Collect(maps.Values(copied)), out) {
			p.add("make build writes %s, which is not copied into the runtime image", out)
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		p.add("USER %q: want a numeric, non-zero user (Kubernetes checks runAsNonRoot only against a number)", user)
	}
	if len(entrypoint) == 0 || path.Base(copied[entrypoint[0]]) != "evidentd" {
		p.add("ENTRYPOINT %q: want the evidentd binary copied from make build", entrypoint)
	}
	for k := range env {
		if flag, ok := flags.fromEnv(k); strings.HasPrefix(k, "EVIDENTD_") && !ok {
			p.add("ENV %s: evidentd serve has no flag --%s", k, flag)
		}
	}
	if len(cmd) == 0 || cmd[0] != "serve" {
		p.add("CMD %q: want serve and its flags", cmd)
		return p
	}
	vals, errs := flags.parseArgs(cmd[1:])
	for _, err := range errs {
		p.add("CMD: %v", err)
	}
	addr := last(vals["addr"])
	if addr == "" {
		p.add("CMD: no --addr: the default 127.0.0.1:8080 cannot be reached from outside the container")
	} else if port, err := listenPort(addr); err != nil {
		p.add("CMD: %v", err)
	} else if !slices.Contains(exposed, strconv.Itoa(port)) && !slices.Contains(exposed, fmt.Sprintf("%d/tcp", port)) {
		p.add("CMD: --addr %s, but the image does not EXPOSE %d", addr, port)
	}
	return p
}

// ignorePatterns parses a .dockerignore. Only the subset of its syntax that
// path.Match covers is accepted (no "!" exceptions, no "**"), so that
// excluded can match it exactly as Docker does.
func ignorePatterns(src string) ([]string, error) {
	var pats []string
	for line := range strings.SplitSeq(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") || strings.Contains(line, "**") {
			return nil, fmt.Errorf(".dockerignore: %q: exceptions (!) and ** are not understood by these tests; keep to simple patterns", line)
		}
		p := path.Clean(strings.TrimPrefix(line, "/"))
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf(".dockerignore: %q: %v", line, err)
		}
		pats = append(pats, p)
	}
	return pats, nil
}

// excluded reports whether the build context leaves out file (a
// slash-separated path relative to the context): a pattern matches the
// file or a directory above it.
func excluded(pats []string, file string) (string, bool) {
	for _, p := range pats {
		for f := file; f != "." && f != "/"; f = path.Dir(f) {
			if ok, _ := path.Match(p, f); ok {
				return p, true
			}
		}
	}
	return "", false
}

// buildInputs returns every file of this module that `make build` reads,
// relative to the module root: the Go and embedded files of every package
// of the module the two commands import, go.mod, go.sum and the Makefile.
func buildInputs(t *testing.T) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		testutil.Unavailable(t, "listing the build's inputs: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-deps", "-json=Dir,GoFiles,EmbedFiles,Module", "./cmd/evident", "./cmd/evidentd")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"go.mod", "go.sum", "Makefile"}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var pkg struct {
			Dir                 string
			GoFiles, EmbedFiles []string
			Module              *struct{ Main bool }
		}
		if err := dec.Decode(&pkg); err != nil {
			t.Fatal(err)
		}
		if pkg.Module == nil || !pkg.Module.Main {
			continue
		}
		dir, err := filepath.Rel(root, pkg.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range slices.Concat(pkg.GoFiles, pkg.EmbedFiles) {
			files = append(files, filepath.ToSlash(filepath.Join(dir, f)))
		}
	}
	if len(files) < 50 {
		t.Fatalf("go list found only %d files that make build reads: is the parsing of its output broken?", len(files))
	}
	return files
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDockerfile(t *testing.T) {
	flags := serveFlags(t)
	df, err := parseDockerfile(readRepoFile(t, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	mb, err := parseMakefile(readRepoFile(t, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"bin/evident", "bin/evidentd"}; !slices.Equal(mb.outputs, want) {
		t.Errorf("make build writes %q, want %q", mb.outputs, want)
	}
	if errs := checkDockerfile(df, mb, flags); len(errs) > 0 {
		t.Fatalf("%d problems:\n%s", len(errs), joinErrors(errs))
	}
}

func TestDockerignore(t *testing.T) {
	pats, err := ignorePatterns(readRepoFile(t, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range buildInputs(t) {
		if p, ok := excluded(pats, f); ok {
			t.Errorf(".dockerignore pattern %q leaves %s out of the build context, and make build needs it", p, f)
		}
	}
	// The context stays small and holds no local state or secrets.
	for _, f := range []string{".git/config", "bin/evidentd", "out/demo/release.key", "evidentd-data/log.key"} {
		if _, ok := excluded(pats, f); !ok {
			t.Errorf(".dockerignore does not leave out %s", f)
		}
	}
}

func TestDockerfileBroken(t *testing.T) {
	flags := serveFlags(t)
	src := readRepoFile(t, "Dockerfile")
	mb, err := parseMakefile(readRepoFile(t, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"go build instead of make build", `make build VERSION="$VERSION"`, "go build -o bin/ ./cmd/...", "no build stage runs make build"},
		{"a binary left behind", "/src/bin/evidentd /src/bin/evident /usr/local/bin/", "/src/bin/evidentd /usr/local/bin/", "make build writes bin/evident, which is not copied"},
		{"root", "USER 65532:65532", "USER root", `USER "root"`},
		{"user by name", "USER 65532:65532", "USER nonroot", "want a numeric, non-zero user"},
		{"a base with a shell", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM debian:12", "the runtime image is debian:12"},
		{"distroless as root", "static-debian12:nonroot", "static-debian12", "want a :nonroot variant"},
		{"unknown flag", `"--addr=0.0.0.0:8080"`, `"--listen=0.0.0.0:8080"`, "--listen is not a flag"},
		{"loopback only", `"--addr=0.0.0.0:8080", `, "", "no --addr"},
		{"port not exposed", "EXPOSE 8080", "EXPOSE 9090", "does not EXPOSE 8080"},
		{"unknown variable", "ENV EVIDENTD_DATA=/data", "ENV EVIDENTD_DATADIR=/data", "no flag --datadir"},
		{"shell form", `ENTRYPOINT ["/usr/local/bin/evidentd"]`, "ENTRYPOINT /usr/local/bin/evidentd", "use the exec form"},
		{"no syntax directive", "# syntax=docker/dockerfile:1\n", "", "no # syntax= directive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			df, err := parseDockerfile(replaceOnce(t, src, tc.old, tc.new))
			if err != nil {
				wantError(t, []error{err}, tc.want)
				return
			}
			wantError(t, checkDockerfile(df, mb, flags), tc.want)
		})
	}

	pats, err := ignorePatterns(readRepoFile(t, ".dockerignore") + "\ninternal/httpapi/*.json\n")
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := excluded(pats, "internal/httpapi/openapi.json"); !ok || p != "internal/httpapi/*.json" {
		t.Errorf("excluded(internal/httpapi/openapi.json) = %q, %v; want the pattern that leaves the embedded file out", p, ok)
	}
	if _, err := ignorePatterns("!cmd\n"); err == nil {
		t.Error("an exception (!) was accepted")
	}
}
