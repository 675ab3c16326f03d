#!/usr/bin/env bash
# Installs the external tools the tests talk to, each with `go install
# module@version` (or, for the Node.js tools, `npm install package@version`)
# into a cache directory, and only when it is missing there. Prints shell
# assignments (EVIDENT_COSIGN=... ) for the Makefile to export.
#
#   scripts/tools.sh [cosign] [timestamp-server] [versitygw] [act] [actionlint] [gitlab-ci-local]
#
# The cache is $EVIDENT_TOOLS_DIR, default $HOME/.cache/evident/tools.
set -euo pipefail

dir="${EVIDENT_TOOLS_DIR:-$HOME/.cache/evident/tools}"
mkdir -p "$dir"

declare -A module=(
  [cosign]="github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3"
  [timestamp-server]="github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server@v2.1.3"
  [versitygw]="github.com/versity/versitygw/cmd/versitygw@v1.8.0"
  [act]="github.com/nektos/act@v0.2.89"
  [actionlint]="github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"
)
# npm packages: 4.56.x is the last gitlab-ci-local line that runs on Node 20.
declare -A npmpkg=(
  [gitlab-ci-local]="gitlab-ci-local@4.56.2"
)
declare -A envvar=(
  [cosign]=EVIDENT_COSIGN
  [timestamp-server]=EVIDENT_TIMESTAMP_SERVER
  [versitygw]=EVIDENT_VERSITYGW
  [act]=EVIDENT_ACT
  [actionlint]=EVIDENT_ACTIONLINT
  [gitlab-ci-local]=EVIDENT_GITLAB_CI_LOCAL
)

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(cosign)
for t in "${tools[@]}"; do
  if [ -n "${npmpkg[$t]:-}" ]; then
    pkg="${npmpkg[$t]}"
    ver="${pkg##*@}"
    bin="$dir/$t-v$ver"
    if [ ! -x "$bin" ]; then
      command -v npm > /dev/null || { echo "$t needs npm (Node.js) to install" >&2; exit 1; }
      echo "installing $pkg into $dir (first run only)" >&2
      # Installed into its own prefix, then linked into place, so an
      # interrupted install is never taken for a finished one.
      prefix="$dir/npm/$t-$ver"
      rm -rf "$prefix"
      npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "$pkg" >&2
      ln -sfn "$prefix/node_modules/.bin/$t" "$bin"
    fi
    echo "export ${envvar[$t]}=$bin"
    continue
  fi
  mod="${module[$t]:?unknown tool $t}"
  # A tool is rebuilt when its pinned version changes: the version is part
  # of the cached file's name.
  ver="${mod##*@}"
  bin="$dir/$t-$ver"
  if [ ! -x "$bin" ]; then
    echo "installing $mod into $dir (first run only)" >&2
    tmp=$(mktemp -d)
    GOBIN="$tmp" GOFLAGS=-mod=mod go install "$mod" >&2
    mv "$tmp/$(basename "${mod%@*}")" "$bin"
    rmdir "$tmp"
  fi
  echo "export ${envvar[$t]}=$bin"
done
