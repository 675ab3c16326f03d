package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/ghpublish"
	"github.com/evident-dev/evident/internal/summary"
)

func (a *app) githubCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "github",
		Short: "Publish a release to GitHub: release assets and a check run",
		Args:  cobra.ArbitraryArgs,
		RunE:  groupRunE,
	}
	cmd.AddCommand(a.githubPublishCommand())
	return cmd
}

type githubPublishOptions struct {
	summaryOptions
	attach     bool
	checkRun   bool
	replace    bool
	checkName  string
	token      string
	repository string
	apiURL     string
	tag        string
	sha        string
	json       bool
}

func (a *app) githubPublishCommand() *cobra.Command {
	var o githubPublishOptions
	cmd := &cobra.Command{
		Use:   "publish DIR (--attach | --check-run)",
		Short: "Attach the manifest and bundle to the tag's GitHub release; report the policy as a check run",
		Long: `Publish a release directory to the GitHub repository a workflow runs for
(GITHUB_REPOSITORY, GITHUB_API_URL: GitHub Enterprise Server works too).

--attach uploads DIR/manifest.json and DIR/bundle.sigstore.json as the assets
PRODUCT-VERSION.manifest.json and PRODUCT-VERSION.bundle.sigstore.json of the GitHub
release of the tag being built (GITHUB_REF refs/tags/TAG; a draft release is
found too). The release must exist: evident creates nothing else. On a re-run an
asset that is already attached with identical content is left alone; one with
different content is an error (a sealed release is never replaced silently)
unless --replace. The token needs permissions: contents: write.

--check-run creates a completed check run on the commit (GITHUB_SHA): conclusion
success when the policy passed, failure when it did not, with the Markdown summary
(evident summary) as its text. Works for a release whose policy failed (a directory
written by evident collect). The token needs permissions: checks: write.

The token comes from EVIDENT_GITHUB_TOKEN or GITHUB_TOKEN. Requests that GitHub
answers with 5xx, 429 or a rate limit are retried with backoff.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.bindEnv(cmd, "server", "github-token"); err != nil {
				return err
			}
			if !o.attach && !o.checkRun {
				return &usageError{errors.New("nothing to do: give --attach, --check-run or both")}
			}
			return a.runGitHubPublish(cmd, args[0], o)
		},
	}
	o.summaryOptions.addFlags(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.attach, "attach", false, "attach the manifest and bundle to the GitHub release of the tag")
	f.BoolVar(&o.checkRun, "check-run", false, "create a check run with the policy result")
	f.BoolVar(&o.replace, "replace", false, "replace an attached asset whose content differs (default: refuse)")
	f.StringVar(&o.checkName, "check-name", "evident", "the check run's name")
	f.StringVar(&o.token, "github-token", "", "GitHub token (default EVIDENT_GITHUB_TOKEN or GITHUB_TOKEN; prefer the variables: flags show up in process lists)")
	f.StringVar(&o.repository, "repository", "", "OWNER/NAME (default GITHUB_REPOSITORY)")
	f.StringVar(&o.apiURL, "api-url", "", "GitHub REST API URL (default GITHUB_API_URL, else "+ghpublish.DefaultAPIURL+")")
	f.StringVar(&o.tag, "tag", "", "the release's tag (default from GITHUB_REF refs/tags/TAG)")
	f.StringVar(&o.sha, "sha", "", "the commit for the check run (default GITHUB_SHA)")
	f.BoolVar(&o.json, "json", false, "print the result as JSON on stdout")
	return cmd
}

// githubPublishResult is what publish did.
type githubPublishResult struct {
	Release  *ghpublish.Release        `json:"release,omitempty"`
	Assets   []ghpublish.AssetResult   `json:"assets,omitempty"`
	CheckRun *ghpublish.CheckRunResult `json:"checkRun,omitempty"`
	Errors   []string                  `json:"errors,omitempty"`
}

func (a *app) runGitHubPublish(cmd *cobra.Command, dir string, o githubPublishOptions) error {
	ctx := cmd.Context()
	orEnv := func(v, key string) string {
		if v != "" {
			return v
		}
		return a.env(key)
	}
	o.token = orEnv(o.token, "GITHUB_TOKEN")
	o.repository = orEnv(o.repository, "GITHUB_REPOSITORY")
	o.apiURL = orEnv(o.apiURL, "GITHUB_API_URL")
	o.sha = orEnv(o.sha, "GITHUB_SHA")
	if o.repository == "" {
		return &usageError{errors.New("--repository OWNER/NAME is required outside GitHub Actions (GITHUB_REPOSITORY)")}
	}
	if o.attach && o.tag == "" {
		ref := a.env("GITHUB_REF")
		tag, ok := strings.CutPrefix(ref, "refs/tags/")
		if !ok || tag == "" {
			if ref == "" {
				ref = "not set"
			}
			return evidence.Errorf(evidence.KindInvalid,
				"--attach needs a tag build (GITHUB_REF is %s): run the job on a tag push (on: push: tags: ['v*']) or give --tag", ref)
		}
		o.tag = tag
	}
	if o.checkRun && o.sha == "" {
		return &usageError{errors.New("--check-run needs the commit: --sha or GITHUB_SHA")}
	}

	rel, err := loadSummaryRelease(dir, o.summaryOptions)
	if err != nil {
		return err
	}
	if o.attach && !rel.Signed {
		return evidence.Errorf(evidence.KindInvalid, "%s is not sealed (no %s): only a sealed release is attached to a GitHub release", dir, "bundle.sigstore.json")
	}
	pub, err := ghpublish.New(ghpublish.Config{
		APIURL: o.apiURL, Repository: o.repository, Token: ghpublish.Token(o.token), UserAgent: "evident/" + version,
	})
	if err != nil {
		return err
	}

	// Both are attempted: a failed upload must not hide the policy
	// result, nor the other way round.
	var res githubPublishResult
	var errs []error
	if o.checkRun {
		var b bytes.Buffer
		if err := summary.Markdown(&b, rel.Release, summary.Options{MaxBytes: ghpublish.MaxCheckRunText}); err != nil {
			return err
		}
		details := ""
		switch {
		case rel.Archive != nil && rel.Archive.URL != "":
			details = rel.Archive.URL
		case a.env("GITHUB_SERVER_URL") != "" && a.env("GITHUB_RUN_ID") != "":
			details = strings.TrimSuffix(a.env("GITHUB_SERVER_URL"), "/") + "/" + o.repository + "/actions/runs/" + a.env("GITHUB_RUN_ID")
		}
		res.CheckRun, err = pub.CreateCheckRun(ctx, ghpublish.CheckRun{
			Name: o.checkName, HeadSHA: o.sha, Success: rel.Manifest.Policy.Passed(),
			Title: summary.Title(rel.Release), Summary: b.String(),
			DetailsURL: details, ExternalID: rel.ManifestDigest.String(),
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if o.attach {
		prefix := rel.Manifest.Product.Name + "-" + rel.Manifest.Product.Version
		assets := []ghpublish.Asset{
			{Name: prefix + ".manifest.json", MediaType: "application/json", Data: rel.ManifestBytes},
			{Name: prefix + ".bundle.sigstore.json", MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", Data: rel.Bundle},
		}
		res.Release, res.Assets, err = pub.AttachAssets(ctx, o.tag, assets, ghpublish.AttachOptions{Replace: o.replace})
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, e := range errs {
		res.Errors = append(res.Errors, e.Error())
	}
	a.render(o.json, res, func() {
		if res.CheckRun != nil {
			fmt.Fprintf(a.stdout, "check run %q on %s: %s %s\n", res.CheckRun.Name, o.sha, res.CheckRun.Conclusion, res.CheckRun.URL)
		}
		if res.Release != nil && len(res.Assets) > 0 {
			draft := ""
			if res.Release.Draft {
				draft = " (draft)"
			}
			fmt.Fprintf(a.stdout, "GitHub release %s%s of %s:\n", res.Release.Tag, draft, pub.Repository())
			for _, as := range res.Assets {
				fmt.Fprintf(a.stdout, "  %s (%s)\n", as.Name, as.Action)
			}
		}
	})
	return errors.Join(errs...)
}
