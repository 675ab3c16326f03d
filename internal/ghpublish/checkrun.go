package ghpublish

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/evident-dev/evident/internal/evidence"
)

// MaxCheckRunText is the most characters GitHub takes in a check run's
// output summary.
const MaxCheckRunText = 65535

// CheckRun is a completed check run to create.
type CheckRun struct {
	// Name is the check's name on the commit ("evident").
	Name string
	// HeadSHA is the commit checked (GITHUB_SHA).
	HeadSHA string
	// Success is the conclusion: success, else failure.
	Success bool
	// Title and Summary (Markdown, at most MaxCheckRunText characters)
	// are what the check's page shows.
	Title, Summary string
	// DetailsURL links to more (the archive's record, the workflow run);
	// ExternalID is the caller's id for it (the manifest digest).
	DetailsURL, ExternalID string
}

// CheckRunResult is the created check run.
type CheckRunResult struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Conclusion string `json:"conclusion"`
	URL        string `json:"url"`
}

// CreateCheckRun creates a completed check run on the commit. Every call
// creates a new one (GitHub shows the latest of a name); a re-run of the
// job adds one, it does not edit the old.
func (p *Publisher) CreateCheckRun(ctx context.Context, c CheckRun) (*CheckRunResult, error) {
	if !commitRE.MatchString(c.HeadSHA) {
		return nil, evidence.Errorf(evidence.KindInvalid, "check run: commit %q is not a 40-character hex SHA (GITHUB_SHA)", c.HeadSHA)
	}
	if c.Name == "" {
		c.Name = "evident"
	}
	if n := []rune(c.Summary); len(n) > MaxCheckRunText {
		c.Summary = string(n[:MaxCheckRunText-1]) + "…"
	}
	conclusion := "failure"
	if c.Success {
		conclusion = "success"
	}
	opts := github.CreateCheckRunOptions{
		Name:        c.Name,
		HeadSHA:     c.HeadSHA,
		Status:      github.String("completed"),
		Conclusion:  github.String(conclusion),
		CompletedAt: &github.Timestamp{Time: time.Now().UTC()},
		Output: &github.CheckRunOutput{
			Title:   github.String(c.Title),
			Summary: github.String(c.Summary),
		},
	}
	if c.DetailsURL != "" {
		opts.DetailsURL = github.String(c.DetailsURL)
	}
	if c.ExternalID != "" {
		opts.ExternalID = github.String(c.ExternalID)
	}
	cr, _, err := p.gh.Checks.CreateCheckRun(ctx, p.owner, p.repo, opts)
	if err != nil {
		return nil, p.apiError(err, fmt.Sprintf("create the check run %q on %s", c.Name, c.HeadSHA), PermissionChecks)
	}
	return &CheckRunResult{ID: cr.GetID(), Name: cr.GetName(), Conclusion: cr.GetConclusion(), URL: cr.GetHTMLURL()}, nil
}

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)
