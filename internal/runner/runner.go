// Package runner is the CI use case: it turns a project's evident.yaml and
// the files it names into a release directory — manifest.json, the evidence
// it references stored by digest, and, when sealed, bundle.sigstore.json.
//
// Nothing is written to the output path until everything succeeded: the
// release is assembled in a staging directory beside it and moved into place
// with one rename, so a failed or interrupted run leaves no half-written
// output.
package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/evident-dev/evident/internal/ci"
	"github.com/evident-dev/evident/internal/collect"
	"github.com/evident-dev/evident/internal/collect/artifact"
	"github.com/evident-dev/evident/internal/collect/provenance"
	"github.com/evident-dev/evident/internal/config"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/policy"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/source"
)

// Options configures one collection.
type Options struct {
	Config *config.Config
	Policy *policy.Policy // the effective policy; policy.Default() when nil
	// Out is where the release directory will be created. It must not
	// exist, or be an empty directory.
	Out string
	// Env and Git describe the CI run, for provenance.
	Env ci.Env
	Git ci.Git
	// Now is the clock (time.Now when nil); Version is evident's own version.
	Now     func() time.Time
	Version string
	Log     *slog.Logger
	// Workers bounds parallel hashing (GOMAXPROCS when 0).
	Workers int
	// HTTPClient and Retry serve the remote evidence sources a component
	// may name (changes, anomalyIssues): nil and the zero value mean a
	// client with a timeout and source.Retry's defaults. Their tokens are
	// read from Env.
	HTTPClient *http.Client
	Retry      source.Retry
}

// Staged is a collected release waiting in its staging directory.
type Staged struct {
	Manifest *evidence.Manifest
	// ManifestBytes are the canonical bytes written to manifest.json, and
	// Digest their digest: the manifest digest approvals are bound to.
	ManifestBytes []byte
	Digest        digest.Digest
	Signed        bool

	dir string
	out string
}

// Collect gathers everything evident.yaml names, evaluates the policy and
// stages the release directory. The caller must Commit or Discard the result.
func Collect(ctx context.Context, opts Options) (*Staged, error) {
	if opts.Config == nil {
		return nil, errors.New("runner: no config")
	}
	if opts.Policy == nil {
		opts.Policy = policy.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	out, err := filepath.Abs(opts.Out)
	if err != nil {
		return nil, err
	}
	if err := checkOut(out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Dir(out), err)
	}
	dir, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".staging-")
	if err != nil {
		return nil, fmt.Errorf("create staging directory: %w", err)
	}
	st := &Staged{dir: dir, out: out}
	m, err := assemble(ctx, opts, dir)
	if err != nil {
		st.Discard()
		return nil, err
	}
	b, err := m.Encode()
	if err != nil {
		st.Discard()
		return nil, err
	}
	if err := writeFileSync(filepath.Join(dir, ManifestFile), b); err != nil {
		st.Discard()
		return nil, err
	}
	st.Manifest, st.ManifestBytes, st.Digest = m, b, digest.FromBytes(b)
	return st, nil
}

// checkOut refuses an output path that exists and is not an empty directory.
func checkOut(out string) error {
	st, err := os.Stat(out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return evidence.Errorf(evidence.KindInvalid, "output %s exists and is not a directory", out)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return evidence.Errorf(evidence.KindInvalid, "output directory %s is not empty; choose a new one (a sealed release is never overwritten)", out)
	}
	return nil
}

// Statement returns the in-toto statement for the staged manifest: every
// released artifact is a subject, the manifest is the predicate.
func (s *Staged) Statement() sign.Statement {
	var subjects []sign.Subject
	for _, c := range s.Manifest.Components {
		for _, a := range c.Artifacts {
			subjects = append(subjects, sign.Subject{Name: a.Name, Digest: a.Digest})
		}
	}
	return sign.Statement{Subjects: subjects, PredicateType: evidence.PredicateTypeRelease, Predicate: s.ManifestBytes}
}

// Sign signs the statement and writes bundle.sigstore.json. It refuses a
// manifest whose policy failed: a failing release is never signed.
func (s *Staged) Sign(ctx context.Context, signer sign.Signer) error {
	if !s.Manifest.Policy.Passed() {
		return evidence.Errorf(evidence.KindPolicy, "the policy failed; nothing was signed")
	}
	payload, err := s.Statement().Encode()
	if err != nil {
		return err
	}
	bundle, err := signer.Sign(ctx, payload)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	if err := writeFileSync(filepath.Join(s.dir, BundleFile), bundle); err != nil {
		return err
	}
	s.Signed = true
	return nil
}

// Commit moves the staged directory to the output path in one rename.
func (s *Staged) Commit() (string, error) {
	if err := syncDir(s.dir); err != nil {
		return "", err
	}
	if err := checkOut(s.out); err != nil {
		return "", err
	}
	// An empty output directory is allowed, but os.Rename never replaces a
	// directory: remove it first. Remove fails on a directory that is no
	// longer empty, and so does Commit then.
	if err := os.Remove(s.out); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("replace the empty output directory %s: %w", s.out, err)
	}
	if err := os.Rename(s.dir, s.out); err != nil {
		return "", fmt.Errorf("move release into %s: %w", s.out, err)
	}
	s.dir = ""
	if err := syncDir(filepath.Dir(s.out)); err != nil {
		return "", err
	}
	return s.out, nil
}

// Discard removes the staging directory; it is safe after Commit.
func (s *Staged) Discard() {
	if s.dir != "" {
		os.RemoveAll(s.dir)
		s.dir = ""
	}
}

func assemble(ctx context.Context, opts Options, dir string) (*evidence.Manifest, error) {
	cfg := opts.Config
	st, err := newStore(dir)
	if err != nil {
		return nil, err
	}
	started := opts.Now().UTC()
	m := &evidence.Manifest{
		SchemaVersion: evidence.SchemaVersion,
		Product:       evidence.Product{Name: cfg.Product.Name, Version: cfg.Product.Version},
		CreatedAt:     started.Truncate(time.Second),
		Generator:     evidence.Generator{Name: "evident", Version: opts.Version},
	}

	run, runErr := ci.Detect(ctx, opts.Env, opts.Git)
	if runErr != nil {
		opts.Log.Warn("no build provenance: the CI run could not be identified", "err", runErr)
	} else {
		opts.Log.Info("build identified", "ci", run.System, "repository", run.Repository, "commit", run.Commit)
	}

	var runPtr *ci.Run
	if runErr == nil {
		runPtr = &run
	}
	var classes []evidence.Class
	for i := range cfg.Components {
		cc := &cfg.Components[i]
		c, err := collectComponent(ctx, opts, st, cc, i, runPtr)
		if err != nil {
			return nil, err
		}
		if runErr == nil {
			if err := addProvenance(st, c, cc, run, started, opts.Now().UTC()); err != nil {
				return nil, fmt.Errorf("component %s: provenance: %w", cc.Name, err)
			}
		}
		if cc.Changes != nil {
			if err := addChanges(ctx, opts, st, c, cc, fmt.Sprintf("components[%d] (%s)", i, cc.Name), runPtr); err != nil {
				return nil, err
			}
		}
		classes = append(classes, c.SafetyClass)
		m.Components = append(m.Components, *c)
	}
	m.SafetyClass = evidence.HighestClass(classes...)

	// The effective policy is archived with the release, so that a verifier
	// can re-evaluate it years later without this build's configuration.
	pb, err := opts.Policy.Encode()
	if err != nil {
		return nil, err
	}
	pd, pn, err := st.put(bytes.NewReader(pb), nil)
	if err != nil {
		return nil, err
	}
	m.Evidence = append(m.Evidence, evidence.EvidenceRef{
		Type: evidence.TypePolicy, Format: evidence.FormatPolicyJSON, Name: "evident-policy.json", Digest: pd, Size: pn,
	})
	res, err := policy.Evaluate(m, opts.Policy)
	if err != nil {
		return nil, err
	}
	m.Policy = res
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

func collectComponent(ctx context.Context, opts Options, st *store, cc *config.Component, idx int, run *ci.Run) (*evidence.Component, error) {
	cfg := opts.Config
	key := fmt.Sprintf("components[%d] (%s)", idx, cc.Name)
	c := &evidence.Component{
		Name:        cc.Name,
		Kind:        evidence.ComponentKind(cc.Kind),
		Version:     cc.Version,
		SafetyClass: evidence.Class(cc.SafetyClass),
		Evidence:    []evidence.EvidenceRef{},
	}

	// Artifacts.
	files, err := globAll(cfg, key+".artifacts", cc.Artifacts)
	if err != nil {
		return nil, err
	}
	arts, err := artifact.Hash(ctx, toArtifactFiles(files), opts.Workers)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	c.Artifacts = arts
	for _, img := range cc.Images {
		name, d, err := config.ParseImage(img)
		if err != nil {
			return nil, evidence.Errorf(evidence.KindInvalid, "%s.images: %v", key, err)
		}
		c.Artifacts = append(c.Artifacts, artifact.Image(name, d))
	}
	if len(c.Artifacts) == 0 {
		c.Artifacts = []evidence.Artifact{}
	}

	// Test reports.
	for j, t := range cc.Tests {
		tkey := fmt.Sprintf("%s.tests[%d]", key, j)
		files, err := cfg.Glob(tkey+".path", t.Path)
		if err != nil {
			return nil, err
		}
		format := t.Format
		if format == "" {
			format = evidence.FormatJUnitXML
		}
		put := st.putText
		if format == evidence.FormatGoTestText {
			put = st.putFile // go test -v prints what tests print, NUL bytes too
		}
		for _, f := range files {
			var sum evidence.TestSummary
			d, n, err := put(f.Path, func(r io.Reader) (err error) {
				sum, err = collect.Tests(r, format)
				return err
			})
			if err != nil {
				return nil, wrapFile(tkey, f.Name, err)
			}
			c.Evidence = append(c.Evidence, evidence.EvidenceRef{
				Type: evidence.TypeTestReport, Format: format, Name: f.Name, Digest: d, Size: n,
				Level: evidence.TestLevel(t.Level), Tests: &sum,
			})
		}
	}

	// SBOMs, each with the SOUP list derived from it.
	sboms, err := globAll(cfg, key+".sbom", cc.SBOM)
	if err != nil {
		return nil, err
	}
	for _, f := range sboms {
		refs, err := collectSBOM(st, f)
		if err != nil {
			return nil, wrapFile(key+".sbom", f.Name, err)
		}
		c.Evidence = append(c.Evidence, refs...)
	}

	// Anomaly lists.
	lists, err := globAll(cfg, key+".anomalies", cc.Anomalies)
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	for _, f := range lists {
		format, err := collect.AnomalyFormat(f.Name)
		if err != nil {
			return nil, wrapFile(key+".anomalies", f.Name, err)
		}
		var entries []evidence.AnomalyEntry
		var sum evidence.AnomalySummary
		d, n, err := st.putText(f.Path, func(r io.Reader) (err error) {
			_, entries, sum, err = collect.Anomalies(r, format)
			return err
		})
		if err != nil {
			return nil, wrapFile(key+".anomalies", f.Name, err)
		}
		for _, e := range entries {
			if prev, dup := ids[e.ID]; dup {
				return nil, evidence.Errorf(evidence.KindInvalid, "%s.anomalies: anomaly id %s appears in both %s and %s (ids are never reused)", key, e.ID, prev, f.Name)
			}
			ids[e.ID] = f.Name
		}
		c.Anomalies = append(c.Anomalies, entries...)
		c.Evidence = append(c.Evidence, evidence.EvidenceRef{
			Type: evidence.TypeAnomalies, Format: format, Name: f.Name, Digest: d, Size: n, Anomalies: &sum,
		})
	}

	// Anomalies tracked as issues, archived as anomaly lists of their own.
	if cc.AnomalyIssues != nil {
		lists, err := fetchIssueAnomalies(ctx, opts, cc, key, run)
		if err != nil {
			return nil, err
		}
		for _, il := range lists {
			entries, ref, err := storeIssueAnomalies(st, il)
			if err != nil {
				return nil, wrapFile(key+".anomalyIssues", il.name, err)
			}
			for _, e := range entries {
				if prev, dup := ids[e.ID]; dup {
					return nil, evidence.Errorf(evidence.KindInvalid, "%s: anomaly id %s appears in both %s and %s (ids are never reused; set anomalyIssues idPrefix)", key, e.ID, prev, il.name)
				}
				ids[e.ID] = il.name
			}
			c.Anomalies = append(c.Anomalies, entries...)
			c.Evidence = append(c.Evidence, ref)
		}
	}

	// Documents recorded as they are.
	docs := []struct {
		key      string
		typ      evidence.EvidenceType
		patterns []string
	}{
		{"releaseNotes", evidence.TypeReleaseNotes, nonEmpty(cc.ReleaseNotes)},
		{"configuration", evidence.TypeConfig, cc.Configuration},
		{"installation", evidence.TypeInstallation, nonEmpty(cc.Installation)},
		{"other", evidence.TypeOther, cc.Other},
	}
	if cc.Migrations != nil {
		c.MigrationVersion = cc.Migrations.Version
		docs = append(docs, struct {
			key      string
			typ      evidence.EvidenceType
			patterns []string
		}{"migrations.files", evidence.TypeMigration, cc.Migrations.Files})
	}
	for _, doc := range docs {
		files, err := globAll(cfg, key+"."+doc.key, doc.patterns)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			d, n, err := st.putFile(f.Path, nil)
			if err != nil {
				return nil, wrapFile(key+"."+doc.key, f.Name, err)
			}
			c.Evidence = append(c.Evidence, evidence.EvidenceRef{
				Type: doc.typ, Format: documentFormat(f.Name), Name: f.Name, Digest: d, Size: n,
			})
		}
	}
	return c, nil
}

func collectSBOM(st *store, f config.File) ([]evidence.EvidenceRef, error) {
	soup, err := st.writer()
	if err != nil {
		return nil, err
	}
	defer soup.abort()
	var sum evidence.SBOMSummary
	var format string
	d, n, err := st.putText(f.Path, func(r io.Reader) (err error) {
		format, sum, err = collect.SBOM(r, soup)
		return err
	})
	if err != nil {
		return nil, err
	}
	sd, sn, err := soup.commit()
	if err != nil {
		return nil, err
	}
	from := d
	return []evidence.EvidenceRef{
		{Type: evidence.TypeSBOM, Format: format, Name: f.Name, Digest: d, Size: n, SBOM: &sum},
		{Type: evidence.TypeSOUP, Format: evidence.FormatSOUPJSONL, Name: f.Name + ".soup.jsonl", Digest: sd, Size: sn, DerivedFrom: &from},
	}, nil
}

func addProvenance(st *store, c *evidence.Component, cc *config.Component, run ci.Run, started, finished time.Time) error {
	var tools []evidence.Tool
	for _, t := range cc.Build.Toolchain {
		tools = append(tools, evidence.Tool{Name: t.Name, Version: t.Version})
	}
	pred, sum, err := provenance.Build(provenance.Input{
		Run: run, Component: c.Name, Artifacts: c.Artifacts, BuildCommand: cc.Build.Command,
		Toolchain: tools, StartedAt: started, FinishedAt: finished,
	})
	if err != nil {
		return err
	}
	d, n, err := st.put(bytes.NewReader(pred), nil)
	if err != nil {
		return err
	}
	c.Provenance = &sum
	c.Evidence = append(c.Evidence, evidence.EvidenceRef{
		Type: evidence.TypeProvenance, Format: evidence.FormatSLSAv1, Name: "provenance/" + c.Name + ".slsa.json", Digest: d, Size: n,
	})
	return nil
}

func globAll(cfg *config.Config, key string, patterns []string) ([]config.File, error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	return cfg.GlobAll(key, patterns)
}

func toArtifactFiles(fs []config.File) []artifact.File {
	out := make([]artifact.File, len(fs))
	for i, f := range fs {
		out[i] = artifact.File{Name: f.Name, Path: f.Path}
	}
	return out
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// wrapFile names the config key and file in an error, keeping its kind.
func wrapFile(key, name string, err error) error {
	kind := evidence.KindOf(err)
	if kind == evidence.KindInternal {
		kind = evidence.KindInvalid // an unreadable input file is bad input
	}
	return &evidence.Error{Kind: kind, Message: fmt.Sprintf("%s: %s: %v", key, name, err), Err: err}
}

func documentFormat(name string) string {
	switch filepath.Ext(name) {
	case ".md", ".markdown":
		return evidence.FormatMarkdown
	case ".json":
		return evidence.FormatJSON
	case ".yaml", ".yml":
		return evidence.FormatYAML
	case ".txt", ".sql", ".cfg", ".ini", ".toml", ".conf":
		return evidence.FormatText
	}
	return evidence.FormatBinary
}
