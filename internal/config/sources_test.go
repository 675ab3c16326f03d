package config_test

import (
	"testing"

	"github.com/evident-dev/evident/internal/config"
)

func TestLoadSourcesOptional(t *testing.T) {
	cfg, err := config.Load(config.LoadOptions{Path: writeConfig(t, component())})
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Components[0]; c.Changes != nil || c.AnomalyIssues != nil {
		t.Errorf("sources set without being configured: %+v %+v", c.Changes, c.AnomalyIssues)
	}
	// An empty github entry is valid: the repository comes from the CI run.
	cfg, err = config.Load(config.LoadOptions{Path: writeConfig(t,
		component("changes: {github: {}}", "anomalyIssues: {gitlab: {}}"))})
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Components[0]; c.Changes.GitHub == nil || c.AnomalyIssues.GitLab == nil {
		t.Errorf("empty sources: %+v %+v", c.Changes, c.AnomalyIssues)
	}
}

func TestLoadSourceErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want []string
	}{
		{"changes without a source", component("changes: {}"), []string{"components[0] (wm-firmware).changes: name a change source (github)"}},
		{"unknown change source", component("changes: {gitea: {}}"), []string{`unknown key "gitea"`}},
		{"bad repository", component("changes: {github: {repository: acme}}"), []string{`.changes.github.repository "acme": want OWNER/NAME`}},
		{"a range as since", component("changes: {github: {since: v1..v2}}"), []string{`.changes.github.since "v1..v2": want one tag, branch or commit`}},
		{"bad tag pattern", component(`changes: {github: {tagPattern: "v["}}`), []string{`.changes.github.tagPattern "v["`}},
		{"tag pattern without a wildcard", component(`changes: {github: {tagPattern: v1.0.0}}`), []string{`.changes.github.tagPattern "v1.0.0"`}},
		{"bad noPreviousRelease", component("changes: {github: {noPreviousRelease: skip}}"), []string{`.noPreviousRelease "skip": want error (the default) or all`}},
		{"api URL with credentials", component(`changes: {github: {apiURL: "https://u:p@ghe.example.com/api/v3"}}`), []string{".changes.github.apiURL: no credentials in the URL"}},
		{"api URL not http", component(`changes: {github: {apiURL: "ftp://x"}}`), []string{`.changes.github.apiURL "ftp://x": want an http(s) URL`}},
		{"bad token variable", component(`changes: {github: {tokenEnv: "GITHUB TOKEN"}}`), []string{`.tokenEnv "GITHUB TOKEN": want the name of an environment variable`}},
		{"issues without a tracker", component("anomalyIssues: {}"), []string{".anomalyIssues: name an issue tracker (github or gitlab)"}},
		{"bad github state", component("anomalyIssues: {github: {state: opened}}"), []string{`.anomalyIssues.github.state "opened": want open`}},
		{"bad gitlab state", component("anomalyIssues: {gitlab: {state: reopened}}"), []string{`.anomalyIssues.gitlab.state "reopened": want opened`}},
		{"label with a comma", component(`anomalyIssues: {github: {labels: ["a,b"]}}`), []string{`.labels[0] "a,b": want a label name without commas`}},
		{"numeric project id unquoted", component("anomalyIssues: {gitlab: {project: 42}}"), []string{`components[0].anomalyIssues.gitlab.project: want a string, got the number 42 at line 8; quote it: "42"`}},
		{"labels not a list", component("anomalyIssues: {gitlab: {labels: anomaly}}"), []string{"want a list"}},
		{"bad project", component("anomalyIssues: {gitlab: {project: /group/}}"), []string{`.anomalyIssues.gitlab.project "/group/"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			p := writeConfig(t, body)
			cfg, err := config.Load(config.LoadOptions{Path: p})
			if err == nil {
				t.Fatalf("Load accepts it: %+v\n%s", cfg, body)
			}
			checkErr(t, err, p, tc.want)
		})
	}
}

func TestLoadSourceOverrides(t *testing.T) {
	p := writeConfig(t, component("changes: {github: {since: v1.0.0}}"))
	cfg, err := config.Load(config.LoadOptions{Path: p,
		LookupEnv: env(map[string]string{"EVIDENT_COMPONENTS_WM_FIRMWARE_CHANGES_GITHUB_SINCE": "v1.1.0"}),
		Sets:      []string{"components.wm-firmware.changes.github.until=v1.2.0"}})
	if err != nil {
		t.Fatal(err)
	}
	if g := cfg.Components[0].Changes.GitHub; g.Since != "v1.1.0" || g.Until != "v1.2.0" {
		t.Errorf("since, until = %q, %q; want v1.1.0, v1.2.0", g.Since, g.Until)
	}
	// Overriding a source the component does not have is an error.
	p = writeConfig(t, component())
	_, err = config.Load(config.LoadOptions{Path: p, Sets: []string{"components.wm-firmware.changes.github.since=v1"}})
	checkErr(t, err, p, []string{"component wm-firmware has no changes.github source to override"})
}
