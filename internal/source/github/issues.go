package github

import (
	"context"
	"fmt"
	"strings"

	gh "github.com/google/go-github/v62/github"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/source"
)

// DefaultIDPrefix prefixes the number of an issue to make an anomaly id
// when the issue does not give one.
const DefaultIDPrefix = "GH-"

// IssuesQuery selects the issues that track residual anomalies.
type IssuesQuery struct {
	Repository string   // owner/name
	Labels     []string // every one must be on the issue
	State      string   // open (default), closed or all
}

// Issues lists the issues of q, pull requests excluded, in creation order.
func (c *Client) Issues(ctx context.Context, q IssuesQuery) ([]source.Issue, error) {
	owner, name, err := SplitRepository(q.Repository)
	if err != nil {
		return nil, err
	}
	state := q.State
	if state == "" {
		state = "open"
	}
	switch state {
	case "open", "closed", "all":
	default:
		return nil, evidence.Errorf(evidence.KindInvalid, "GitHub issues of %s: state %q: want open, closed or all", q.Repository, q.State)
	}
	what := fmt.Sprintf("list the %s issues labelled %s in %s", state, strings.Join(q.Labels, ", "), q.Repository)
	var out []source.Issue
	err = pages(1000, func(page int) (*gh.Response, error) {
		var resp *gh.Response
		err := c.call(ctx, what, q.Repository, permIssues, func(ctx context.Context, api *gh.Client) (r *gh.Response, err error) {
			var is []*gh.Issue
			is, r, err = api.Issues.ListByRepo(ctx, owner, name, &gh.IssueListByRepoOptions{
				State: state, Labels: q.Labels, Sort: "created", Direction: "asc",
				ListOptions: gh.ListOptions{Page: page, PerPage: 100},
			})
			if err == nil {
				for _, i := range is {
					if i.IsPullRequest() {
						continue // the issues API lists pull requests too
					}
					out = append(out, source.Issue{
						Number: i.GetNumber(), URL: i.GetHTMLURL(), Title: i.GetTitle(), Body: i.GetBody(),
						Open: i.GetState() == "open", Author: i.GetUser().GetLogin(), CreatedAt: i.GetCreatedAt().Time,
					})
				}
			}
			resp = r
			return r, err
		})
		return resp, err
	})
	return out, wrapPages(err, what)
}
