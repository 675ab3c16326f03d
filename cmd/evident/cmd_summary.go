package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/runner"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/summary"
)

// summaryOptions say what a summary knows beyond the release directory:
// what the archive answered to the push, and where the archive is.
type summaryOptions struct {
	pushed string
	server string
}

func (o *summaryOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.pushed, "pushed", "", "the output of `evident push DIR --json`: the summary then says where the release is archived")
	cmd.Flags().StringVar(&o.server, "server", "", "the archive's URL, for a link to the archived release (or EVIDENT_SERVER)")
}

func (a *app) summaryCommand() *cobra.Command {
	var o summaryOptions
	var outputs string
	cmd := &cobra.Command{
		Use:   "summary DIR [--pushed PUSH.json] [--outputs FILE]",
		Short: "Print a Markdown summary of a release directory, for a CI job summary",
		Long: `Print a Markdown summary of a release directory (sealed, or written by evident
collect): per component the version, safety class, tests passed and failed, SOUP
count and gaps, anomalies and the policy's verdict; every failing and warning rule
with what is missing; and the overall status: policy-failed, collected, sealed or
archived. In GitHub Actions append it to $GITHUB_STEP_SUMMARY.

With --pushed (what evident push --json printed) the summary says where the
release is archived. --outputs FILE appends key=value lines (release, product,
version, manifest_digest, release_dir, bundle_path, policy, release_status,
archive_url) to FILE: the format of GitHub Actions' $GITHUB_OUTPUT and of GitLab's
artifacts:reports:dotenv.

The summary reads the manifest; it verifies nothing (evident verify does).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.bindEnv(cmd, "server"); err != nil {
				return err
			}
			rel, err := loadSummaryRelease(args[0], o)
			if err != nil {
				return err
			}
			var b bytes.Buffer
			// GitHub takes at most 1 MiB per step summary.
			if err := summary.Markdown(&b, rel.Release, summary.Options{MaxBytes: 1 << 20}); err != nil {
				return err
			}
			if outputs != "" {
				if err := appendOutputs(outputs, rel); err != nil {
					return err
				}
			}
			_, err = a.stdout.Write(b.Bytes())
			return err
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&outputs, "outputs", "", "append key=value lines to FILE (e.g. $GITHUB_OUTPUT, or a GitLab dotenv report)")
	return cmd
}

// summaryRelease is a release directory read for a summary.
type summaryRelease struct {
	summary.Release
	Dir           string // absolute
	ManifestBytes []byte
	Bundle        []byte // nil when not signed
}

// pushedResult is the part of `evident push --json` a summary uses.
type pushedResult struct {
	Release        string        `json:"release"`
	ManifestDigest digest.Digest `json:"manifestDigest"`
	Created        bool          `json:"created"`
	Signer         string        `json:"signer"`
	Log            *struct {
		Index uint64 `json:"index"`
	} `json:"log"`
}

// loadSummaryRelease reads DIR/manifest.json and, when there,
// DIR/bundle.sigstore.json, and what o.pushed says about the archive.
func loadSummaryRelease(dir string, o summaryOptions) (*summaryRelease, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	mb, err := readFileLimited(filepath.Join(abs, runner.ManifestFile), evidence.MaxManifestSize)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "%s is not a release directory (evident seal or collect writes one): %v", dir, err)
	}
	m, err := evidence.DecodeManifest(bytes.NewReader(mb))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	r := &summaryRelease{Dir: abs, ManifestBytes: mb}
	r.Manifest, r.ManifestDigest = m, digest.FromBytes(mb)
	switch bb, err := readFileLimited(filepath.Join(abs, runner.BundleFile), sign.MaxBundleSize); {
	case err == nil:
		r.Bundle, r.Signed = bb, true
	case !errors.Is(err, os.ErrNotExist):
		return nil, evidence.Errorf(evidence.KindInvalid, "%s: %v", dir, err)
	}
	if o.pushed == "" {
		return r, nil
	}
	pb, err := readFileLimited(o.pushed, 1<<20)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "push result %s: %v", o.pushed, err)
	}
	var p pushedResult
	if err := json.Unmarshal(pb, &p); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "push result %s is not what evident push --json prints: %v", o.pushed, err)
	}
	if p.ManifestDigest != r.ManifestDigest {
		return nil, evidence.Errorf(evidence.KindInvalid, "push result %s is for manifest %s (%s), not for %s's %s",
			o.pushed, p.ManifestDigest, p.Release, dir, r.ManifestDigest)
	}
	r.Archive = &summary.Archive{Created: p.Created, Signer: p.Signer}
	if p.Log != nil {
		r.Archive.LogIndex = p.Log.Index
	}
	if o.server != "" {
		r.Archive.URL = strings.TrimSuffix(o.server, "/") + "/api/v1/products/" + url.PathEscape(m.Product.Name) +
			"/releases/" + url.PathEscape(m.Product.Version)
	}
	return r, nil
}

// appendOutputs appends the release's outputs to path as key=value lines.
func appendOutputs(path string, r *summaryRelease) error {
	bundle := ""
	if r.Signed {
		bundle = filepath.Join(r.Dir, runner.BundleFile)
	}
	archiveURL := ""
	if r.Archive != nil {
		archiveURL = r.Archive.URL
	}
	kv := [][2]string{
		{"release", r.Manifest.Ref().String()},
		{"product", r.Manifest.Product.Name},
		{"version", r.Manifest.Product.Version},
		{"manifest_digest", r.ManifestDigest.String()},
		{"release_dir", r.Dir},
		{"bundle_path", bundle},
		{"policy", r.Manifest.Policy.Outcome},
		{"release_status", r.Status()},
		{"archive_url", archiveURL},
	}
	var b strings.Builder
	for _, p := range kv {
		if strings.ContainsAny(p[1], "\r\n") {
			return evidence.Errorf(evidence.KindInvalid, "output %s has a line break: %q", p[0], p[1])
		}
		if p[1] != "" { // an absent key reads as empty, in GitHub and GitLab alike
			fmt.Fprintf(&b, "%s=%s\n", p[0], p[1])
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("outputs: %w", err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("outputs %s: %w", path, err)
	}
	return f.Close()
}
