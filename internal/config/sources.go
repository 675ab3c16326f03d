package config

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// The remote evidence sources of a component: change review from GitHub,
// anomalies from GitHub or GitLab issues. Validate checks their shape; the
// runner fills in what the CI environment knows (repository, commit) and
// reads them at seal time.

var (
	githubRepoRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	envNameRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// NoPreviousRelease values.
const (
	NoPreviousError = "error"
	NoPreviousAll   = "all"
)

func (c *Component) validateSources(where string) []string {
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if ch := c.Changes; ch != nil {
		w := where + ".changes"
		if ch.GitHub == nil {
			add("%s: name a change source (github)", w)
		} else {
			g, w := ch.GitHub, w+".github"
			checkRepo(add, w, g.Repository)
			for _, r := range []struct{ key, val string }{{"since", g.Since}, {"until", g.Until}} {
				if r.val != "" && (strings.ContainsAny(r.val, " \t\n~^:?*[\\") || strings.Contains(r.val, "..")) {
					add("%s.%s %q: want one tag, branch or commit", w, r.key, r.val)
				}
			}
			if g.TagPattern != "" {
				if _, err := path.Match(g.TagPattern, ""); err != nil || !strings.ContainsAny(g.TagPattern, "*?[") {
					add("%s.tagPattern %q: want a glob matching the release tags, such as \"v*\" or \"fw-v*\"", w, g.TagPattern)
				}
			}
			switch g.NoPreviousRelease {
			case "", NoPreviousError, NoPreviousAll:
			default:
				add("%s.noPreviousRelease %q: want %s (the default) or %s", w, g.NoPreviousRelease, NoPreviousError, NoPreviousAll)
			}
			checkURL(add, w+".apiURL", g.APIURL)
			checkEnv(add, w+".tokenEnv", g.TokenEnv)
		}
	}
	if ai := c.AnomalyIssues; ai != nil {
		w := where + ".anomalyIssues"
		if ai.GitHub == nil && ai.GitLab == nil {
			add("%s: name an issue tracker (github or gitlab)", w)
		}
		if g := ai.GitHub; g != nil {
			w := w + ".github"
			checkRepo(add, w, g.Repository)
			checkLabels(add, w, g.Labels)
			switch g.State {
			case "", "open", "closed", "all":
			default:
				add("%s.state %q: want open (the default), closed or all", w, g.State)
			}
			checkPrefix(add, w, g.IDPrefix)
			checkURL(add, w+".apiURL", g.APIURL)
			checkEnv(add, w+".tokenEnv", g.TokenEnv)
		}
		if g := ai.GitLab; g != nil {
			w := w + ".gitlab"
			if g.Project != "" && (strings.ContainsAny(g.Project, " \t\n?#") || strings.HasPrefix(g.Project, "/") || strings.HasSuffix(g.Project, "/")) {
				add("%s.project %q: want group/project or the project's numeric id", w, g.Project)
			}
			checkLabels(add, w, g.Labels)
			switch g.State {
			case "", "opened", "open", "closed", "all":
			default:
				add("%s.state %q: want opened (the default), closed or all", w, g.State)
			}
			checkPrefix(add, w, g.IDPrefix)
			checkURL(add, w+".baseURL", g.BaseURL)
			checkEnv(add, w+".tokenEnv", g.TokenEnv)
		}
	}
	return probs
}

func checkRepo(add func(string, ...any), where, repo string) {
	if repo != "" && !githubRepoRE.MatchString(repo) {
		add("%s.repository %q: want OWNER/NAME", where, repo)
	}
}

func checkLabels(add func(string, ...any), where string, labels []string) {
	for i, l := range labels {
		if strings.TrimSpace(l) == "" || strings.Contains(l, ",") {
			add("%s.labels[%d] %q: want a label name without commas", where, i, l)
		}
	}
}

func checkPrefix(add func(string, ...any), where, p string) {
	if strings.ContainsAny(p, " \t\n") {
		add("%s.idPrefix %q: no white space", where, p)
	}
}

func checkURL(add func(string, ...any), key, s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		add("%s %q: want an http(s) URL", key, s)
	case u.User != nil:
		add("%s: no credentials in the URL; the token is read from the environment (tokenEnv)", key)
	}
}

func checkEnv(add func(string, ...any), key, name string) {
	if name != "" && !envNameRE.MatchString(name) {
		add("%s %q: want the name of an environment variable", key, name)
	}
}
