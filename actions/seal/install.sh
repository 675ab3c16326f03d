#!/usr/bin/env bash
# Step "Install evident" of the evident seal action (action.yml): finds the
# evident binary to use, or installs it, and sets the step output evident.
#
#   1. evident-binary, when given: used as it is;
#   2. else, without evident-version, an evident on PATH;
#   3. else go install github.com/evident-dev/evident/cmd/evident@VERSION,
#      VERSION being evident-version or the ref the action is pinned to
#      (@v1 installs the latest v1.x.y; @<sha> that commit).
set -euo pipefail

fail() {
  echo "::error title=evident: install::$*"
  exit 1
}

bin=""
if [ -n "${INPUT_EVIDENT_BINARY:-}" ]; then
  bin=$INPUT_EVIDENT_BINARY
  [ -x "$bin" ] || fail "evident-binary $bin is not an executable file"
elif [ -z "${INPUT_EVIDENT_VERSION:-}" ] && command -v evident > /dev/null; then
  bin=$(command -v evident)
else
  version=${INPUT_EVIDENT_VERSION:-${ACTION_REF:-}}
  [ -n "$version" ] || version=latest
  command -v go > /dev/null ||
    fail "evident is not installed: give evident-binary (e.g. a binary downloaded from an evident release), put evident on PATH, or set up Go (actions/setup-go) so that this action can go install evident@$version"
  gobin="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}/evident/$version/bin"
  mkdir -p "$gobin"
  echo "go install github.com/evident-dev/evident/cmd/evident@$version"
  GOBIN="$gobin" go install "github.com/evident-dev/evident/cmd/evident@$version" ||
    fail "go install github.com/evident-dev/evident/cmd/evident@$version failed (see above)"
  bin="$gobin/evident"
fi

"$bin" --version
echo "evident=$bin" >> "$GITHUB_OUTPUT"
