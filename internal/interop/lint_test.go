package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/evident-dev/evident/internal/testutil"
)

// The workflows CI runs, and the action they use.
var (
	workflows = []string{
		"testdata/wearable/.github/workflows/release.yml",
		"internal/interop/testdata/workflows/keyless-no-permission.yml",
		"internal/interop/testdata/workflows/release-keyless.yml",
	}
	action     = "actions/seal/action.yml"
	actionUses = "evident-dev/evident/actions/seal@v1"
)

// TestActionlint lints the workflows and the composite action with
// actionlint. actionlint checks workflows, not actions, so both are put in
// a repository of their own where it sees what GitHub would:
//
//   - each workflow with `uses: ./actions/seal` in place of the published
//     reference, so that actionlint checks every `with:` against the
//     action's inputs;
//   - the action turned into a reusable workflow (its inputs become
//     workflow_call inputs, its steps a job's, its outputs the job's), so
//     that the expressions and the shell of its steps are checked too
//     (with shellcheck, when it is on the PATH).
func TestActionlint(t *testing.T) {
	bin := tool(t, "EVIDENT_ACTIONLINT", "actionlint", "scripts/tools.sh actionlint")
	dir := t.TempDir()
	testutil.CopyTree(t, filepath.Join(root, "actions"), filepath.Join(dir, "actions"))
	wf := filepath.Join(dir, ".github", "workflows")
	for _, w := range workflows {
		b := string(testutil.ReadFile(t, filepath.Join(root, w)))
		if !strings.Contains(b, "uses: "+actionUses+"\n") {
			t.Fatalf("%s does not use %s", w, actionUses)
		}
		testutil.WriteFile(t, filepath.Join(wf, filepath.Base(w)), []byte(strings.ReplaceAll(b, "uses: "+actionUses+"\n", "uses: ./actions/seal\n")))
	}
	actionYAML := testutil.ReadFile(t, filepath.Join(root, action))
	testutil.WriteFile(t, filepath.Join(wf, "action-seal.yml"), compositeAsWorkflow(t, actionYAML))
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Log("shellcheck is not on the PATH: actionlint checks the run: scripts without it (TestShellScripts checks their syntax)")
	}
	testutil.Git(t, dir, "init", "-q") // actionlint looks for the repository's root
	out, code := runTool(t, dir, os.Environ(), 2*time.Minute, bin, "-no-color")
	if code != 0 {
		t.Errorf("actionlint found problems (paths are relative to a copy; action-seal.yml is %s):\n%s", action, out)
	}

	// The same set-up catches what it is there for: a workflow giving an
	// input the action does not have or reading an output it does not
	// set, and an action step reading an input it does not declare.
	testutil.WriteFile(t, filepath.Join(wf, "bad.yml"), []byte(`on: push
jobs:
  seal:
    runs-on: ubuntu-latest
    steps:
      - uses: ./actions/seal
        id: evident
        with:
          keys: release.key
      - run: echo "${{ steps.evident.outputs.manifest_digest }}"
`))
	testutil.WriteFile(t, filepath.Join(wf, "action-seal.yml"), compositeAsWorkflow(t, []byte(strings.Replace(string(actionYAML), "${{ inputs.tsa }}", "${{ inputs.tsa-url }}", 1))))
	out, code = runTool(t, dir, os.Environ(), 2*time.Minute, bin, "-no-color")
	for _, want := range []string{`input "keys" is not defined in action "evident seal"`, `property "manifest_digest" is not defined`, `property "tsa-url" is not defined`} {
		if code == 0 || !strings.Contains(out, want) {
			t.Errorf("actionlint (exit %d) did not report %s:\n%s", code, want, out)
		}
	}
}

// compositeAsWorkflow turns a composite action into a reusable workflow
// that means the same to actionlint.
func compositeAsWorkflow(t *testing.T, actionYAML []byte) []byte {
	t.Helper()
	var a struct {
		Inputs map[string]struct {
			Description string `yaml:"description"`
		} `yaml:"inputs"`
		Outputs map[string]struct {
			Value string `yaml:"value"`
		} `yaml:"outputs"`
		Runs struct {
			Using string      `yaml:"using"`
			Steps []yaml.Node `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(actionYAML, &a); err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	if a.Runs.Using != "composite" {
		t.Fatalf("%s: runs.using %q, want composite", action, a.Runs.Using)
	}
	inputs := map[string]any{}
	for name, in := range a.Inputs {
		if in.Description == "" {
			t.Errorf("%s: input %s has no description", action, name)
		}
		inputs[name] = map[string]any{"type": "string", "required": false}
	}
	outputs := map[string]string{}
	for name, o := range a.Outputs {
		outputs[name] = o.Value
	}
	wf := map[string]any{
		"name": "action-seal",
		"on":   map[string]any{"workflow_call": map[string]any{"inputs": inputs}},
		"jobs": map[string]any{"action": map[string]any{
			"runs-on": "ubuntu-latest",
			"outputs": outputs,
			"steps":   a.Runs.Steps,
		}},
	}
	b, err := yaml.Marshal(wf)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestShellScripts checks the syntax of every shell script the CI
// integrations run: the action's (bash) and the GitLab template's (POSIX
// sh, whatever shell the runner's image has), and has shellcheck check
// them when it is on the PATH.
func TestShellScripts(t *testing.T) {
	dir := t.TempDir()
	var scripts [][2]string // shell, file
	for _, s := range []string{"actions/seal/install.sh", "actions/seal/seal.sh"} {
		scripts = append(scripts, [2]string{"bash", filepath.Join(root, s)})
	}
	var tmpl struct {
		Job struct {
			Script []string `yaml:"script"`
		} `yaml:"$[[ inputs.job-name ]]"`
	}
	docs := strings.SplitN(string(testutil.ReadFile(t, filepath.Join(root, template))), "\n---\n", 2)
	if len(docs) != 2 {
		t.Fatalf("%s: want a spec document, ---, and the job", template)
	}
	if err := yaml.Unmarshal([]byte(docs[1]), &tmpl); err != nil {
		t.Fatalf("%s: %v", template, err)
	}
	if len(tmpl.Job.Script) == 0 {
		t.Fatalf("%s: no script", template)
	}
	gl := filepath.Join(dir, "gitlab-script.sh")
	testutil.WriteFile(t, gl, []byte("#!/bin/sh\n"+strings.Join(tmpl.Job.Script, "\n")))
	scripts = append(scripts, [2]string{"sh", gl})

	shellcheck, _ := exec.LookPath("shellcheck")
	for _, s := range scripts {
		if out, err := exec.Command(s[0], "-n", s[1]).CombinedOutput(); err != nil {
			t.Errorf("%s -n %s: %v\n%s", s[0], s[1], err, out)
		}
		if shellcheck != "" {
			if out, err := exec.Command(shellcheck, "--shell="+s[0], s[1]).CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s: %v\n%s", s[1], err, out)
			}
		}
	}
	if shellcheck == "" {
		t.Log("shellcheck is not on the PATH: syntax checked only")
	}
}
