#!/usr/bin/env bash
# Step "Seal the release" of the evident seal action (action.yml): seal,
# push, publish to GitHub, and write the job summary and the step outputs.
# The inputs arrive as INPUT_* variables, never inside the script's text.
# It runs on bash 3.2 too (macOS): no bash 4 syntax, and empty arrays are
# expanded as ${a[@]+"${a[@]}"} for set -u.
#
# Exit codes are evident's: 4 when the policy failed (the summary and the
# check run then say why), 1 for any other failure, 2 for bad inputs.
set -euo pipefail

evident=${EVIDENT_BIN:?the install step did not set the evident binary}
work=$(mktemp -d "${RUNNER_TEMP:-/tmp}/evident.XXXXXX")
trap 'rm -rf "$work"' EXIT

# error writes a GitHub annotation: shown on the run's page, not only in the log.
error() { echo "::error title=evident::$*"; }
notice() { echo "::notice title=evident::$*"; }

# summary appends stdin to the job summary.
summary() {
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    cat >> "$GITHUB_STEP_SUMMARY"
  else
    cat
  fi
}

# bool reads a boolean input.
bool() {
  case "$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]')" in
    true | yes | on | 1) return 0 ;;
    false | no | off | 0 | "") return 1 ;;
  esac
  error "input $1 is \"$2\": want true or false"
  exit 2
}

# Bad inputs are reported before anything is done.
bool keyless "${INPUT_KEYLESS:-}" && keyless=true || keyless=false
bool push "${INPUT_PUSH:-}" && push=true || push=false
bool attach-to-release "${INPUT_ATTACH_TO_RELEASE:-}" && attach=true || attach=false
bool check-run "${INPUT_CHECK_RUN:-}" && checkrun=true || checkrun=false

# The inputs say how to sign; a key in the job's environment (evident reads
# EVIDENT_KEY) must not interfere.
unset EVIDENT_KEY
sign=()
if $keyless; then
  if [ -n "${INPUT_KEY:-}" ]; then
    error "give key or keyless, not both"
    exit 2
  fi
  if [ -z "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ]; then
    error "keyless signing needs the job permission id-token: write, and the job does not have it (ACTIONS_ID_TOKEN_REQUEST_URL is not set). Add to the job: permissions: { id-token: write, contents: read }"
    exit 1
  fi
  sign=(--keyless)
elif [ -n "${INPUT_KEY:-}" ]; then
  if [[ $INPUT_KEY == *"-----BEGIN"* ]]; then
    # The key's text, from a secret: into a file only this job can read,
    # removed when the step ends.
    keyfile="$work/signing.key"
    (umask 077 && printf '%s\n' "$INPUT_KEY" > "$keyfile")
  else
    keyfile=$INPUT_KEY
    [ -f "$keyfile" ] || {
      error "key: no file ${keyfile} (give the path of a key file, or the key's PEM text, e.g. a secret)"
      exit 2
    }
  fi
  sign=(--key "$keyfile")
else
  error "no signing key: give key (a key file, or its PEM text from a secret; is the secret set?) or keyless: true"
  exit 2
fi
if [ -n "${INPUT_TSA:-}" ]; then
  sign+=(--tsa "$INPUT_TSA")
fi
read -r -a extra <<< "${INPUT_SEAL_ARGS:-}"
if [ -n "${INPUT_KEY_PASSWORD:-}" ]; then
  export EVIDENT_KEY_PASSWORD=$INPUT_KEY_PASSWORD
fi
out=${INPUT_OUT:?the out input is empty}
config=${INPUT_CONFIG:?the config input is empty}

code=0
"$evident" seal --config "$config" --out "$out" "${sign[@]}" ${extra[@]+"${extra[@]}"} || code=$?
case $code in
  0) ;;
  4)
    # Nothing was signed or written. The same collection without signing
    # writes the release anyway, so that the summary and the check run can
    # show what failed, and the directory can be inspected.
    error "the release was NOT sealed: the IEC 62304 policy failed (the job summary lists what is missing)"
    "$evident" collect --config "$config" --out "$out" > /dev/null || [ $? -eq 4 ]
    ;;
  *)
    error "evident seal failed (exit code $code): see the log above"
    printf '## ❌ evident seal failed\n\nexit code %s: see the log of the step "Seal the release".\n' "$code" | summary
    exit "$code"
    ;;
esac

failed=0
sumargs=()
if [ $code -eq 0 ] && $push && [ -n "${INPUT_SERVER:-}" ]; then
  if [ -z "${INPUT_TOKEN:-}" ]; then
    error "server is set but token is empty: give the archive's API token (role ci), e.g. from a secret"
    failed=1
  elif EVIDENT_TOKEN=$INPUT_TOKEN "$evident" push "$out" --server "$INPUT_SERVER" --json > "$work/push.json"; then
    echo "pushed to the archive at $INPUT_SERVER"
    sumargs=(--pushed "$work/push.json" --server "$INPUT_SERVER")
  else
    error "evident push to $INPUT_SERVER failed: see the log above"
    failed=1
  fi
elif [ $code -eq 0 ] && $push; then
  notice "no server: the release was sealed, not pushed to an archive"
fi

"$evident" summary "$out" ${sumargs[@]+"${sumargs[@]}"} --outputs "${GITHUB_OUTPUT:-/dev/null}" | summary

pubargs=()
if $attach && [ $code -eq 0 ]; then
  if [[ ${GITHUB_REF:-} == refs/tags/* ]]; then
    pubargs+=(--attach)
  else
    notice "attach-to-release: ${GITHUB_REF:-this run} is not a tag; nothing attached"
  fi
fi
if $checkrun; then
  pubargs+=(--check-run)
fi
if [ ${#pubargs[@]} -gt 0 ]; then
  EVIDENT_GITHUB_TOKEN=${INPUT_GITHUB_TOKEN:-} "$evident" github publish "$out" "${pubargs[@]}" ${sumargs[@]+"${sumargs[@]}"} || {
    error "publishing to GitHub failed: see the log above"
    failed=1
  }
fi

if [ $code -ne 0 ]; then
  exit "$code"
fi
exit "$failed"
