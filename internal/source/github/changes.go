package github

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	gh "github.com/google/go-github/v62/github"
	"golang.org/x/mod/semver"

	"github.com/evident-dev/evident/internal/collect/review"
	"github.com/evident-dev/evident/internal/evidence"
)

// DefaultTagPattern matches the release tags of a repository by default.
const DefaultTagPattern = "v*"

// MaxAllCommits bounds a record that covers all history (a first release
// with NoPreviousRelease "all"): every commit costs at least one request.
const MaxAllCommits = 10000

// ChangesQuery says which history a change-review record covers.
type ChangesQuery struct {
	Repository string // owner/name
	// Until is the commit being released: a full commit id (GITHUB_SHA) or
	// a ref. UntilRef names it for people ("v3.1.2"); it is also the
	// release's tag when it matches TagPattern.
	Until    string
	UntilRef string
	// Since is the previous release: a tag, branch or commit. When empty,
	// it is the highest release tag (TagPattern, by semantic version, no
	// pre-releases) below the release's version: the version of UntilRef
	// when that is a release tag, else Version (the component's).
	Since      string
	Version    string
	TagPattern string // DefaultTagPattern when empty
	// AllIfNoPrevious records every commit up to Until when no release tag
	// precedes it (a first release); without it that is an error asking for
	// Since.
	AllIfNoPrevious bool
}

var shaRE = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// Changes reads the change-review record of q from GitHub: the commits
// between the previous release and Until, each with the pull requests it
// belongs to and their reviews.
func (c *Client) Changes(ctx context.Context, q ChangesQuery) (*review.Record, error) {
	owner, name, err := SplitRepository(q.Repository)
	if err != nil {
		return nil, err
	}
	if q.Until == "" {
		return nil, evidence.Errorf(evidence.KindInvalid, "changes of %s: no commit to record the changes up to (until)", q.Repository)
	}
	if q.TagPattern == "" {
		q.TagPattern = DefaultTagPattern
	}
	rec := &review.Record{Source: "github", Repository: q.Repository, Head: review.Point{Ref: q.UntilRef}}
	if shaRE.MatchString(q.Until) {
		rec.Head.SHA = q.Until
	} else {
		if rec.Head.Ref == "" {
			rec.Head.Ref = q.Until
		}
		var sha string
		err := c.call(ctx, fmt.Sprintf("resolve %s in %s", q.Until, q.Repository), q.Repository, permContents,
			func(ctx context.Context, api *gh.Client) (resp *gh.Response, err error) {
				sha, resp, err = api.Repositories.GetCommitSHA1(ctx, owner, name, q.Until, "")
				return resp, err
			})
		if err != nil {
			return nil, err
		}
		rec.Head.SHA = strings.TrimSpace(sha)
	}

	var commits []*gh.RepositoryCommit
	switch {
	case q.Since != "":
		rec.Base = &review.Point{Ref: q.Since}
		if shaRE.MatchString(q.Since) {
			rec.Base = &review.Point{SHA: q.Since}
		}
		rec.Notes = append(rec.Notes, fmt.Sprintf("base %s: set in the configuration (since)", q.Since))
	default:
		tag, sha, note, err := c.previousRelease(ctx, owner, name, q)
		if err != nil {
			return nil, err
		}
		rec.Notes = append(rec.Notes, note)
		if tag != "" {
			rec.Base = &review.Point{Ref: tag, SHA: sha}
		}
	}
	if rec.Base != nil {
		commits, err = c.compare(ctx, owner, name, q.Repository, rec.Base, rec.Head.SHA)
	} else {
		commits, err = c.history(ctx, owner, name, q.Repository, rec.Head.SHA)
	}
	if err != nil {
		return nil, err
	}

	reviews := map[int][]review.Review{} // one pull request serves many commits
	for _, rc := range commits {
		cm := review.Commit{SHA: rc.GetSHA(), Author: rc.GetAuthor().GetLogin()}
		if cm.Author == "" {
			cm.AuthorName = rc.GetCommit().GetAuthor().GetName()
		}
		cm.Title, _, _ = strings.Cut(rc.GetCommit().GetMessage(), "\n")
		prs, err := c.pullRequests(ctx, owner, name, q.Repository, cm.SHA)
		if err != nil {
			return nil, err
		}
		for _, p := range prs {
			n := p.GetNumber()
			rs, ok := reviews[n]
			if !ok {
				if rs, err = c.reviews(ctx, owner, name, q.Repository, n); err != nil {
					return nil, err
				}
				reviews[n] = rs
			}
			cm.PullRequests = append(cm.PullRequests, review.PullRequest{
				Number: n, URL: p.GetHTMLURL(), Author: p.GetUser().GetLogin(),
				Merged: p.MergedAt != nil || p.GetMerged(), Reviews: rs,
			})
		}
		rec.Commits = append(rec.Commits, cm)
	}
	review.Normalize(rec)
	return rec, nil
}

// previousRelease finds the highest release tag below the release's
// version. It returns the tag and its commit and a note on how it was
// chosen; no tag (and a note) when there is none and q allows that.
func (c *Client) previousRelease(ctx context.Context, owner, name string, q ChangesQuery) (tag, sha, note string, err error) {
	var tags []*gh.RepositoryTag
	err = pages(1000, func(page int) (*gh.Response, error) {
		var resp *gh.Response
		err := c.call(ctx, fmt.Sprintf("list the tags of %s", q.Repository), q.Repository, permContents,
			func(ctx context.Context, api *gh.Client) (r *gh.Response, err error) {
				var ts []*gh.RepositoryTag
				ts, r, err = api.Repositories.ListTags(ctx, owner, name, &gh.ListOptions{Page: page, PerPage: 100})
				if err == nil {
					tags = append(tags, ts...)
				}
				resp = r
				return r, err
			})
		return resp, err
	})
	if err != nil {
		return "", "", "", wrapPages(err, "the tags of "+q.Repository)
	}

	version, from := "", ""
	for _, cand := range []struct{ v, from string }{
		{tagVersion(q.TagPattern, q.UntilRef), "the release tag " + q.UntilRef},
		{tagVersion(q.TagPattern, q.Until), "the release tag " + q.Until},
		{semverOf(q.Version), "the component version " + q.Version},
	} {
		if cand.v != "" {
			version, from = cand.v, cand.from
			break
		}
	}
	if version == "" {
		return "", "", "", evidence.Errorf(evidence.KindInvalid,
			"changes of %s: cannot tell which tag is the previous release: neither the ref being built (%s) is a release tag matching %q nor is the component version %q a semantic version; set changes.github.since to the previous release",
			q.Repository, firstNonEmpty(q.UntilRef, q.Until), q.TagPattern, q.Version)
	}

	var best, bestV, bestSHA string
	var seen []string
	for _, t := range tags {
		v := tagVersion(q.TagPattern, t.GetName())
		if v == "" {
			continue
		}
		seen = append(seen, t.GetName())
		if semver.Prerelease(v) != "" || semver.Compare(v, version) >= 0 {
			continue
		}
		if c := semver.Compare(v, bestV); best == "" || c > 0 || (c == 0 && t.GetName() > best) {
			best, bestV, bestSHA = t.GetName(), v, t.GetCommit().GetSHA()
		}
	}
	if best != "" {
		return best, bestSHA, fmt.Sprintf("base %s: the highest release tag matching %q below %s", best, q.TagPattern, from), nil
	}
	sort.Strings(seen)
	list := "none"
	if len(seen) > 0 {
		list = strings.Join(seen[:min(len(seen), 10)], ", ")
		if len(seen) > 10 {
			list += fmt.Sprintf(" and %d more", len(seen)-10)
		}
	}
	if q.AllIfNoPrevious {
		return "", "", fmt.Sprintf("no release tag matching %q precedes %s (tags: %s): a first release, so every commit up to it is recorded", q.TagPattern, from, list), nil
	}
	return "", "", "", evidence.Errorf(evidence.KindInvalid,
		"changes of %s: no release tag matching %q precedes %s (tags matching: %s). For a first release set changes.github.noPreviousRelease: all to record every commit up to it; otherwise name the previous release with changes.github.since (or fix changes.github.tagPattern)",
		q.Repository, q.TagPattern, from, list)
}

// tagVersion returns the canonical semantic version of a tag that matches
// pattern ("v*": v3.1.2; "fw-*": fw-3.1.2, fw-v3.1.2), or "" for a tag that
// does not match or whose version part is not a semantic version. The
// version part is what follows the pattern's literal prefix.
func tagVersion(pattern, tag string) string {
	if tag == "" {
		return ""
	}
	tag = strings.TrimPrefix(tag, "refs/tags/")
	if ok, err := path.Match(pattern, tag); err != nil || !ok {
		return ""
	}
	prefix := pattern
	if i := strings.IndexAny(pattern, "*?[\\"); i >= 0 {
		prefix = pattern[:i]
	}
	return semverOf(strings.TrimPrefix(tag, prefix))
}

// semverOf returns the canonical form of a version with or without its
// leading "v", or "".
func semverOf(v string) string {
	if v == "" {
		return ""
	}
	v = "v" + strings.TrimPrefix(v, "v")
	if !semver.IsValid(v) {
		return ""
	}
	return semver.Canonical(v) // build metadata does not order versions
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// compare lists the commits reachable from head and not from base, oldest
// first, every page of them, and checks that GitHub listed them all.
func (c *Client) compare(ctx context.Context, owner, name, repo string, base *review.Point, head string) ([]*gh.RepositoryCommit, error) {
	baseRef := base.Ref
	if baseRef == "" {
		baseRef = base.SHA
	}
	what := fmt.Sprintf("compare %s...%.12s in %s", baseRef, head, repo)
	var out []*gh.RepositoryCommit
	var status string
	total := -1
	err := pages(10000, func(page int) (*gh.Response, error) {
		var resp *gh.Response
		err := c.call(ctx, what, repo+fmt.Sprintf(" (or %s or %.12s in it)", baseRef, head), permContents,
			func(ctx context.Context, api *gh.Client) (r *gh.Response, err error) {
				var cmp *gh.CommitsComparison
				cmp, r, err = api.Repositories.CompareCommits(ctx, owner, name, baseRef, head, &gh.ListOptions{Page: page, PerPage: 100})
				if err == nil {
					out = append(out, cmp.Commits...)
					status, total = cmp.GetStatus(), cmp.GetTotalCommits()
					if base.SHA == "" {
						base.SHA = cmp.GetBaseCommit().GetSHA()
					}
				}
				resp = r
				return r, err
			})
		return resp, err
	})
	if err != nil {
		return nil, wrapPages(err, what)
	}
	switch status {
	case "ahead", "identical", "diverged":
	case "behind":
		return nil, evidence.Errorf(evidence.KindInvalid, "changes of %s: %.12s is behind the base %s: since must name an earlier release than the commit being built", repo, head, baseRef)
	default:
		return nil, evidence.Errorf(evidence.KindInvalid, "GitHub: %s: unexpected comparison status %q", what, status)
	}
	if total >= 0 && len(out) != total {
		return nil, evidence.Errorf(evidence.KindInvalid, "GitHub: %s: listed %d of %d commits; refusing an incomplete change record", what, len(out), total)
	}
	return out, nil
}

// history lists every commit reachable from head, oldest first.
func (c *Client) history(ctx context.Context, owner, name, repo, head string) ([]*gh.RepositoryCommit, error) {
	what := fmt.Sprintf("list the commits of %s up to %.12s", repo, head)
	var out []*gh.RepositoryCommit
	err := pages(MaxAllCommits/100+1, func(page int) (*gh.Response, error) {
		var resp *gh.Response
		err := c.call(ctx, what, repo, permContents, func(ctx context.Context, api *gh.Client) (r *gh.Response, err error) {
			var cs []*gh.RepositoryCommit
			cs, r, err = api.Repositories.ListCommits(ctx, owner, name, &gh.CommitsListOptions{SHA: head, ListOptions: gh.ListOptions{Page: page, PerPage: 100}})
			if err == nil {
				out = append(out, cs...)
			}
			resp = r
			return r, err
		})
		return resp, err
	})
	if err != nil {
		return nil, wrapPages(err, what)
	}
	if len(out) > MaxAllCommits {
		return nil, evidence.Errorf(evidence.KindInvalid, "changes of %s: more than %d commits up to %.12s; name the previous release with changes.github.since", repo, MaxAllCommits, head)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 { // GitHub lists newest first
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// pullRequests lists the pull requests a commit belongs to.
func (c *Client) pullRequests(ctx context.Context, owner, name, repo, sha string) ([]*gh.PullRequest, error) {
	what := fmt.Sprintf("list the pull requests of commit %.12s in %s", sha, repo)
	var out []*gh.PullRequest
	err := pages(100, func(page int) (*gh.Response, error) {
		var resp *gh.Response
		err := c.call(ctx, what, repo, permPulls, func(ctx context.Context, api *gh.Client) (r *gh.Response, err error) {
			var prs []*gh.PullRequest
			prs, r, err = api.PullRequests.ListPullRequestsWithCommit(ctx, owner, name, sha, &gh.ListOptions{Page: page, PerPage: 100})
			if err == nil {
				out = append(out, prs...)
			}
			resp = r
			return r, err
		})
		return resp, err
	})
	return out, wrapPages(err, what)
}

// reviews lists a pull request's reviews in the order they were submitted.
func (c *Client) reviews(ctx context.Context, owner, name, repo string, number int) ([]review.Review, error) {
	what := fmt.Sprintf("list the reviews of pull request #%d in %s", number, repo)
	var out []review.Review
	err := pages(100, func(page int) (*gh.Response, error) {
		var resp *gh.Response
		err := c.call(ctx, what, repo, permPulls, func(ctx context.Context, api *gh.Client) (r *gh.Response, err error) {
			var rs []*gh.PullRequestReview
			rs, r, err = api.PullRequests.ListReviews(ctx, owner, name, number, &gh.ListOptions{Page: page, PerPage: 100})
			if err == nil {
				for _, x := range rs {
					rv := review.Review{Reviewer: x.GetUser().GetLogin(), State: x.GetState(), CommitID: x.GetCommitID()}
					if x.SubmittedAt != nil {
						rv.SubmittedAt = x.SubmittedAt.UTC().Format(time.RFC3339)
					}
					out = append(out, rv)
				}
			}
			resp = r
			return r, err
		})
		return resp, err
	})
	return out, wrapPages(err, what)
}

// wrapPages names the listing in pages' own errors; API errors pass as
// they are (they already say what was listed).
func wrapPages(err error, what string) error {
	var pe *pageError
	if errors.As(err, &pe) {
		return evidence.Errorf(evidence.KindInvalid, "GitHub: %s: %v", what, pe)
	}
	return err
}
