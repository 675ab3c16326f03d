// Package interop runs evident's CI integrations for real, the way a user's
// pipeline runs them, and checks what they leave behind:
//
//   - the GitHub Action (actions/seal) in the example product's release
//     workflow (testdata/wearable/.github/workflows/release.yml), executed
//     by the runner emulator act on this machine (-P
//     ubuntu-latest=-self-hosted), against an evidentd started for the test
//     and a fake of GitHub's REST API (package ghpublish/ghtest);
//   - the GitLab CI template (deploy/gitlab/templates/evident-seal.yml),
//     included by the example's .gitlab-ci.yml and executed by
//     gitlab-ci-local with its shell executor, against another evidentd.
//
// Each ends with a release that is sealed, pushed, and verified offline by
// evident verify from the archive's audit pack. The README's examples are
// these very files (readme_test.go), and actionlint checks the workflows
// and the action (lint_test.go).
//
// The tests need the tools (act, gitlab-ci-local with rsync, actionlint):
// from EVIDENT_ACT, EVIDENT_GITLAB_CI_LOCAL, EVIDENT_ACTIONLINT (make test
// sets them from scripts/tools.sh) or the PATH. Without one a test skips,
// or fails when EVIDENT_TEST_NO_SKIP=1, as in CI. Nothing reaches the
// internet.
package interop
