// Package config reads evident.yaml, the file a project adds to describe its
// product and components, with github.com/spf13/viper, applies overrides from
// EVIDENT_* environment variables and --set flags, validates it, and resolves
// its globs to files.
//
// Every path in the file is relative to the file's directory and must stay
// inside it: evidence is recorded under those relative names, so a path that
// escapes the project could not be named truthfully.
//
// Overrides. Scalar keys map to environment variables the viper way:
// product.version is EVIDENT_PRODUCT_VERSION. Component keys are addressed by
// component name: components.wm-firmware.version is
// EVIDENT_COMPONENTS_WM_FIRMWARE_VERSION (name upper-cased, every character
// that is not a letter or digit turned into "_") and --set
// components.wm-firmware.version=3.1.3 on the command line. List keys take a
// comma-separated value. Flags win over the environment, which wins over the
// file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/evident-dev/evident/internal/evidence"
)

// DefaultFile is the config file looked for when none is named.
const DefaultFile = "evident.yaml"

// EnvPrefix is the prefix of every environment override.
const EnvPrefix = "EVIDENT"

// Config is a parsed evident.yaml.
type Config struct {
	// File is the absolute path of the config file, Dir its directory.
	File string `mapstructure:"-"`
	Dir  string `mapstructure:"-"`

	Product    Product     `mapstructure:"product"`
	Components []Component `mapstructure:"components"`
	// Policy is an optional policy file overriding the built-in class table.
	Policy string `mapstructure:"policy"`
}

// Product names the product being released.
type Product struct {
	Name    string `mapstructure:"name"`
	Version string `mapstructure:"version"`
}

// Component is one component's entry.
type Component struct {
	Name        string `mapstructure:"name"`
	Kind        string `mapstructure:"kind"`
	Version     string `mapstructure:"version"`
	SafetyClass string `mapstructure:"safetyClass"`

	Artifacts []string `mapstructure:"artifacts"` // globs of released files
	Images    []string `mapstructure:"images"`    // container images by digest: NAME@sha256:HEX
	Tests     []Test   `mapstructure:"tests"`
	SBOM      []string `mapstructure:"sbom"`
	Anomalies []string `mapstructure:"anomalies"`

	ReleaseNotes  string      `mapstructure:"releaseNotes"`
	Configuration []string    `mapstructure:"configuration"` // e.g. cloud configuration files
	Migrations    *Migrations `mapstructure:"migrations"`
	Installation  string      `mapstructure:"installation"` // installation / update procedure
	Other         []string    `mapstructure:"other"`

	Build Build `mapstructure:"build"`

	// Changes names where the component's change-review evidence (IEC
	// 62304 8.2) is read from; nil: none is recorded.
	Changes *Changes `mapstructure:"changes"`
	// AnomalyIssues names issue trackers whose labelled issues are residual
	// anomalies of the component, recorded beside its anomaly lists.
	AnomalyIssues *AnomalyIssues `mapstructure:"anomalyIssues"`
}

// Changes is a component's change source.
type Changes struct {
	GitHub *GitHubChanges `mapstructure:"github"`
}

// GitHubChanges reads the commits since the previous release, their pull
// requests and reviews from GitHub.
type GitHubChanges struct {
	// Repository is OWNER/NAME; GITHUB_REPOSITORY when empty.
	Repository string `mapstructure:"repository"`
	// Since is the previous release (tag, branch or commit). When empty it
	// is the highest tag matching TagPattern below the release's version.
	Since string `mapstructure:"since"`
	// Until is the commit released; the commit being built when empty
	// (GITHUB_SHA, CI_COMMIT_SHA or git HEAD).
	Until string `mapstructure:"until"`
	// TagPattern matches release tags ("v*" when empty; "fw-v*" in a
	// repository that tags several components).
	TagPattern string `mapstructure:"tagPattern"`
	// NoPreviousRelease says what a first release records: "error" (the
	// default: name since) or "all" (every commit up to until).
	NoPreviousRelease string `mapstructure:"noPreviousRelease"`
	// APIURL is the REST API root of a GitHub Enterprise Server
	// (https://HOST/api/v3); GITHUB_API_URL, else github.com, when empty.
	APIURL string `mapstructure:"apiURL"`
	// TokenEnv names the variable holding the token (GITHUB_TOKEN).
	TokenEnv string `mapstructure:"tokenEnv"`
}

// AnomalyIssues is a component's issue-tracker anomaly sources.
type AnomalyIssues struct {
	GitHub *GitHubIssues `mapstructure:"github"`
	GitLab *GitLabIssues `mapstructure:"gitlab"`
}

// GitHubIssues reads anomalies from GitHub issues.
type GitHubIssues struct {
	Repository string   `mapstructure:"repository"` // OWNER/NAME; GITHUB_REPOSITORY when empty
	Labels     []string `mapstructure:"labels"`     // all must be on an issue; [anomaly] when empty
	State      string   `mapstructure:"state"`      // open (default), closed or all
	IDPrefix   string   `mapstructure:"idPrefix"`   // anomaly id = prefix + issue number, unless the issue gives one ("GH-")
	APIURL     string   `mapstructure:"apiURL"`
	TokenEnv   string   `mapstructure:"tokenEnv"` // GITHUB_TOKEN
}

// GitLabIssues reads anomalies from GitLab issues.
type GitLabIssues struct {
	Project  string   `mapstructure:"project"` // group/project or its numeric id (quoted); CI_PROJECT_PATH when empty
	Labels   []string `mapstructure:"labels"`  // [anomaly] when empty
	State    string   `mapstructure:"state"`   // opened (default), closed or all
	IDPrefix string   `mapstructure:"idPrefix"`
	// BaseURL is the instance or its API root; CI_API_V4_URL, else
	// gitlab.com, when empty.
	BaseURL  string `mapstructure:"baseURL"`
	TokenEnv string `mapstructure:"tokenEnv"` // GITLAB_TOKEN, else CI_JOB_TOKEN
}

// Test is one test-report source.
type Test struct {
	Path   string `mapstructure:"path"`
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"` // junit-xml (default), go-test-json, go-test-text
}

// Migrations names a database schema version and the migration files.
type Migrations struct {
	Version string   `mapstructure:"version"`
	Files   []string `mapstructure:"files"`
}

// Build describes how the component was built, for its provenance.
type Build struct {
	Command   string `mapstructure:"command"`
	Toolchain []Tool `mapstructure:"toolchain"`
}

// Tool is a toolchain entry.
type Tool struct {
	Name    string `mapstructure:"name"`
	Version string `mapstructure:"version"`
}

// LoadOptions says where the config is and what overrides it.
type LoadOptions struct {
	// Path of the config file; DefaultFile when empty.
	Path string
	// LookupEnv reads the environment (os.LookupEnv in main; nil: none).
	LookupEnv func(string) (string, bool)
	// Sets are KEY=VALUE overrides from the command line, applied last.
	Sets []string
}

// Load reads, overrides and validates a config file. Errors name the file
// and the key. Values are taken as typed: a number or date where a string
// belongs (version: 1.10, which YAML reads as 1.1) is an error asking for
// quotes, never converted.
func Load(opts LoadOptions) (*Config, error) {
	path := opts.Path
	if path == "" {
		path = DefaultFile
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "config %s: %v", path, err)
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, evidence.Errorf(evidence.KindInvalid, "config %s: no such file (name another with --config)", path)
	case err != nil:
		return nil, evidence.Errorf(evidence.KindInvalid, "config %s: %v", path, err)
	case st.IsDir():
		return nil, evidence.Errorf(evidence.KindInvalid, "config %s: is a directory, want a YAML file", path)
	}

	b, err := os.ReadFile(abs)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "config %s: %v", path, err)
	}
	root, err := parseYAML(b)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "config %s: %v", path, err)
	}
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(b)); err != nil {
		msg := strings.TrimPrefix(err.Error(), "While parsing config: ")
		return nil, evidence.Errorf(evidence.KindInvalid, "config %s: %s", path, strings.Join(strings.Fields(msg), " "))
	}
	var cfg Config
	if err := v.UnmarshalExact(&cfg, func(dc *mapstructure.DecoderConfig) {
		dc.ZeroFields = true
		dc.WeaklyTypedInput = false
		dc.DecodeHook = strictTypes
	}); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "config %s: %s", path, describeDecodeError(err, root))
	}
	cfg.File = abs
	cfg.Dir = filepath.Dir(abs)

	if err := cfg.applyOverrides(opts); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "config %s: %v", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "config %s: %v", path, err)
	}
	return &cfg, nil
}

// parseYAML parses the file a second time, into nodes, for what viper does
// not keep: positions and the keys as spelled. It refuses what viper would
// accept silently: an empty file, a second document, a top level that is not
// a mapping, and two keys of one mapping that differ only in case (viper
// lower-cases keys, so one of them would be dropped at random).
func parseYAML(b []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		return nil, errors.New(strings.Join(strings.Fields(strings.TrimPrefix(err.Error(), "yaml: ")), " "))
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, errors.New("a second YAML document follows the first; the config is one document")
	}
	if len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
		return nil, errors.New("the file is empty")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping (product, components, policy), got %s", root.Line, describeNode(root))
	}
	if err := checkKeys(root); err != nil {
		return nil, err
	}
	return root, nil
}

// checkKeys refuses a key that repeats another of its mapping, ignoring case.
func checkKeys(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			lk := strings.ToLower(k.Value)
			if prev, dup := seen[lk]; dup && prev.Value == k.Value {
				return fmt.Errorf("line %d: key %q repeats line %d", k.Line, k.Value, prev.Line)
			} else if dup {
				return fmt.Errorf("line %d: key %q repeats %q of line %d (keys are not case-sensitive)", k.Line, k.Value, prev.Value, prev.Line)
			}
			seen[lk] = k
		}
	}
	for _, c := range n.Content {
		if err := checkKeys(c); err != nil {
			return err
		}
	}
	return nil
}

// typeError is strictTypes' refusal; describeDecodeError words it with the
// value as written in the file.
type typeError struct {
	want string
	got  any
}

func (e *typeError) Error() string { return fmt.Sprintf("want %s, got %v", e.want, e.got) }

// strictTypes replaces viper's weak decoding, which would convert silently:
// an unquoted number or date into a string (YAML reads version 1.10 as the
// number 1.1 and 0014 as the octal 12, which would then be recorded), a
// string into a list (split at commas, breaking {a,b} patterns) and a list
// into a mapping.
func strictTypes(from, to reflect.Type, data any) (any, error) {
	for to.Kind() == reflect.Pointer {
		to = to.Elem()
	}
	var want string
	switch {
	case to.Kind() == reflect.String && from.Kind() != reflect.String:
		want = "a string"
	case to.Kind() == reflect.Slice && from.Kind() != reflect.Slice:
		want = "a list"
	case to.Kind() == reflect.Struct && from.Kind() != reflect.Map:
		want = "a mapping"
	}
	if want != "" {
		return nil, &typeError{want: want, got: data}
	}
	return data, nil
}

// describeDecodeError turns mapstructure's errors, which speak of lower-cased
// keys and Go types, into something a YAML author recognises: every problem
// is named by its key, unknown keys as spelled in the file, with their line.
func describeDecodeError(err error, root *yaml.Node) string {
	rootName := reflect.TypeFor[Config]().String() // mapstructure's name for the top level
	var parts []string
	for _, e := range decodeErrors(err) {
		var de *mapstructure.DecodeError
		if !errors.As(e, &de) {
			parts = append(parts, e.Error())
			continue
		}
		where := de.Name()
		if where == rootName {
			where = ""
		}
		prefix := ""
		if where != "" {
			prefix = where + ": "
		}
		var te *typeError
		if errors.As(de.Unwrap(), &te) {
			got := fmt.Sprint(te.got)
			if _, val := lookup(root, where); val != nil {
				got = describeNode(val) + fmt.Sprintf(" at line %d", val.Line)
				if te.want == "a string" && val.Kind == yaml.ScalarNode {
					got += fmt.Sprintf("; quote it: %q", val.Value)
				}
			}
			parts = append(parts, fmt.Sprintf("%swant %s, got %s", prefix, te.want, got))
			continue
		}
		keys, ok := strings.CutPrefix(de.Unwrap().Error(), "has invalid keys: ")
		if !ok {
			parts = append(parts, prefix+de.Unwrap().Error())
			continue
		}
		_, m := lookup(root, where)
		for _, k := range strings.Split(keys, ", ") {
			if kn := keyNode(m, k); kn != nil {
				parts = append(parts, fmt.Sprintf("%sunknown key %q at line %d", prefix, kn.Value, kn.Line))
			} else {
				parts = append(parts, fmt.Sprintf("%sunknown key %q", prefix, k))
			}
		}
	}
	return strings.Join(parts, "; ")
}

// decodeErrors flattens mapstructure's joined errors.
func decodeErrors(err error) []error {
	switch e := err.(type) {
	case *mapstructure.DecodeError:
		return []error{e}
	case interface{ Unwrap() []error }:
		var out []error
		for _, c := range e.Unwrap() {
			out = append(out, decodeErrors(c)...)
		}
		return out
	case interface{ Unwrap() error }:
		if inner := e.Unwrap(); inner != nil {
			return decodeErrors(inner)
		}
	}
	return []error{err}
}

// lookup returns the node at a mapstructure path such as
// "components[0].tests[1].level" ("" is the root), matching keys as viper
// does, ignoring case; nil when there is none.
func lookup(root *yaml.Node, path string) (key, val *yaml.Node) {
	val = root
	if path == "" {
		return nil, root
	}
	for _, seg := range strings.Split(path, ".") {
		name, idx, _ := strings.Cut(seg, "[")
		if name != "" {
			key = keyNode(val, name)
			if key == nil {
				return nil, nil
			}
			val = valueOf(val, key)
		}
		for idx != "" { // "0]" or "0][1]"
			num, rest, _ := strings.Cut(idx, "]")
			i, err := strconv.Atoi(num)
			val = deref(val)
			if err != nil || val.Kind != yaml.SequenceNode || i < 0 || i >= len(val.Content) {
				return nil, nil
			}
			key, val = nil, val.Content[i]
			idx = strings.TrimPrefix(rest, "[")
		}
	}
	return key, val
}

// keyNode returns the key of mapping m that equals name ignoring case.
func keyNode(m *yaml.Node, name string) *yaml.Node {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if strings.EqualFold(m.Content[i].Value, name) {
			return m.Content[i]
		}
	}
	return nil
}

// valueOf returns the value of key k in mapping m.
func valueOf(m, k *yaml.Node) *yaml.Node {
	m = deref(m)
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i] == k {
			return m.Content[i+1]
		}
	}
	return nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// describeNode names a node's type and, for a scalar, its text as written.
func describeNode(n *yaml.Node) string {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	case "!!timestamp":
		return "the date " + n.Value
	case "!!null":
		return "null"
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	}
	return fmt.Sprintf("%s %s", n.Tag, n.Value)
}

// componentKeys are the component keys an override may set, with whether
// they are lists.
var componentKeys = map[string]bool{
	"kind": false, "version": false, "safetyClass": false, "releaseNotes": false, "installation": false,
	"artifacts": true, "images": true, "sbom": true, "anomalies": true, "configuration": true, "other": true,
	"build.command": false, "migrations.version": false,
	"changes.github.since": false, "changes.github.until": false,
}

// topKeys are the top-level keys an override may set.
var topKeys = []string{"product.name", "product.version", "policy"}

func (c *Config) applyOverrides(opts LoadOptions) error {
	type override struct{ key, value, from string }
	var ovs []override
	if opts.LookupEnv != nil {
		for _, k := range topKeys {
			if val, ok := opts.LookupEnv(EnvName(k)); ok {
				ovs = append(ovs, override{k, val, EnvName(k)})
			}
		}
		for _, comp := range c.Components {
			keys := make([]string, 0, len(componentKeys))
			for k := range componentKeys {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				full := "components." + comp.Name + "." + k
				if val, ok := opts.LookupEnv(EnvName(full)); ok {
					ovs = append(ovs, override{full, val, EnvName(full)})
				}
			}
		}
	}
	for _, s := range opts.Sets {
		k, val, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("--set %q: want KEY=VALUE", s)
		}
		ovs = append(ovs, override{k, val, "--set " + k})
	}
	for _, o := range ovs {
		if err := c.set(o.key, o.value); err != nil {
			return fmt.Errorf("%s: %w", o.from, err)
		}
	}
	return nil
}

// EnvName returns the environment variable that overrides key.
func EnvName(key string) string {
	var b strings.Builder
	b.WriteString(EnvPrefix)
	b.WriteByte('_')
	for _, r := range key {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func (c *Config) set(key, value string) error {
	switch key {
	case "product.name":
		c.Product.Name = value
		return nil
	case "product.version":
		c.Product.Version = value
		return nil
	case "policy":
		c.Policy = value
		return nil
	}
	rest, ok := strings.CutPrefix(key, "components.")
	if !ok {
		return fmt.Errorf("unknown key %q (overridable: %s, components.NAME.KEY)", key, strings.Join(topKeys, ", "))
	}
	var comp *Component
	var field string
	// Component names may contain dots, so match the longest known name.
	for i := range c.Components {
		n := c.Components[i].Name
		if strings.HasPrefix(rest, n+".") && (comp == nil || len(n) > len(comp.Name)) {
			comp, field = &c.Components[i], strings.TrimPrefix(rest, n+".")
		}
	}
	if comp == nil {
		return fmt.Errorf("key %q names no component of this config", key)
	}
	isList, known := componentKeys[field]
	if !known {
		return fmt.Errorf("key %q: %q cannot be overridden", key, field)
	}
	var list []string
	if isList {
		for _, p := range strings.Split(value, ",") {
			if p = strings.TrimSpace(p); p != "" {
				list = append(list, p)
			}
		}
	}
	switch field {
	case "kind":
		comp.Kind = value
	case "version":
		comp.Version = value
	case "safetyClass":
		comp.SafetyClass = value
	case "releaseNotes":
		comp.ReleaseNotes = value
	case "installation":
		comp.Installation = value
	case "build.command":
		comp.Build.Command = value
	case "migrations.version":
		if comp.Migrations == nil {
			comp.Migrations = &Migrations{}
		}
		comp.Migrations.Version = value
	case "changes.github.since", "changes.github.until":
		if comp.Changes == nil || comp.Changes.GitHub == nil {
			return fmt.Errorf("key %q: component %s has no changes.github source to override", key, comp.Name)
		}
		if field == "changes.github.since" {
			comp.Changes.GitHub.Since = value
		} else {
			comp.Changes.GitHub.Until = value
		}
	case "artifacts":
		comp.Artifacts = list
	case "images":
		comp.Images = list
	case "sbom":
		comp.SBOM = list
	case "anomalies":
		comp.Anomalies = list
	case "configuration":
		comp.Configuration = list
	case "other":
		comp.Other = list
	}
	return nil
}

// Validate checks names, versions, enums and that every path is relative and
// stays inside the config's directory. It does not touch the file system.
func (c *Config) Validate() error {
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if err := evidence.ValidateName("product.name", c.Product.Name); err != nil {
		add("%v", err)
	}
	if err := evidence.ValidateVersion("product.version", c.Product.Version); err != nil {
		add("%v", err)
	}
	if len(c.Components) == 0 {
		add("components: list at least one component")
	}
	if c.Policy != "" {
		if err := checkPattern("policy", c.Policy); err != nil {
			add("%v", err)
		}
	}
	seen := map[string]int{}
	for i, comp := range c.Components {
		where := fmt.Sprintf("components[%d]", i)
		if comp.Name != "" {
			where = fmt.Sprintf("components[%d] (%s)", i, comp.Name)
		}
		if err := evidence.ValidateName(where+".name", comp.Name); err != nil {
			add("%v", err)
		} else if j, dup := seen[comp.Name]; dup {
			add("%s: name %q is already used by components[%d]", where, comp.Name, j)
		} else {
			seen[comp.Name] = i
		}
		if err := evidence.ValidateVersion(where+".version", comp.Version); err != nil {
			add("%v", err)
		}
		if !evidence.ComponentKind(comp.Kind).Valid() {
			add("%s.kind %q: want one of %v", where, comp.Kind, evidence.ComponentKinds)
		}
		if !evidence.Class(comp.SafetyClass).Valid() {
			add("%s.safetyClass %q: want A, B or C", where, comp.SafetyClass)
		}
		if len(comp.Artifacts) == 0 && len(comp.Images) == 0 {
			add("%s: list the released files under artifacts (or images for container images)", where)
		}
		for key, pats := range map[string][]string{
			"artifacts": comp.Artifacts, "sbom": comp.SBOM, "anomalies": comp.Anomalies,
			"configuration": comp.Configuration, "other": comp.Other,
		} {
			for _, p := range pats {
				if err := checkPattern(where+"."+key, p); err != nil {
					add("%v", err)
				}
			}
		}
		for _, p := range []struct{ key, val string }{{"releaseNotes", comp.ReleaseNotes}, {"installation", comp.Installation}} {
			if p.val != "" {
				if err := checkPattern(where+"."+p.key, p.val); err != nil {
					add("%v", err)
				}
			}
		}
		if comp.Migrations != nil {
			if err := evidence.ValidateVersion(where+".migrations.version", comp.Migrations.Version); err != nil {
				add("%v", err)
			}
			for _, p := range comp.Migrations.Files {
				if err := checkPattern(where+".migrations.files", p); err != nil {
					add("%v", err)
				}
			}
		}
		for j, img := range comp.Images {
			if _, _, err := ParseImage(img); err != nil {
				add("%s.images[%d]: %v", where, j, err)
			}
		}
		for j, t := range comp.Tests {
			tw := fmt.Sprintf("%s.tests[%d]", where, j)
			if t.Path == "" {
				add("%s.path is empty", tw)
			} else if err := checkPattern(tw+".path", t.Path); err != nil {
				add("%v", err)
			}
			if !evidence.TestLevel(t.Level).Valid() {
				add("%s.level %q: want one of %v", tw, t.Level, evidence.TestLevels)
			}
			switch t.Format {
			case "", evidence.FormatJUnitXML, evidence.FormatGoTestJSON, evidence.FormatGoTestText:
			default:
				add("%s.format %q: want %s (default), %s or %s", tw, t.Format,
					evidence.FormatJUnitXML, evidence.FormatGoTestJSON, evidence.FormatGoTestText)
			}
		}
		for j, tool := range comp.Build.Toolchain {
			if tool.Name == "" || tool.Version == "" {
				add("%s.build.toolchain[%d]: name and version are both required", where, j)
			}
		}
		for _, p := range comp.validateSources(where) {
			add("%s", p)
		}
	}
	if len(probs) > 0 {
		return errors.New(strings.Join(probs, "; "))
	}
	return nil
}

// checkPattern refuses absolute paths, backslashes and patterns that climb
// out of the config directory.
func checkPattern(key, p string) error {
	switch {
	case strings.TrimSpace(p) == "":
		return fmt.Errorf("%s: empty path", key)
	case filepath.IsAbs(p) || strings.HasPrefix(p, "/"):
		return fmt.Errorf("%s: %q is absolute; paths are relative to the config file", key, p)
	case strings.Contains(p, "\\"):
		return fmt.Errorf("%s: %q: use forward slashes", key, p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return fmt.Errorf("%s: %q leaves the config file's directory", key, p)
		}
	}
	return nil
}
