package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/diff"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/pack"
)

type lookupOptions struct {
	serverOptions
	release, component, artifact, artifactFile, purl string
	json                                             bool
}

func (a *app) lookupCommand() *cobra.Command {
	var o lookupOptions
	cmd := &cobra.Command{
		Use:   "lookup (--release P@V | --component NAME@VERSION | --artifact sha256:HEX | --artifact-file PATH | --purl PURL)",
		Short: "Find releases by version, component, artifact digest or SOUP package",
		Long: `Find releases in an archive:

  --release P@V              the release itself
  --component NAME@VERSION   every release containing that component version
  --artifact sha256:HEX      "what is this file?": every release that ships it
  --artifact-file PATH       the same, hashing the file here
  --purl PURL                every release whose SOUP includes the package (with or
                             without @version, e.g. pkg:github/madler/zlib@v1.2.11)`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(cmd, &o.serverOptions)
			if err != nil {
				return err
			}
			return a.runLookup(cmd.Context(), c, o)
		},
	}
	o.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.release, "release", "", "PRODUCT@VERSION")
	f.StringVar(&o.component, "component", "", "NAME@VERSION")
	f.StringVar(&o.artifact, "artifact", "", "sha256:HEX")
	f.StringVar(&o.artifactFile, "artifact-file", "", "a file to hash and look up")
	f.StringVar(&o.purl, "purl", "", "package URL")
	f.BoolVar(&o.json, "json", false, "print the result as JSON on stdout")
	return cmd
}

func (a *app) runLookup(ctx context.Context, c api.Archive, o lookupOptions) error {
	n := 0
	for _, s := range []string{o.release, o.component, o.artifact, o.artifactFile, o.purl} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return &usageError{errors.New("give exactly one of --release, --component, --artifact, --artifact-file, --purl")}
	}
	w := a.stdout
	switch {
	case o.release != "":
		ref, err := evidence.ParseReleaseRef(o.release)
		if err != nil {
			return &usageError{err}
		}
		r, err := c.Release(ctx, ref)
		if err != nil {
			return err
		}
		a.render(o.json, r.ReleaseSummary, func() { renderHistory(w, []api.ReleaseSummary{r.ReleaseSummary}) })
	case o.component != "":
		i := strings.LastIndex(o.component, "@")
		if i <= 0 {
			return &usageError{fmt.Errorf("--component %q: want NAME@VERSION", o.component)}
		}
		hits, err := c.FindComponent(ctx, o.component[:i], o.component[i+1:])
		if err != nil {
			return err
		}
		a.render(o.json, hits, func() {
			table(w, "RELEASE\tCOMPONENT\tKIND\tCLASS", len(hits), func(tw io.Writer) {
				for _, h := range hits {
					fmt.Fprintf(tw, "%s@%s\t%s@%s\t%s\t%s\n", h.Product, h.Version, h.Component, h.ComponentVersion, h.Kind, h.SafetyClass)
				}
			})
		})
	case o.artifact != "" || o.artifactFile != "":
		var d digest.Digest
		var err error
		if o.artifactFile != "" {
			if d, _, err = digest.FromFile(o.artifactFile); err != nil {
				return evidence.Errorf(evidence.KindInvalid, "%s: %v", o.artifactFile, err)
			}
		} else if d, err = digest.Parse(o.artifact); err != nil {
			return &usageError{err}
		}
		hits, err := c.FindArtifact(ctx, d)
		if err != nil {
			return err
		}
		a.render(o.json, hits, func() {
			fmt.Fprintf(w, "%s\n", d)
			table(w, "RELEASE\tCOMPONENT\tARTIFACT\tSIZE", len(hits), func(tw io.Writer) {
				for _, h := range hits {
					fmt.Fprintf(tw, "%s@%s\t%s@%s\t%s\t%d\n", h.Product, h.Version, h.Component, h.ComponentVersion, h.Name, h.Size)
				}
			})
		})
	case o.purl != "":
		hits, err := c.FindSOUP(ctx, o.purl)
		if err != nil {
			return err
		}
		a.render(o.json, hits, func() {
			table(w, "RELEASE\tCOMPONENT\tPACKAGE\tVERSION\tPURL", len(hits), func(tw io.Writer) {
				for _, h := range hits {
					fmt.Fprintf(tw, "%s@%s\t%s@%s\t%s\t%s\t%s\n", h.Product, h.Version, h.Component, h.ComponentVersion, h.Package, h.PackageVersion, h.PURL)
				}
			})
		})
	}
	return nil
}

// table prints a tab-aligned table, or "no match".
func table(w io.Writer, header string, n int, rows func(io.Writer)) {
	if n == 0 {
		fmt.Fprintln(w, "no match")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	tw.Flush()
}

func renderHistory(w io.Writer, rs []api.ReleaseSummary) {
	table(w, "RELEASE\tSTATUS\tCLASS\tSEALED\tARCHIVED\tLOG\tMANIFEST", len(rs), func(tw io.Writer) {
		for _, r := range rs {
			fmt.Fprintf(tw, "%s@%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Product, r.Version, r.Status, r.SafetyClass,
				r.CreatedAt.UTC().Format(time.DateTime), r.AcceptedAt.UTC().Format(time.DateTime), r.LogIndex, r.ManifestDigest)
		}
	})
}

type showOptions struct {
	serverOptions
	json bool
}

func (a *app) showCommand() *cobra.Command {
	var o showOptions
	cmd := &cobra.Command{
		Use:   "show PRODUCT@VERSION",
		Short: "Show a release: components, tests, SOUP, anomalies, policy, status",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := evidence.ParseReleaseRef(args[0])
			if err != nil {
				return &usageError{err}
			}
			c, err := a.client(cmd, &o.serverOptions)
			if err != nil {
				return err
			}
			r, err := c.Release(cmd.Context(), ref)
			if err != nil {
				return err
			}
			a.render(o.json, r, func() { renderShow(a.stdout, r) })
			return nil
		},
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&o.json, "json", false, "print the release as JSON on stdout")
	return cmd
}

func renderShow(w io.Writer, r *api.Release) {
	m := r.Manifest
	renderRelease(w, m, r.ManifestDigest.String(), strings.ToUpper(r.Status))
	fmt.Fprintf(w, "\nSigned by %s; sealed %s; archived %s; log entry %d\n", r.Signer,
		m.CreatedAt.UTC().Format(time.DateTime), r.AcceptedAt.UTC().Format(time.DateTime), r.LogIndex)
	for _, c := range m.Components {
		fmt.Fprintf(w, "\n%s %s (%s, class %s)\n", c.Name, c.Version, c.Kind, c.SafetyClass)
		for _, art := range c.Artifacts {
			fmt.Fprintf(w, "  artifact  %s  %s\n", art.Digest, art.Name)
		}
		if p := c.Provenance; p != nil {
			fmt.Fprintf(w, "  built     %s %s @ %.12s by %s\n", p.SourceRepo, p.Ref, p.Commit, p.BuilderID)
		}
		for _, e := range c.Evidence {
			switch {
			case e.Tests != nil:
				fmt.Fprintf(w, "  tests     %-12s %s: %d tests, %d passed, %d failed, %d errors, %d skipped\n",
					e.Level, e.Name, e.Tests.Tests, e.Tests.Passed, e.Tests.Failed, e.Tests.Errors, e.Tests.Skipped)
			case e.SBOM != nil:
				fmt.Fprintf(w, "  SOUP      %s: %d items (%s %s, completeness %s)\n", e.Name, e.SBOM.Components, e.SBOM.Format, e.SBOM.SpecVersion, e.SBOM.Completeness)
			}
		}
		for _, an := range c.Anomalies {
			acc := "not evaluated"
			if an.RiskAcceptable != nil {
				acc = map[bool]string{true: "risk acceptable", false: "RISK NOT ACCEPTABLE"}[*an.RiskAcceptable]
			}
			fmt.Fprintf(w, "  anomaly   %s [%s, %s] %s — %s (%s, %s)\n", an.ID, an.Kind, an.Status, an.Title, acc, an.EvaluatedBy, an.EvaluatedAt)
		}
	}
}

func (a *app) historyCommand() *cobra.Command {
	var o showOptions
	cmd := &cobra.Command{
		Use:   "history PRODUCT",
		Short: "List a product's releases, newest first",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd, &o.serverOptions)
			if err != nil {
				return err
			}
			rs, err := c.History(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			a.render(o.json, rs, func() { renderHistory(a.stdout, rs) })
			return nil
		},
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&o.json, "json", false, "print the releases as JSON on stdout")
	return cmd
}

func (a *app) diffCommand() *cobra.Command {
	var o showOptions
	cmd := &cobra.Command{
		Use:   "diff PRODUCT@V1 PRODUCT@V2",
		Short: "Compare two releases: components, SOUP, anomalies, tests",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var refs [2]evidence.ReleaseRef
			for i, s := range args {
				ref, err := evidence.ParseReleaseRef(s)
				if err != nil {
					return &usageError{err}
				}
				refs[i] = ref
			}
			c, err := a.client(cmd, &o.serverOptions)
			if err != nil {
				return err
			}
			var sides [2]diff.Release
			for i, ref := range refs {
				if sides[i], err = fetchForDiff(cmd.Context(), c, ref); err != nil {
					return err
				}
			}
			res := diff.Compare(sides[0], sides[1])
			a.render(o.json, res, func() { renderDiff(a.stdout, res) })
			return nil
		},
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&o.json, "json", false, "print the difference as JSON on stdout")
	return cmd
}

// fetchForDiff reads a release's manifest and SOUP lists from the archive.
func fetchForDiff(ctx context.Context, c api.Archive, ref evidence.ReleaseRef) (diff.Release, error) {
	r, err := c.Release(ctx, ref)
	if err != nil {
		return diff.Release{}, err
	}
	out := diff.Release{Manifest: r.Manifest, SOUP: map[string][]evidence.SOUPEntry{}}
	for _, comp := range r.Manifest.Components {
		for _, e := range comp.Evidence {
			if e.Type != evidence.TypeSOUP {
				continue
			}
			rc, _, err := c.GetBlob(ctx, e.Digest)
			if err != nil {
				return diff.Release{}, err
			}
			err = evidence.ReadSOUP(bufio.NewReader(rc), func(s evidence.SOUPEntry) error {
				out.SOUP[comp.Name] = append(out.SOUP[comp.Name], s)
				return nil
			})
			rc.Close()
			if err != nil {
				return diff.Release{}, err
			}
		}
	}
	return out, nil
}

func renderDiff(w io.Writer, d diff.Result) {
	fmt.Fprintf(w, "%s → %s\n\n", d.Old, d.New)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tCHANGE\tVERSION\tCLASS\tSOUP +/-/upgraded")
	for _, c := range d.Components {
		ver := c.NewVersion
		if c.OldVersion != c.NewVersion {
			ver = strings.Trim(c.OldVersion+" → "+c.NewVersion, " →")
		}
		cls := c.NewClass
		if c.OldClass != c.NewClass {
			cls = strings.Trim(c.OldClass+" → "+c.NewClass, " →")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d/%d\n", c.Name, c.Change, ver, cls, len(c.SOUP.Added), len(c.SOUP.Removed), len(c.SOUP.Upgraded))
	}
	tw.Flush()
	for _, c := range d.Components {
		for _, s := range c.SOUP.Added {
			fmt.Fprintf(w, "  + %s: %s %s\n", c.Name, s.Name, s.Version)
		}
		for _, s := range c.SOUP.Removed {
			fmt.Fprintf(w, "  - %s: %s %s\n", c.Name, s.Name, s.Version)
		}
		for _, s := range c.SOUP.Upgraded {
			fmt.Fprintf(w, "  ~ %s: %s %s → %s\n", c.Name, s.Name, s.OldVersion, s.NewVersion)
		}
		for _, t := range c.Tests {
			if t.OldTests != t.NewTests || t.OldFailing != t.NewFailing {
				fmt.Fprintf(w, "  tests %s %s: %d → %d tests, %d → %d failing\n", c.Name, t.Level, t.OldTests, t.NewTests, t.OldFailing, t.NewFailing)
			}
		}
	}
	fmt.Fprintf(w, "\nAnomalies: %d new, %d carried over, %d closed\n", len(d.Anomalies.New), len(d.Anomalies.Carried), len(d.Anomalies.Closed))
	for _, x := range d.Anomalies.New {
		fmt.Fprintf(w, "  new      %s %s: %s\n", x.Component, x.ID, x.Title)
	}
	for _, x := range d.Anomalies.Carried {
		fmt.Fprintf(w, "  carried  %s %s: %s\n", x.Component, x.ID, x.Title)
	}
	for _, x := range d.Anomalies.Closed {
		fmt.Fprintf(w, "  closed   %s %s: %s\n", x.Component, x.ID, x.Title)
	}
}

type exportOptions struct {
	serverOptions
	out string
}

func (a *app) exportCommand() *cobra.Command {
	var o exportOptions
	cmd := &cobra.Command{
		Use:   "export PRODUCT@VERSION -o FILE.tar",
		Short: "Download a release's audit pack",
		Long: `Download a release's audit pack: one tar with the manifest, its signature, every
evidence file, approvals, the log inclusion proof, the trust material and
RECORD.html, a printable release record. Verify it offline with
'evident verify FILE.tar --key PUB'. The file appears only when complete.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := evidence.ParseReleaseRef(args[0])
			if err != nil {
				return &usageError{err}
			}
			if o.out == "" {
				return &usageError{errors.New("-o FILE.tar is required")}
			}
			c, err := a.client(cmd, &o.serverOptions)
			if err != nil {
				return err
			}
			n, err := exportTo(cmd.Context(), c, ref, o.out)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Wrote %s (%d bytes): audit pack of %s\n", o.out, n, ref)
			return nil
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVarP(&o.out, "out", "o", "", "output file (must not exist)")
	return cmd
}

// exportTo downloads a pack into a temporary file beside out, checks that
// it is a complete pack, and renames it into place.
func exportTo(ctx context.Context, c api.Archive, ref evidence.ReleaseRef, out string) (int64, error) {
	if _, err := os.Stat(out); err == nil {
		return 0, evidence.Errorf(evidence.KindInvalid, "%s exists; choose a new file", out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".partial-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := c.Export(ctx, ref, bw); err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	st, err := tmp.Stat()
	if err != nil {
		return 0, err
	}
	if _, err := pack.Open(tmp, st.Size()); err != nil {
		return 0, evidence.Errorf(evidence.KindInternal, "the downloaded pack is incomplete: %v", err)
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Link(tmp.Name(), out); err != nil {
		return 0, err
	}
	return st.Size(), nil
}
