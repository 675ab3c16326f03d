#!/usr/bin/env bash
# The main job, end to end on the wearable-monitor example (testdata/wearable):
# seal the release with a fresh key, show the record, verify it offline, and
# show that a changed evidence byte is caught.
set -euo pipefail
cd "$(dirname "$0")/.."

evident=./bin/evident
work=out/demo
rm -rf "$work"
mkdir -p "$work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "The wearable-monitor project, checked out at its release tag v2.4.0"
# A release is sealed from a checkout of the product's repository; the
# example is committed and tagged there, so the build provenance names a
# real commit, tag and repository.
src="$work/wearable-monitor"
cp -r testdata/wearable "$src"
export GIT_AUTHOR_NAME="Release Pipeline" GIT_AUTHOR_EMAIL=release@example.com
export GIT_COMMITTER_NAME="Release Pipeline" GIT_COMMITTER_EMAIL=release@example.com
export GIT_AUTHOR_DATE=2026-11-20T09:00:00Z GIT_COMMITTER_DATE=2026-11-20T09:00:00Z
git -C "$src" init -q -b main
git -C "$src" add -A
git -C "$src" commit -q -m "wearable-monitor 2.4.0"
git -C "$src" tag v2.4.0
git -C "$src" remote add origin https://github.com/acme-medical/wearable-monitor.git
git -C "$src" log --oneline --decorate -1

step "A signing key for the release pipeline (passphrase-protected, cosign format)"
export EVIDENT_KEY_PASSWORD=demo-passphrase
$evident key generate --out "$work/release"

step "evident seal: collect evidence for 4 components, check the IEC 62304 policy, sign"
$evident seal --config "$src/evident.yaml" --key "$work/release.key" --out "$work/wearable-monitor-2.4.0"

step "evident verify: offline, with nothing but the public key"
$evident verify "$work/wearable-monitor-2.4.0" --key "$work/release.pub"

step "Tampering is caught: one byte of one archived evidence file changed"
cp -r "$work/wearable-monitor-2.4.0" "$work/tampered"
f=$(ls "$work"/tampered/evidence/sha256/* | head -1)
chmod u+w "$f"
printf 'x' | dd of="$f" bs=1 seek=10 conv=notrunc status=none
if $evident verify "$work/tampered" --key "$work/release.pub" > "$work/tampered.txt"; then
  echo "tampering was NOT detected" >&2
  exit 1
fi
grep -E '^FAIL' "$work/tampered.txt"
echo "(exit code 3: verification failed, as it must)"

step "evidentd: an archive on a fresh data directory, trusting the release key"
data="$work/evidentd-data"
./bin/evidentd token create --data "$data" --role ci --name release-pipeline > "$work/ci.token"
./bin/evidentd token create --data "$data" --role auditor --name auditor > "$work/auditor.token"

step "Two approvers register: a release manager and QA, each with a passphrase-protected key"
EVIDENT_KEY_PASSWORD=maria-passphrase $evident key generate --out "$work/maria" > /dev/null
EVIDENT_KEY_PASSWORD=sven-passphrase $evident key generate --out "$work/sven" > /dev/null
./bin/evidentd approver add --data "$data" --name "Dr. Maria Lindqvist" --role release-manager --key "$work/maria.pub"
./bin/evidentd approver add --data "$data" --name "Sven Olsen" --role qa --key "$work/sven.pub"
./bin/evidentd token create --data "$data" --role approver --name maria > "$work/maria.token"
./bin/evidentd token create --data "$data" --role approver --name sven > "$work/sven.token"
./bin/evidentd serve --data "$data" --addr 127.0.0.1:0 --trusted-key "$work/release.pub" \
  > "$work/evidentd.out" 2> "$work/evidentd.log" &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q 'listening on' "$work/evidentd.out" 2>/dev/null && break
  sleep 0.1
done
export EVIDENT_SERVER=$(grep -o 'http://[0-9.:]*' "$work/evidentd.out" | head -1)
[ -n "$EVIDENT_SERVER" ] || { echo "evidentd did not start:"; cat "$work/evidentd.log"; exit 1; } >&2
echo "evidentd is listening on $EVIDENT_SERVER"

step "evident push: CI uploads the sealed release (a second push is a no-op)"
EVIDENT_TOKEN=$(cat "$work/ci.token") $evident push "$work/wearable-monitor-2.4.0"
EVIDENT_TOKEN=$(cat "$work/ci.token") $evident push "$work/wearable-monitor-2.4.0"

step "Release approval (21 CFR Part 11): class C needs a release manager and QA, two different people"
EVIDENT_TOKEN=$(cat "$work/maria.token") $evident status wearable-monitor@2.4.0 | sed -n '/^Approvals required/,$p'
echo
echo "-- Dr. Maria Lindqvist reviews the summary and signs (passphrase from EVIDENT_KEY_PASSWORD; --yes: no prompt in a script):"
EVIDENT_TOKEN=$(cat "$work/maria.token") EVIDENT_KEY_PASSWORD=maria-passphrase $evident approve wearable-monitor@2.4.0 \
  --key "$work/maria.key" --name "Dr. Maria Lindqvist" --role release-manager --meaning "approved for release" --yes 2>/dev/null
echo "-- The same person cannot fill the QA role too:"
EVIDENT_TOKEN=$(cat "$work/maria.token") EVIDENT_KEY_PASSWORD=maria-passphrase $evident approve wearable-monitor@2.4.0 \
  --key "$work/maria.key" --name "Dr. Maria Lindqvist" --role qa --meaning "QA review" --yes 2>&1 | tail -1 || true
echo "-- Sven Olsen (QA) signs:"
EVIDENT_TOKEN=$(cat "$work/sven.token") EVIDENT_KEY_PASSWORD=sven-passphrase $evident approve wearable-monitor@2.4.0 \
  --key "$work/sven.key" --name "Sven Olsen" --role qa --meaning "QA review: verification complete" --yes 2>/dev/null
echo
EVIDENT_TOKEN=$(cat "$work/sven.token") $evident status wearable-monitor@2.4.0 | sed -n '/^Approvals required/,$p'

export EVIDENT_TOKEN=$(cat "$work/auditor.token")
step "An auditor looks the release up four ways"
echo "-- by product and version:"
$evident lookup --release wearable-monitor@2.4.0
echo "-- by component version:"
$evident lookup --component wm-firmware@3.1.2
echo "-- \"what is this firmware image?\" (hashed locally):"
$evident lookup --artifact-file "$src/build/fw/wm-fw-3.1.2.bin"
echo "-- \"which of our field versions ship zlib?\":"
$evident lookup --purl pkg:github/madler/zlib

step "evident export: the audit pack (manifest, signature, evidence, log proof, RECORD.html)"
$evident export wearable-monitor@2.4.0 -o "$work/wearable-monitor-2.4.0.tar"
tar -tf "$work/wearable-monitor-2.4.0.tar" | grep -v '^evidence/' | sed 's/^/  /'
echo "  evidence/sha256/... ($(tar -tf "$work/wearable-monitor-2.4.0.tar" | grep -c '^evidence/') files)"

step "The archive stops; the pack is verified offline (release key, archive log key): signatures, evidence, approvals"
kill $server_pid; wait $server_pid 2>/dev/null || true
trap - EXIT
$evident verify "$work/wearable-monitor-2.4.0.tar" --key "$work/release.pub" --log-key "$data/log.key.pub"

step "Done"
echo "Sealed release:  $work/wearable-monitor-2.4.0"
echo "Audit pack:      $work/wearable-monitor-2.4.0.tar (open RECORD.html inside it in a browser)"
