#!/usr/bin/env bash
# Starts AppServing on this machine: all four services in one process, against NATS and Postgres on
# 127.0.0.1 (started if they are not running). Brings Node 24 and pnpm and installs dependencies first.
# With no cluster configured (APPSERVING_LOCAL_CLUSTER_KUBECONFIG unset), the local Kubernetes control plane of
# the test harness is started and registered as the default `local` cluster (built once, tens of minutes the
# first time); it is stopped again on exit if this script started it. Ctrl-C stops everything cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

# Without a cluster of your own, the local one is built and started: say now what it needs and this machine lacks.
[ -n "${APPSERVING_LOCAL_CLUSTER_KUBECONFIG:-}" ] || bash scripts/check-cluster-tools.sh
source scripts/toolchain.sh
pnpm install --frozen-lockfile --prefer-offline --reporter=append-only
bash scripts/ensure-services.sh
# The web console, which the gateway serves at http://localhost:9112/console/.
pnpm --filter @appserving/web build >/dev/null

started_cluster=false
if [ -z "${APPSERVING_LOCAL_CLUSTER_KUBECONFIG:-}" ]; then
  state="$APPSERVING_CACHE/cluster/run-${APPSERVING_CLUSTER_PORT_BASE:-26400}"
  if ! pnpm --silent cluster:status >/dev/null 2>&1; then
    echo "start: no cluster configured; starting the local Kubernetes control plane (pnpm cluster:up) ..." >&2
    pnpm --silent cluster:up
    started_cluster=true
  fi
  # The platform's settings for this cluster: apps and builds on its real node, images in its registry on the
  # node's Debian-made runtimes, apps reachable at http://<app>-<namespace>.localhost:<port>/ through its traffic
  # gateway (test/cluster/src/platform-settings.ts). Anything set beforehand wins.
  builder_port="${APPSERVING_BUILDER_PORT:-9113}"
  while IFS= read -r line; do
    name=${line#export }; name=${name%%=*}
    [ -n "${!name:-}" ] || eval "$line"
  done < <(node test/cluster/src/cli.ts env "$builder_port")
  if [ -z "${APPSERVING_BASE_IMAGE_JAR:-}" ]; then
    # A cluster started without its real node (APPSERVING_CLUSTER_REAL_NODE=0) runs nothing: look-alike base
    # images seeded in its registry let builds and (simulated) deploys go through.
    seeded=$(node test/support/seed-base-images.main.ts "$APPSERVING_REGISTRY")
    eval "$seeded"
    echo "start: no real node; every pod of the local cluster is simulated" >&2
  fi
  echo "start: images go to the local registry $APPSERVING_REGISTRY; apps run on the local cluster's real node" >&2
fi

node packages/platform/src/main.ts &
platform=$!
trap 'kill -TERM "$platform" 2>/dev/null || true' INT TERM
status=0
wait "$platform" || status=$?
# A signal interrupts the first wait; wait again for the platform's clean shutdown.
kill -0 "$platform" 2>/dev/null && { wait "$platform" || status=$?; }
if [ "$started_cluster" = true ]; then
  echo "start: stopping the local cluster this script started" >&2
  pnpm --silent cluster:down || true
fi
exit "$status"
