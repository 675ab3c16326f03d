// Package provenance writes the SLSA v1 build provenance of a component
// (https://slsa.dev/provenance/v1) from a detected CI run, and reads in-toto
// statements that other tools produced so that they can be imported as
// evidence.
//
// Build returns the predicate and the manifest's summary of it. The predicate
// bytes are deterministic: the same input always gives the same bytes, so a
// provenance file can be content-addressed and compared. The predicate is
// built with the in-toto attestation protobuf types and checked with their
// Validate before it is returned.
//
// For GitHub Actions the predicate follows the conventions of GitHub's own
// actions/attest-build-provenance where they fit (the workflow external
// parameter, the github internal parameters, the git+URL@ref source
// dependency, the runner builder ids and the run-attempt invocation id), but
// its buildType is evident's own because evident records more (component,
// build command, toolchain, runner and image).
package provenance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evident-dev/evident/internal/ci"
	"github.com/evident-dev/evident/internal/evidence"
)

// PredicateType is the in-toto predicate type of SLSA provenance v1.
const PredicateType = "https://slsa.dev/provenance/v1"

// Build types evident writes, one per CI system. Each names the shape of
// externalParameters and internalParameters documented on Build.
const (
	BuildTypeGitHubActions = "https://evident.dev/buildtypes/github-actions/v1"
	BuildTypeGitLabCI      = "https://evident.dev/buildtypes/gitlab-ci/v1"
	BuildTypeLocalGit      = "https://evident.dev/buildtypes/local-git/v1"
)

// BuildType returns evident's build type for a CI system, or "" for an
// unknown system.
func BuildType(system string) string {
	switch system {
	case ci.SystemGitHubActions:
		return BuildTypeGitHubActions
	case ci.SystemGitLabCI:
		return BuildTypeGitLabCI
	case ci.SystemLocal:
		return BuildTypeLocalGit
	}
	return ""
}

// Input is what is known about one component's build.
type Input struct {
	// Run is the detected CI run (or local build).
	Run ci.Run
	// Component is the component's name in the release.
	Component string
	// Artifacts are the component's released files; they become the
	// subjects of the statement made by BuildStatement. Build does not use
	// them.
	Artifacts []evidence.Artifact
	// BuildCommand is the command that built the component, as configured.
	BuildCommand string
	// Toolchain lists the tools and versions of the build environment.
	Toolchain []evidence.Tool
	// StartedAt and FinishedAt bound the build. A zero StartedAt falls back
	// to Run.JobStartedAt; zero times are left out.
	StartedAt, FinishedAt time.Time
}

// Build returns the SLSA v1 provenance predicate for the component as
// indented JSON with a trailing newline, and the manifest's summary of it.
// Invalid input (an unknown CI system, a missing or malformed commit or
// builder id, a bad component name, a build that finishes before it starts)
// is an evidence.KindInvalid error.
//
// The predicate records:
//
//	buildDefinition.buildType           evident's URI for the CI system (BuildType)
//	buildDefinition.externalParameters  component, buildCommand,
//	                                    source {repository, ref},
//	                                    workflow {repository, path, ref} (CI only),
//	                                    event and job (CI only)
//	buildDefinition.internalParameters  github {event_name, repository_id, repository_owner_id,
//	                                    runner_environment} or gitlab {project_id, namespace_id,
//	                                    pipeline_id, job_id}; runner, image, toolchain;
//	                                    dirty (local only)
//	buildDefinition.resolvedDependencies the source: git+REPOSITORY@REF with digest gitCommit
//	runDetails.builder.id               Run.BuilderID
//	runDetails.metadata                 invocationId (Run.InvocationID), startedOn, finishedOn
//
// Empty values are left out.
func Build(in Input) ([]byte, evidence.Provenance, error) {
	p, err := predicate(in)
	if err != nil {
		return nil, evidence.Provenance{}, err
	}
	b, err := encode(p)
	if err != nil {
		return nil, evidence.Provenance{}, err
	}
	return b, summary(in), nil
}

// BuildStatement returns an unsigned in-toto Statement v1 whose subjects are the
// input's artifacts and whose predicate is Build's, encoded like Build's.
// It is the form other SLSA tools (slsa-verifier, cosign) read.
func BuildStatement(in Input) ([]byte, error) {
	if len(in.Artifacts) == 0 {
		return nil, evidence.Errorf(evidence.KindInvalid, "component %q: a provenance statement needs at least one artifact", in.Component)
	}
	subjects := make([]*intoto.ResourceDescriptor, 0, len(in.Artifacts))
	for i, a := range in.Artifacts {
		if a.Name == "" {
			return nil, evidence.Errorf(evidence.KindInvalid, "artifacts[%d]: name is empty", i)
		}
		if a.Digest.IsZero() {
			return nil, evidence.Errorf(evidence.KindInvalid, "artifacts[%d] %q: digest is missing", i, a.Name)
		}
		subjects = append(subjects, &intoto.ResourceDescriptor{
			Name:   a.Name,
			Digest: map[string]string{"sha256": a.Digest.Hex()},
		})
	}
	p, err := predicate(in)
	if err != nil {
		return nil, err
	}
	ps, err := toStruct(p)
	if err != nil {
		return nil, err
	}
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       subjects,
		PredicateType: PredicateType,
		Predicate:     ps,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("provenance statement for %q does not validate: %w", in.Component, err)
	}
	return encode(st)
}

// predicate builds and validates the SLSA predicate message.
func predicate(in Input) (*slsa.Provenance, error) {
	r := in.Run
	if err := evidence.ValidateName("component", in.Component); err != nil {
		return nil, err
	}
	buildType := BuildType(r.System)
	if buildType == "" {
		return nil, evidence.Errorf(evidence.KindInvalid, "component %q: unknown CI system %q", in.Component, r.System)
	}
	if len(r.Commit) != 40 || !isLowerHex(r.Commit) {
		// SLSA's gitCommit digest is SHA-1; SHA-256 object-format
		// repositories have no registered digest name yet.
		return nil, evidence.Errorf(evidence.KindInvalid, "component %q: source commit %q is not a 40-digit lower-case hex SHA-1", in.Component, r.Commit)
	}
	if r.BuilderID == "" {
		return nil, evidence.Errorf(evidence.KindInvalid, "component %q: the run has no builder id", in.Component)
	}
	for i, t := range in.Toolchain {
		if t.Name == "" {
			return nil, evidence.Errorf(evidence.KindInvalid, "component %q: toolchain[%d] has no name", in.Component, i)
		}
	}
	started := in.StartedAt
	if started.IsZero() {
		started = r.JobStartedAt
	}
	if !started.IsZero() && !in.FinishedAt.IsZero() && in.FinishedAt.Before(started) {
		return nil, evidence.Errorf(evidence.KindInvalid, "component %q: build finished (%s) before it started (%s)",
			in.Component, in.FinishedAt.UTC().Format(time.RFC3339), started.UTC().Format(time.RFC3339))
	}

	ext, err := structOf(externalParameters(in))
	if err != nil {
		return nil, err
	}
	var internal *structpb.Struct
	if m := internalParameters(in); len(m) > 0 {
		if internal, err = structOf(m); err != nil {
			return nil, err
		}
	}

	source := &intoto.ResourceDescriptor{Digest: map[string]string{"gitCommit": r.Commit}}
	if r.Repository != "" {
		source.Uri = "git+" + r.Repository
		if r.Ref != "" {
			source.Uri += "@" + r.Ref
		}
	}

	p := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{
			BuildType:            buildType,
			ExternalParameters:   ext,
			InternalParameters:   internal,
			ResolvedDependencies: []*intoto.ResourceDescriptor{source},
		},
		RunDetails: &slsa.RunDetails{
			Builder: &slsa.Builder{Id: r.BuilderID},
		},
	}
	md := &slsa.BuildMetadata{InvocationId: r.InvocationID}
	if !started.IsZero() {
		md.StartedOn = timestamppb.New(started.UTC())
	}
	if !in.FinishedAt.IsZero() {
		md.FinishedOn = timestamppb.New(in.FinishedAt.UTC())
	}
	if !proto.Equal(md, &slsa.BuildMetadata{}) {
		p.RunDetails.Metadata = md
	}
	if err := p.Validate(); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "component %q: provenance does not validate: %w", in.Component, err)
	}
	return p, nil
}

func externalParameters(in Input) map[string]any {
	r := in.Run
	m := map[string]any{"component": in.Component}
	put(m, "buildCommand", in.BuildCommand)
	putObject(m, "source", map[string]any{"repository": r.Repository, "ref": r.Ref})
	if r.System != ci.SystemLocal {
		putObject(m, "workflow", map[string]any{"repository": r.Repository, "path": r.WorkflowPath, "ref": r.WorkflowRef})
		put(m, "event", r.Event)
		put(m, "job", r.Job)
	}
	return m
}

func internalParameters(in Input) map[string]any {
	r := in.Run
	m := map[string]any{}
	switch r.System {
	case ci.SystemGitHubActions:
		// The keys of actions/attest-build-provenance.
		putObject(m, "github", map[string]any{
			"event_name":          r.Event,
			"repository_id":       r.RepositoryID,
			"repository_owner_id": r.RepositoryOwnerID,
			"runner_environment":  r.RunnerEnvironment,
		})
	case ci.SystemGitLabCI:
		putObject(m, "gitlab", map[string]any{
			"project_id":   r.RepositoryID,
			"namespace_id": r.RepositoryOwnerID,
			"pipeline_id":  r.RunID,
			"job_id":       r.JobID,
		})
	case ci.SystemLocal:
		m["dirty"] = r.Dirty
	}
	put(m, "runner", r.Runner)
	put(m, "image", r.Image)
	if len(in.Toolchain) > 0 {
		tools := make([]any, 0, len(in.Toolchain))
		for _, t := range in.Toolchain {
			tool := map[string]any{"name": t.Name}
			put(tool, "version", t.Version)
			tools = append(tools, tool)
		}
		m["toolchain"] = tools
	}
	return m
}

// put sets m[k] = v unless v is empty.
func put(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// putObject sets m[k] to the non-empty string entries of o, if any.
func putObject(m map[string]any, k string, o map[string]any) {
	for key, v := range o {
		if s, ok := v.(string); ok && s == "" {
			delete(o, key)
		}
	}
	if len(o) > 0 {
		m[k] = o
	}
}

func structOf(m map[string]any) (*structpb.Struct, error) {
	s, err := structpb.NewStruct(m)
	if err != nil {
		return nil, fmt.Errorf("provenance parameters: %w", err)
	}
	return s, nil
}

// toStruct converts a message to a Struct through its JSON form, to use it
// as a statement's predicate.
func toStruct(m proto.Message) (*structpb.Struct, error) {
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode provenance: %w", err)
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("encode provenance: %w", err)
	}
	return s, nil
}

// encode returns m as indented JSON with a trailing newline. protojson
// randomises insignificant whitespace on purpose, so its output is compacted
// and re-indented; field order (proto order) and map key order (sorted) are
// already stable.
func encode(m proto.Message) ([]byte, error) {
	raw, err := protojson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode provenance: %w", err)
	}
	var compact, out bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("encode provenance: %w", err)
	}
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("encode provenance: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// summary is the manifest's record of the provenance.
func summary(in Input) evidence.Provenance {
	r := in.Run
	s := evidence.Provenance{
		CISystem:     r.System,
		SourceRepo:   r.Repository,
		Commit:       r.Commit,
		Ref:          r.Ref,
		BuilderID:    r.BuilderID,
		BuildType:    BuildType(r.System),
		RunID:        r.RunID,
		RunURL:       r.RunURL,
		Workflow:     r.Workflow,
		BuildCommand: in.BuildCommand,
		Runner:       r.Runner,
		Image:        r.Image,
		Toolchain:    append([]evidence.Tool(nil), in.Toolchain...),
	}
	if len(s.Toolchain) == 0 {
		s.Toolchain = nil
	}
	started := in.StartedAt
	if started.IsZero() {
		started = r.JobStartedAt
	}
	if !started.IsZero() {
		t := started.UTC()
		s.StartedAt = &t
	}
	if !in.FinishedAt.IsZero() {
		t := in.FinishedAt.UTC()
		s.FinishedAt = &t
	}
	return s
}

func isLowerHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
