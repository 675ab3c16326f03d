package runner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"

	"github.com/evident-dev/evident/internal/ci"
	"github.com/evident-dev/evident/internal/collect"
	"github.com/evident-dev/evident/internal/collect/review"
	"github.com/evident-dev/evident/internal/config"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/source"
	"github.com/evident-dev/evident/internal/source/github"
	"github.com/evident-dev/evident/internal/source/gitlab"
)

// The remote evidence sources: what they read at seal time is written into
// the release as an ordinary evidence file — a change-review record, an
// anomaly list — and summarised by the same readers a verifier runs on the
// archived file, so a sealed release never needs the network again.

// defaultAnomalyLabel is the label of anomaly issues when none is configured.
const defaultAnomalyLabel = "anomaly"

// env looks a variable up in the options' environment.
func (o Options) env(name string) string {
	if o.Env == nil {
		return ""
	}
	v, _ := o.Env(name)
	return strings.TrimSpace(v)
}

func (o Options) retry() source.Retry {
	r := o.Retry
	if r.Log == nil {
		r.Log = o.Log
	}
	return r
}

// githubRepository is the configured repository, else the one the CI run
// names: GITHUB_REPOSITORY, or the run's repository URL when it is a
// two-part path (a local clone of a GitHub repository).
func githubRepository(opts Options, configured string, run *ci.Run) string {
	if configured != "" {
		return configured
	}
	if r := opts.env("GITHUB_REPOSITORY"); r != "" {
		return r
	}
	if run != nil && run.Repository != "" {
		if u, err := url.Parse(run.Repository); err == nil {
			if p := strings.Trim(u.Path, "/"); strings.Count(p, "/") == 1 {
				return p
			}
		}
	}
	return ""
}

func githubClient(opts Options, apiURL, tokenEnv string) (*github.Client, error) {
	if tokenEnv == "" {
		tokenEnv = github.DefaultTokenEnv
	}
	if apiURL == "" {
		apiURL = opts.env("GITHUB_API_URL")
	}
	return github.New(github.Options{
		APIURL: apiURL, Token: source.Secret(opts.env(tokenEnv)), TokenEnv: tokenEnv,
		HTTPClient: opts.HTTPClient, Retry: opts.retry(),
	})
}

// addChanges reads the component's change-review record and stores it.
// run is the CI run when it could be identified (nil otherwise).
func addChanges(ctx context.Context, opts Options, st *store, c *evidence.Component, cc *config.Component, key string, run *ci.Run) error {
	g := cc.Changes.GitHub
	key += ".changes.github"
	repo := githubRepository(opts, g.Repository, run)
	if repo == "" {
		return evidence.Errorf(evidence.KindInvalid, "%s.repository: not set, and the build names no GitHub repository (GITHUB_REPOSITORY)", key)
	}
	q := github.ChangesQuery{
		Repository: repo, Since: g.Since, Until: g.Until, Version: cc.Version, TagPattern: g.TagPattern,
		AllIfNoPrevious: g.NoPreviousRelease == config.NoPreviousAll,
	}
	if q.Until == "" {
		if run == nil || run.Commit == "" {
			return evidence.Errorf(evidence.KindInvalid, "%s.until: not set, and the commit being built is unknown; set it, or seal in CI or a git checkout", key)
		}
		q.Until = run.Commit
		if t, ok := strings.CutPrefix(run.Ref, "refs/tags/"); ok {
			q.UntilRef = t
		} else if b, ok := strings.CutPrefix(run.Ref, "refs/heads/"); ok {
			q.UntilRef = b
		}
	}
	client, err := githubClient(opts, g.APIURL, g.TokenEnv)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	rec, err := client.Changes(ctx, q)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	b, err := review.Encode(rec)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	var sum evidence.ChangeSummary
	d, n, err := st.put(bytes.NewReader(b), func(r io.Reader) (err error) {
		sum, err = collect.Changes(r)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	opts.Log.Info("change review recorded", "component", c.Name, "repository", repo, "base", sum.Base, "head", sum.Head,
		"commits", sum.Commits, "unreviewed", sum.Unreviewed)
	c.Evidence = append(c.Evidence, evidence.EvidenceRef{
		Type: evidence.TypeChangeReview, Format: evidence.FormatChangesJSON,
		Name: path.Join("changes", "github", repo) + ".changes.json", Digest: d, Size: n, Changes: &sum,
	})
	return nil
}

// issueList is one tracker's anomalies, ready to store.
type issueList struct {
	name string // the evidence name
	list []evidence.Anomaly
}

// fetchIssueAnomalies reads the component's anomaly issues from each
// configured tracker.
func fetchIssueAnomalies(ctx context.Context, opts Options, cc *config.Component, key string, run *ci.Run) ([]issueList, error) {
	ai := cc.AnomalyIssues
	key += ".anomalyIssues"
	var out []issueList
	if g := ai.GitHub; g != nil {
		k := key + ".github"
		repo := githubRepository(opts, g.Repository, run)
		if repo == "" {
			return nil, evidence.Errorf(evidence.KindInvalid, "%s.repository: not set, and the build names no GitHub repository (GITHUB_REPOSITORY)", k)
		}
		client, err := githubClient(opts, g.APIURL, g.TokenEnv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		issues, err := client.Issues(ctx, github.IssuesQuery{Repository: repo, Labels: labels(g.Labels), State: g.State})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		list, err := source.IssueAnomalies(issues, orDefault(g.IDPrefix, github.DefaultIDPrefix))
		if err != nil {
			return nil, fmt.Errorf("%s: GitHub issues of %s: %w", k, repo, err)
		}
		out = append(out, issueList{name: path.Join("issues", "github", repo) + ".anomalies.json", list: list})
	}
	if g := ai.GitLab; g != nil {
		k := key + ".gitlab"
		project := orDefault(g.Project, opts.env("CI_PROJECT_PATH"))
		if project == "" {
			return nil, evidence.Errorf(evidence.KindInvalid, "%s.project: not set, and the build names no GitLab project (CI_PROJECT_PATH)", k)
		}
		base := orDefault(g.BaseURL, opts.env("CI_API_V4_URL"), opts.env("CI_SERVER_URL"), "https://gitlab.com")
		tokenEnv := g.TokenEnv
		if tokenEnv == "" {
			tokenEnv = gitlab.DefaultTokenEnv
			if opts.env(gitlab.DefaultTokenEnv) == "" && opts.env(gitlab.JobTokenEnv) != "" {
				tokenEnv = gitlab.JobTokenEnv
			}
		}
		client, err := gitlab.New(gitlab.Options{
			BaseURL: base, Token: source.Secret(opts.env(tokenEnv)), TokenEnv: tokenEnv,
			HTTPClient: opts.HTTPClient, Retry: opts.retry(),
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		issues, err := client.Issues(ctx, gitlab.IssuesQuery{Project: project, Labels: labels(g.Labels), State: g.State})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		list, err := source.IssueAnomalies(issues, orDefault(g.IDPrefix, gitlab.DefaultIDPrefix))
		if err != nil {
			return nil, fmt.Errorf("%s: GitLab issues of %s: %w", k, project, err)
		}
		out = append(out, issueList{name: path.Join("issues", "gitlab", project) + ".anomalies.json", list: list})
	}
	return out, nil
}

// storeIssueAnomalies writes one tracker's anomalies as an anomaly list in
// JSON and reads it back with the anomaly-list reader, which gives the
// manifest's entries and summary exactly as a verifier will derive them.
func storeIssueAnomalies(st *store, il issueList) ([]evidence.AnomalyEntry, evidence.EvidenceRef, error) {
	b, err := source.EncodeAnomalyList(il.list)
	if err != nil {
		return nil, evidence.EvidenceRef{}, err
	}
	var entries []evidence.AnomalyEntry
	var sum evidence.AnomalySummary
	d, n, err := st.put(bytes.NewReader(b), func(r io.Reader) (err error) {
		_, entries, sum, err = collect.Anomalies(r, evidence.FormatAnomaliesJSON)
		return err
	})
	if err != nil {
		return nil, evidence.EvidenceRef{}, err
	}
	return entries, evidence.EvidenceRef{
		Type: evidence.TypeAnomalies, Format: evidence.FormatAnomaliesJSON, Name: il.name, Digest: d, Size: n, Anomalies: &sum,
	}, nil
}

func labels(ls []string) []string {
	if len(ls) == 0 {
		return []string{defaultAnomalyLabel}
	}
	return ls
}

func orDefault(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
