#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: brings Node 24 and pnpm, installs dependencies, makes sure
# NATS and Postgres run, builds and starts the local Kubernetes control plane (cached after the first time),
# then lint, typecheck and every test. Ends with one line: `N passed, N failed` (`, N skipped` if any).
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/check-cluster-tools.sh || { echo "0 passed, 1 failed"; exit 1; }
source scripts/toolchain.sh || { echo "0 passed, 1 failed"; exit 1; }
pnpm install --frozen-lockfile --prefer-offline --reporter=append-only || { echo "pnpm install failed"; echo "0 passed, 1 failed"; exit 1; }
bash scripts/ensure-services.sh || { echo "0 passed, 1 failed"; exit 1; }
# The web console, which the gateway serves at /console/ (and the browser tests drive).
pnpm --filter @appserving/web build >/dev/null || { echo "building the web console failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0 skipped=0
check() { # name command...
  local name=$1; shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "== $name FAILED"; fi
}
check lint pnpm lint
check typecheck pnpm typecheck

# The local cluster's binaries (helm among them: the deployer refuses to start without one) and the real node's
# images, built once and cached. The images made from Debian's packages (mostly downloads and dpkg) build beside
# the Go binaries; the ones holding built binaries (Kaniko's executor, pause) after them.
echo "== local cluster binaries and the real node's images"
node test/cluster/src/cli.ts images debian &
debian_images=$!
bash test/cluster/scripts/build.sh || { echo "== building the local cluster's binaries FAILED (see above)"; failed=$((failed + 1)); }
wait "$debian_images" || { echo "== building the real node's Debian images FAILED (see above)"; failed=$((failed + 1)); }
node test/cluster/src/cli.ts images || { echo "== building the real node's images FAILED (see above)"; failed=$((failed + 1)); }

summary=$(mktemp)
echo "== tests"
APPSERVING_TEST_SUMMARY_FILE=$summary pnpm exec vitest run "$@"
status=$?
if [ -s "$summary" ]; then
  read -r p f s <"$summary"
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
elif [ $status -ne 0 ]; then
  failed=$((failed + 1)) # vitest could not even start
fi
[ $status -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
rm -f "$summary"

line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo
echo "$line"
[ "$failed" -eq 0 ]
