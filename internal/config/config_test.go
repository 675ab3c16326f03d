package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/evident-dev/evident/internal/config"
	"github.com/evident-dev/evident/internal/evidence"
)

// writeConfig writes body as evident.yaml in a fresh directory and returns
// its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), config.DefaultFile)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// env returns a LookupEnv over a fixed map.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// fullYAML sets every key evident.yaml has, with the spellings the README
// documents.
const fullYAML = `# every key
product: {name: wearable-monitor, version: 2.4.0}
components:
  - name: wm-firmware
    kind: firmware
    version: 3.1.2
    safetyClass: C
    artifacts: ["build/fw/*.bin", "build/fw/**/*.swu"]
    images: ["registry.example.com/acme/fw-tools:1.0@sha256:4f1d9c2b7a6e5d3c8b0a1f2e3d4c5b6a79880716253443526170819a2b3c4d5e"]
    tests:
      - {path: "reports/fw/unit-*.xml", level: unit}
      - {path: "reports/fw/hil.xml", level: integration, format: junit-xml}
      - {path: "reports/fw/go-test.json", level: unit, format: go-test-json}
      - {path: "reports/fw/go-test.txt", level: system, format: go-test-text}
    sbom: ["sbom/fw.cdx.json"]
    anomalies: ["anomalies/fw.yaml"]
    releaseNotes: docs/fw-release-notes.md
    installation: docs/install-update.md
    configuration: ["config/*.yaml"]
    migrations: {version: "0014", files: ["migrations/*.sql"]}
    other: ["docs/other.pdf"]
    build:
      command: cmake --build build/fw
      toolchain: [{name: arm-none-eabi-gcc, version: "13.3.rel1"}, {name: cmake, version: "3.30.5"}]
    changes:
      github: {repository: acme/wm-firmware, since: v3.1.1, until: v3.1.2, tagPattern: "v*", noPreviousRelease: all, apiURL: "https://ghe.example.com/api/v3", tokenEnv: FW_TOKEN}
    anomalyIssues:
      github: {repository: acme/wm-firmware, labels: [anomaly, fw], state: all, idPrefix: FW-, apiURL: "https://ghe.example.com/api/v3", tokenEnv: FW_TOKEN}
      gitlab: {project: wearable/firmware, labels: [anomaly], state: opened, idPrefix: GLFW-, baseURL: "https://gitlab.example.com", tokenEnv: GL_TOKEN}
  - name: wm-dashboard
    kind: web
    version: 2.7.0
    safetyClass: A
    artifacts: ["build/dashboard/*.tar.gz"]
policy: policy/acme.yaml
`

func fullWant(path string) *config.Config {
	return &config.Config{
		File:    path,
		Dir:     filepath.Dir(path),
		Product: config.Product{Name: "wearable-monitor", Version: "2.4.0"},
		Components: []config.Component{
			{
				Name:        "wm-firmware",
				Kind:        "firmware",
				Version:     "3.1.2",
				SafetyClass: "C",
				Artifacts:   []string{"build/fw/*.bin", "build/fw/**/*.swu"},
				Images:      []string{"registry.example.com/acme/fw-tools:1.0@sha256:4f1d9c2b7a6e5d3c8b0a1f2e3d4c5b6a79880716253443526170819a2b3c4d5e"},
				Tests: []config.Test{
					{Path: "reports/fw/unit-*.xml", Level: "unit"},
					{Path: "reports/fw/hil.xml", Level: "integration", Format: "junit-xml"},
					{Path: "reports/fw/go-test.json", Level: "unit", Format: "go-test-json"},
					{Path: "reports/fw/go-test.txt", Level: "system", Format: "go-test-text"},
				},
				SBOM:          []string{"sbom/fw.cdx.json"},
				Anomalies:     []string{"anomalies/fw.yaml"},
				ReleaseNotes:  "docs/fw-release-notes.md",
				Installation:  "docs/install-update.md",
				Configuration: []string{"config/*.yaml"},
				Migrations:    &config.Migrations{Version: "0014", Files: []string{"migrations/*.sql"}},
				Other:         []string{"docs/other.pdf"},
				Build: config.Build{
					Command: "cmake --build build/fw",
					Toolchain: []config.Tool{
						{Name: "arm-none-eabi-gcc", Version: "13.3.rel1"},
						{Name: "cmake", Version: "3.30.5"},
					},
				},
				Changes: &config.Changes{GitHub: &config.GitHubChanges{
					Repository: "acme/wm-firmware", Since: "v3.1.1", Until: "v3.1.2", TagPattern: "v*", NoPreviousRelease: "all",
					APIURL: "https://ghe.example.com/api/v3", TokenEnv: "FW_TOKEN",
				}},
				AnomalyIssues: &config.AnomalyIssues{
					GitHub: &config.GitHubIssues{Repository: "acme/wm-firmware", Labels: []string{"anomaly", "fw"}, State: "all", IDPrefix: "FW-",
						APIURL: "https://ghe.example.com/api/v3", TokenEnv: "FW_TOKEN"},
					GitLab: &config.GitLabIssues{Project: "wearable/firmware", Labels: []string{"anomaly"}, State: "opened", IDPrefix: "GLFW-",
						BaseURL: "https://gitlab.example.com", TokenEnv: "GL_TOKEN"},
				},
			},
			{
				Name:        "wm-dashboard",
				Kind:        "web",
				Version:     "2.7.0",
				SafetyClass: "A",
				Artifacts:   []string{"build/dashboard/*.tar.gz"},
			},
		},
		Policy: "policy/acme.yaml",
	}
}

func TestLoadFull(t *testing.T) {
	p := writeConfig(t, fullYAML)
	got, err := config.Load(config.LoadOptions{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	// EquateEmpty: an absent list may load as nil or empty; no caller can
	// tell them apart.
	if diff := cmp.Diff(fullWant(p), got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
}

// TestLoadRelativePath: a relative --config resolves against the working
// directory and File/Dir are absolute, since every pattern is relative to
// Dir.
func TestLoadRelativePath(t *testing.T) {
	p := writeConfig(t, fullYAML)
	t.Chdir(filepath.Dir(p))
	got, err := config.Load(config.LoadOptions{}) // DefaultFile
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(config.DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	if got.File != abs || got.Dir != filepath.Dir(abs) {
		t.Errorf("File, Dir = %q, %q; want %q, %q", got.File, got.Dir, abs, filepath.Dir(abs))
	}
}

// TestLoadWearableExample loads the example the README's demo runs.
func TestLoadWearableExample(t *testing.T) {
	cfg, err := config.Load(config.LoadOptions{Path: "../../testdata/wearable/evident.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	type summary struct{ Name, Kind, Version, Class string }
	var got []summary
	for _, c := range cfg.Components {
		got = append(got, summary{c.Name, c.Kind, c.Version, c.SafetyClass})
	}
	want := []summary{
		{"wm-firmware", "firmware", "3.1.2", "C"},
		{"wm-app", "app", "5.0.1", "B"},
		{"wm-alert-service", "cloud", "1.8.0", "C"},
		{"wm-dashboard", "web", "2.7.0", "A"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
	if cfg.Product != (config.Product{Name: "wearable-monitor", Version: "2.4.0"}) {
		t.Errorf("product = %+v", cfg.Product)
	}
}

// baseYAML is a small valid config whose second component's name has dots
// and dashes, for overrides.
const baseYAML = `product: {name: wearable-monitor, version: 2.4.0}
components:
  - name: wm-firmware
    kind: firmware
    version: 3.1.2
    safetyClass: C
    artifacts: ["build/fw/*.bin"]
  - name: wm.alert-svc
    kind: cloud
    version: 1.8.0
    safetyClass: B
    artifacts: ["build/alert/*"]
`

func TestLoadOverrides(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		sets []string
		want func(c *config.Config)
	}{
		{
			name: "none",
			want: func(c *config.Config) {},
		},
		{
			name: "product version from the environment",
			env:  map[string]string{"EVIDENT_PRODUCT_VERSION": "2.4.1"},
			want: func(c *config.Config) { c.Product.Version = "2.4.1" },
		},
		{
			name: "product name and policy from the environment",
			env:  map[string]string{"EVIDENT_PRODUCT_NAME": "wm", "EVIDENT_POLICY": "p.yaml"},
			want: func(c *config.Config) { c.Product.Name = "wm"; c.Policy = "p.yaml" },
		},
		{
			name: "component version from the environment",
			env:  map[string]string{"EVIDENT_COMPONENTS_WM_FIRMWARE_VERSION": "3.1.3"},
			want: func(c *config.Config) { c.Components[0].Version = "3.1.3" },
		},
		{
			name: "component with dots and dashes from the environment",
			env:  map[string]string{"EVIDENT_COMPONENTS_WM_ALERT_SVC_VERSION": "1.8.1"},
			want: func(c *config.Config) { c.Components[1].Version = "1.8.1" },
		},
		{
			name: "camel-case and nested keys from the environment",
			env: map[string]string{
				"EVIDENT_COMPONENTS_WM_FIRMWARE_SAFETYCLASS":        "B",
				"EVIDENT_COMPONENTS_WM_FIRMWARE_BUILD_COMMAND":      "make fw",
				"EVIDENT_COMPONENTS_WM_FIRMWARE_MIGRATIONS_VERSION": "0015",
				"EVIDENT_COMPONENTS_WM_FIRMWARE_RELEASENOTES":       "docs/notes.md",
				"EVIDENT_COMPONENTS_WM_FIRMWARE_INSTALLATION":       "docs/install.md",
				"EVIDENT_COMPONENTS_WM_FIRMWARE_KIND":               "library",
			},
			want: func(c *config.Config) {
				fw := &c.Components[0]
				fw.SafetyClass = "B"
				fw.Build.Command = "make fw"
				fw.Migrations = &config.Migrations{Version: "0015"}
				fw.ReleaseNotes = "docs/notes.md"
				fw.Installation = "docs/install.md"
				fw.Kind = "library"
			},
		},
		{
			name: "list keys comma-separated from the environment",
			env: map[string]string{
				"EVIDENT_COMPONENTS_WM_FIRMWARE_ARTIFACTS":     "build/fw/*.bin, build/fw/*.swu,,",
				"EVIDENT_COMPONENTS_WM_FIRMWARE_SBOM":          "sbom/a.json,sbom/b.xml",
				"EVIDENT_COMPONENTS_WM_FIRMWARE_ANOMALIES":     "anomalies/fw.yaml",
				"EVIDENT_COMPONENTS_WM_FIRMWARE_CONFIGURATION": "config/a.yaml",
				"EVIDENT_COMPONENTS_WM_FIRMWARE_OTHER":         "x.pdf, y.pdf",
				"EVIDENT_COMPONENTS_WM_ALERT_SVC_IMAGES":       "r/a@sha256:4f1d9c2b7a6e5d3c8b0a1f2e3d4c5b6a79880716253443526170819a2b3c4d5e",
			},
			want: func(c *config.Config) {
				fw := &c.Components[0]
				fw.Artifacts = []string{"build/fw/*.bin", "build/fw/*.swu"}
				fw.SBOM = []string{"sbom/a.json", "sbom/b.xml"}
				fw.Anomalies = []string{"anomalies/fw.yaml"}
				fw.Configuration = []string{"config/a.yaml"}
				fw.Other = []string{"x.pdf", "y.pdf"}
				c.Components[1].Images = []string{"r/a@sha256:4f1d9c2b7a6e5d3c8b0a1f2e3d4c5b6a79880716253443526170819a2b3c4d5e"}
			},
		},
		{
			name: "variables for keys that cannot be overridden are ignored",
			env: map[string]string{
				"EVIDENT_COMPONENTS_WM_FIRMWARE_NAME":  "x",
				"EVIDENT_COMPONENTS_WM_FIRMWARE_TESTS": "x",
				"EVIDENT_COMPONENTS_NOPE_VERSION":      "9",
				"EVIDENT_PRODUCT":                      "x",
			},
			want: func(c *config.Config) {},
		},
		{
			name: "--set",
			sets: []string{"product.version=2.4.1", "components.wm-firmware.version=3.1.3"},
			want: func(c *config.Config) { c.Product.Version = "2.4.1"; c.Components[0].Version = "3.1.3" },
		},
		{
			name: "--set wins over the environment",
			env:  map[string]string{"EVIDENT_PRODUCT_VERSION": "2.4.1", "EVIDENT_COMPONENTS_WM_FIRMWARE_VERSION": "3.1.3"},
			sets: []string{"product.version=2.4.2", "components.wm-firmware.version=3.1.4"},
			want: func(c *config.Config) { c.Product.Version = "2.4.2"; c.Components[0].Version = "3.1.4" },
		},
		{
			name: "--set a component whose name has dots",
			sets: []string{"components.wm.alert-svc.version=1.9.0", "components.wm.alert-svc.build.command=ko build"},
			want: func(c *config.Config) { c.Components[1].Version = "1.9.0"; c.Components[1].Build.Command = "ko build" },
		},
		{
			name: "--set a value containing =",
			sets: []string{"components.wm-firmware.build.command=make CFLAGS=-O2"},
			want: func(c *config.Config) { c.Components[0].Build.Command = "make CFLAGS=-O2" },
		},
		{
			name: "--set a list",
			sets: []string{"components.wm-firmware.artifacts=a.bin,b.bin"},
			want: func(c *config.Config) { c.Components[0].Artifacts = []string{"a.bin", "b.bin"} },
		},
		{
			name: "the last --set of a key wins",
			sets: []string{"product.version=1", "product.version=2"},
			want: func(c *config.Config) { c.Product.Version = "2" },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, baseYAML)
			want, err := config.Load(config.LoadOptions{Path: p})
			if err != nil {
				t.Fatal(err)
			}
			tc.want(want)
			got, err := config.Load(config.LoadOptions{Path: p, LookupEnv: env(tc.env), Sets: tc.sets})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadOverrideLongestName: with components "wm" and "wm.fw", a key
// under components.wm.fw. belongs to the longer name.
func TestLoadOverrideLongestName(t *testing.T) {
	p := writeConfig(t, `product: {name: p, version: "1"}
components:
  - {name: wm, kind: app, version: "1", safetyClass: A, artifacts: [a]}
  - {name: wm.fw, kind: firmware, version: "1", safetyClass: A, artifacts: [b]}
`)
	cfg, err := config.Load(config.LoadOptions{Path: p, Sets: []string{"components.wm.fw.version=2", "components.wm.version=3"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{cfg.Components[0].Version, cfg.Components[1].Version}; !cmp.Equal(got, []string{"3", "2"}) {
		t.Errorf("versions = %v, want [3 2]", got)
	}
}

// TestLoadOverrideErrors: a bad override is an error naming where it came
// from, and overridden values are validated like the file's.
func TestLoadOverrideErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		sets []string
		want []string
	}{
		{"no =", nil, []string{"product.version"}, []string{`--set "product.version": want KEY=VALUE`}},
		{"empty key", nil, []string{"=1"}, []string{`--set "=1": want KEY=VALUE`}},
		{"unknown key", nil, []string{"product.vendor=x"}, []string{`--set product.vendor: unknown key "product.vendor"`, "product.version"}},
		{"unknown top-level key", nil, []string{"components=x"}, []string{`--set components: unknown key "components"`}},
		{"unknown component", nil, []string{"components.wm-app.version=1"}, []string{`--set components.wm-app.version: key "components.wm-app.version" names no component`}},
		{"component key that cannot be set", nil, []string{"components.wm-firmware.tests=x"}, []string{`"tests" cannot be overridden`}},
		{"component name cannot be set", nil, []string{"components.wm-firmware.name=x"}, []string{`"name" cannot be overridden`}},
		{"keys are case-sensitive", nil, []string{"components.wm-firmware.Version=1"}, []string{`"Version" cannot be overridden`}},
		{"bad version from the environment", map[string]string{"EVIDENT_PRODUCT_VERSION": "2.4 beta"}, nil, []string{`product.version "2.4 beta"`}},
		{"bad class by --set", nil, []string{"components.wm-firmware.safetyClass=D"}, []string{`components[0] (wm-firmware).safetyClass "D": want A, B or C`}},
		{"list emptied by --set", nil, []string{"components.wm-firmware.artifacts="}, []string{"components[0] (wm-firmware): list the released files under artifacts"}},
		{"escaping path by --set", nil, []string{"components.wm-firmware.sbom=../sbom.json"}, []string{`components[0] (wm-firmware).sbom: "../sbom.json" leaves the config file's directory`}},
		{"absolute policy by environment", map[string]string{"EVIDENT_POLICY": "/etc/policy.yaml"}, nil, []string{`policy: "/etc/policy.yaml" is absolute`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, baseYAML)
			_, err := config.Load(config.LoadOptions{Path: p, LookupEnv: env(tc.env), Sets: tc.sets})
			checkErr(t, err, p, tc.want)
		})
	}
}

// checkErr asserts an invalid-input error that starts with the config path
// and contains every wanted fragment.
func checkErr(t *testing.T, err error, path string, want []string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !evidence.IsKind(err, evidence.KindInvalid) {
		t.Errorf("kind %q, want invalid: %v", evidence.KindOf(err), err)
	}
	if prefix := "config " + path + ": "; !strings.HasPrefix(err.Error(), prefix) {
		t.Errorf("error does not start with %q: %v", prefix, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}

// component returns a config with one valid component, each extra
// "key: value" replacing that key's line or, for other keys, appended. The
// lines are fixed: 3 name, 4 kind, 5 version, 6 safetyClass, 7 artifacts,
// then the appended ones from 8.
func component(extra ...string) string {
	fields := [][2]string{
		{"name", "wm-firmware"}, {"kind", "firmware"}, {"version", "3.1.2"}, {"safetyClass", "C"}, {"artifacts", `["build/fw/*.bin"]`},
	}
	var tail []string
	for _, e := range extra {
		k, v, _ := strings.Cut(e, ": ")
		replaced := false
		for i := range fields {
			if fields[i][0] == k {
				fields[i][1], replaced = v, true
			}
		}
		if !replaced {
			tail = append(tail, e)
		}
	}
	var b strings.Builder
	b.WriteString("product: {name: wearable-monitor, version: 2.4.0}\ncomponents:\n")
	for i, f := range fields {
		if i == 0 {
			b.WriteString("  - ")
		} else {
			b.WriteString("    ")
		}
		b.WriteString(f[0] + ": " + f[1] + "\n")
	}
	for _, e := range tail {
		b.WriteString("    " + e + "\n")
	}
	return b.String()
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want []string
	}{
		// Unknown keys, named as spelled, with their line.
		{"unknown component key", `product: {name: p, version: "1"}
components:
  - name: c
    kind: app
    version: "1"
    safetyClas: B
    artifacts: [a]
`, []string{`components[0]: unknown key "safetyClas" at line 6`}},
		{"unknown top-level key", "product: {name: p, version: \"1\"}\nprodct: x\ncomponents: []\n",
			[]string{`: unknown key "prodct" at line 2`}},
		{"unknown keys at two levels", `product: {name: p, version: "1", vendor: acme}
components:
  - name: c
    kind: app
    version: "1"
    safetyClass: B
    artifacts: [a]
    tests:
      - {path: a.xml, level: unit}
      - {path: b.xml, level: unit,
         version: "2"}
`, []string{`product: unknown key "vendor" at line 1`, `components[0].tests[1]: unknown key "version" at line 11`}},
		{"unknown key in the second component", `product: {name: p, version: "1"}
components:
  - {name: a, kind: app, version: "1", safetyClass: B, artifacts: [a]}
  - {name: b, kind: app, version: "1", safetyClass: B, artifacts: [a],
     Artefacts: [b]}
`, []string{`components[1]: unknown key "Artefacts" at line 5`}},
		{"unknown build key", component("build: {command: make, tools: [gcc]}"), []string{`components[0].build: unknown key "tools" at line 8`}},

		// YAML that is not a config.
		{"malformed YAML", "product: {name: p\n", []string{"line 1: did not find expected ',' or '}'"}},
		{"tab indentation", "product:\n\tname: p\n", []string{"line 2: found character that cannot start any token"}},
		{"empty file", "", []string{"the file is empty"}},
		{"comments only", "# evident.yaml\n\n", []string{"the file is empty"}},
		{"null document", "~\n", []string{"the file is empty"}},
		{"top level is a list", "- product\n- components\n", []string{"line 1: want a mapping (product, components, policy), got a list"}},
		{"two documents", baseYAML + "---\n" + baseYAML, []string{"a second YAML document"}},
		{"repeated key", "product: {name: p, version: \"1\"}\nproduct: {name: q, version: \"1\"}\n", []string{`line 2: key "product" repeats line 1`}},
		{"key repeated in another case", component("SafetyClass: B"), []string{`line 8: key "SafetyClass" repeats "safetyClass" of line 6 (keys are not case-sensitive)`}},

		// Wrong types: refused, never converted.
		{"number as version", component("version: 1.10"), []string{`components[0].version: want a string, got the number 1.10 at line 5; quote it: "1.10"`}},
		{"octal-looking migration version", component(`migrations: {version: 0014, files: ["m/*.sql"]}`), []string{`components[0].migrations.version: want a string, got the number 0014 at line 8; quote it: "0014"`}},
		{"date as version", component("version: 2024-11-18"), []string{`components[0].version: want a string, got the date 2024-11-18 at line 5`}},
		{"boolean as kind", component("kind: true"), []string{`components[0].kind: want a string, got the boolean true at line 4`}},
		{"number as toolchain version", component(`build: {toolchain: [{name: go, version: 1.20}]}`), []string{`components[0].build.toolchain[0].version: want a string, got the number 1.20 at line 8; quote it: "1.20"`}},
		{"string as list", component(`artifacts: "build/{fw,app}/*.bin"`), []string{`components[0].artifacts: want a list, got the string "build/{fw,app}/*.bin" at line 7`}},
		{"mapping as components", "product: {name: p, version: \"1\"}\ncomponents: {name: c}\n", []string{"components: want a list, got a mapping at line 2"}},
		{"list as product", "product: [p, \"1\"]\ncomponents: []\n", []string{"product: want a mapping, got a list at line 1"}},
		{"string as test", component("tests: [reports/unit.xml]"), []string{`components[0].tests[0]: want a mapping, got the string "reports/unit.xml" at line 8`}},
		{"list as policy", component() + "policy: [a.yaml]\n", []string{"policy: want a string, got a list at line 8"}},

		// Validation.
		{"no components", "product: {name: p, version: \"1\"}\ncomponents: []\n", []string{"components: list at least one component"}},
		{"no product", "components: []\n", []string{"product.name is empty", "product.version is empty"}},
		{"bad product name", "product: {name: wearable monitor, version: \"1\"}\ncomponents: []\n", []string{`product.name "wearable monitor": use letters, digits`}},
		{"component without name", component("name: ''"), []string{"components[0].name is empty"}},
		{"component name with a slash", component("name: wm/firmware"), []string{`components[0] (wm/firmware).name "wm/firmware": use letters`}},
		{"component without version", component("version: ''"), []string{"components[0] (wm-firmware).version is empty"}},
		{"component with null version", component("version: ~"), []string{"components[0] (wm-firmware).version is empty"}},
		{"two components with the same name", baseYAML + `  - name: wm-firmware
    kind: firmware
    version: 3.1.3
    safetyClass: C
    artifacts: [a]
`, []string{`components[2] (wm-firmware): name "wm-firmware" is already used by components[0]`}},
		{"bad kind", component("kind: service"), []string{`components[0] (wm-firmware).kind "service": want one of [firmware app cloud web library other]`}},
		{"no kind", component("kind: ''"), []string{`components[0] (wm-firmware).kind "": want one of`}},
		{"bad class", component("safetyClass: D"), []string{`components[0] (wm-firmware).safetyClass "D": want A, B or C`}},
		{"lower-case class", component("safetyClass: c"), []string{`components[0] (wm-firmware).safetyClass "c": want A, B or C`}},
		{"bad test level", component("tests: [{path: r.xml, level: acceptance}]"), []string{`components[0] (wm-firmware).tests[0].level "acceptance": want one of [unit integration system]`}},
		{"no test level", component("tests: [{path: r.xml}]"), []string{`components[0] (wm-firmware).tests[0].level "": want one of`}},
		{"bad test format", component("tests: [{path: r.xml, level: unit, format: nunit}]"), []string{`components[0] (wm-firmware).tests[0].format "nunit": want junit-xml (default), go-test-json or go-test-text`}},
		{"test without path", component("tests: [{level: unit}]"), []string{"components[0] (wm-firmware).tests[0].path is empty"}},
		{"no artifacts or images", component("artifacts: []"), []string{"components[0] (wm-firmware): list the released files under artifacts (or images for container images)"}},
		{"image not pinned", component("images: [registry.example.com/wm:1.0]"), []string{`components[0] (wm-firmware).images[0]: image "registry.example.com/wm:1.0": want NAME@sha256:HEX`}},
		{"toolchain without version", component("build: {toolchain: [{name: gcc}]}"), []string{"components[0] (wm-firmware).build.toolchain[0]: name and version are both required"}},
		{"migrations without version", component(`migrations: {files: ["m/*.sql"]}`), []string{"components[0] (wm-firmware).migrations.version is empty"}},

		// Paths: relative, forward slashes, inside the config directory.
		{"absolute artifact", component(`artifacts: ["/srv/build/fw.bin"]`), []string{`components[0] (wm-firmware).artifacts: "/srv/build/fw.bin" is absolute; paths are relative to the config file`}},
		{"artifact leaving the directory", component(`artifacts: ["../build/fw.bin"]`), []string{`components[0] (wm-firmware).artifacts: "../build/fw.bin" leaves the config file's directory`}},
		{".. inside a path", component(`artifacts: ["build/../../fw.bin"]`), []string{`"build/../../fw.bin" leaves the config file's directory`}},
		{"backslashes", component(`artifacts: ['build\fw\*.bin']`), []string{`components[0] (wm-firmware).artifacts: "build\\fw\\*.bin": use forward slashes`}},
		{"blank path", component(`artifacts: ["build/*.bin", " "]`), []string{"components[0] (wm-firmware).artifacts: empty path"}},
		{"absolute sbom", component(`sbom: ["/sbom.json"]`), []string{`.sbom: "/sbom.json" is absolute`}},
		{"escaping anomalies", component(`anomalies: ["../a.yaml"]`), []string{`.anomalies: "../a.yaml" leaves`}},
		{"escaping configuration", component(`configuration: ["config/../../c.yaml"]`), []string{`.configuration: "config/../../c.yaml" leaves`}},
		{"escaping other", component(`other: [".."]`), []string{`.other: ".." leaves`}},
		{"absolute release notes", component(`releaseNotes: /notes.md`), []string{`.releaseNotes: "/notes.md" is absolute`}},
		{"escaping installation", component(`installation: ../install.md`), []string{`.installation: "../install.md" leaves`}},
		{"escaping migrations", component(`migrations: {version: "1", files: ["../m.sql"]}`), []string{`.migrations.files: "../m.sql" leaves`}},
		{"escaping test report", component(`tests: [{path: ../r.xml, level: unit}]`), []string{`.tests[0].path: "../r.xml" leaves`}},
		{"absolute policy", component() + "policy: /etc/evident/policy.yaml\n", []string{`policy: "/etc/evident/policy.yaml" is absolute`}},

		// Every problem at once.
		{"several problems", component("kind: service", "safetyClass: D"), []string{`.kind "service"`, `.safetyClass "D"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, tc.body)
			cfg, err := config.Load(config.LoadOptions{Path: p})
			if err == nil {
				t.Fatalf("Load accepts it: %+v\n%s", cfg, tc.body)
			}
			checkErr(t, err, p, tc.want)
			if strings.Contains(err.Error(), "config.Config") || strings.Contains(err.Error(), "mapstructure") {
				t.Errorf("error speaks of Go types: %v", err)
			}
		})
	}
}

// TestComponentHelper keeps the helper TestLoadErrors builds on honest: the
// unmodified entry is valid.
func TestComponentHelper(t *testing.T) {
	if _, err := config.Load(config.LoadOptions{Path: writeConfig(t, component())}); err != nil {
		t.Fatalf("the base component is invalid: %v\n%s", err, component())
	}
	if _, err := config.Load(config.LoadOptions{Path: writeConfig(t, component("kind: app"))}); err != nil {
		t.Fatalf("replacing a key: %v\n%s", err, component("kind: app"))
	}
}

func TestLoadPathErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		path string
		want string
	}{
		{"missing file", filepath.Join(dir, "nope.yaml"), "no such file (name another with --config)"},
		{"directory", dir, "is a directory, want a YAML file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(config.LoadOptions{Path: tc.path})
			checkErr(t, err, tc.path, []string{tc.want})
		})
	}
}

// TestLoadQuotedScalars: quoting is how to write what looks like a number,
// and the quoted text is kept exactly.
func TestLoadQuotedScalars(t *testing.T) {
	p := writeConfig(t, component(`version: "1.10"`)+"    migrations: {version: '0014'}\n")
	cfg, err := config.Load(config.LoadOptions{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Components[0].Version; got != "1.10" {
		t.Errorf("version = %q, want 1.10", got)
	}
	if got := cfg.Components[0].Migrations.Version; got != "0014" {
		t.Errorf("migrations.version = %q, want 0014", got)
	}
}

func TestEnvName(t *testing.T) {
	for key, want := range map[string]string{
		"product.version":                       "EVIDENT_PRODUCT_VERSION",
		"policy":                                "EVIDENT_POLICY",
		"components.wm-firmware.version":        "EVIDENT_COMPONENTS_WM_FIRMWARE_VERSION",
		"components.wm.alert_svc.safetyClass":   "EVIDENT_COMPONENTS_WM_ALERT_SVC_SAFETYCLASS",
		"components.wm-fw2.migrations.version":  "EVIDENT_COMPONENTS_WM_FW2_MIGRATIONS_VERSION",
		"components.Wm-Firmware.build.command":  "EVIDENT_COMPONENTS_WM_FIRMWARE_BUILD_COMMAND",
		"components.wärme.version":              "EVIDENT_COMPONENTS_W_RME_VERSION",
		"components.wm-firmware.releaseNotes":   "EVIDENT_COMPONENTS_WM_FIRMWARE_RELEASENOTES",
		"components.wm-firmware.configuration":  "EVIDENT_COMPONENTS_WM_FIRMWARE_CONFIGURATION",
		"components.0wm-firmware.artifacts":     "EVIDENT_COMPONENTS_0WM_FIRMWARE_ARTIFACTS",
		"components.wm~firmware+1.installation": "EVIDENT_COMPONENTS_WM_FIRMWARE_1_INSTALLATION",
	} {
		if got := config.EnvName(key); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", key, got, want)
		}
	}
}
