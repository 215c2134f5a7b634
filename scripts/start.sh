#!/usr/bin/env bash
# Starts AppServing on this machine: all four services in one process, against NATS and Postgres on
# 127.0.0.1 (started if they are not running). Brings Node 24 and pnpm and installs dependencies first.
# With no cluster configured (APPSERVING_LOCAL_CLUSTER_KUBECONFIG unset), the local Kubernetes control plane of
# the test harness is started and registered as the default `local` cluster (built once, tens of minutes the
# first time); it is stopped again on exit if this script started it. Ctrl-C stops everything cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

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
  export APPSERVING_LOCAL_CLUSTER_KUBECONFIG="$state/kubeconfig.yaml"
  export APPSERVING_LOCAL_CLUSTER_PROMETHEUS_URL="${APPSERVING_LOCAL_CLUSTER_PROMETHEUS_URL:-http://127.0.0.1:$(( ${APPSERVING_CLUSTER_PORT_BASE:-26400} + 7 ))}"
  # helm as built for the local cluster (the deployer's image has its own on PATH).
  if [ -z "${APPSERVING_HELM_BINARY:-}" ] && ! command -v helm >/dev/null 2>&1; then
    helm_version=$(sed -n 's/^HELM_VERSION=//p' test/cluster/versions.env)
    export APPSERVING_HELM_BINARY="$APPSERVING_CACHE/cluster/helm-$helm_version/bin/helm"
  fi
  # Images go to the local cluster's registry, built on look-alike base images seeded there (the simulated
  # cluster runs no container, and nothing is pulled from the internet); any of these may be set beforehand.
  if [ -z "${APPSERVING_REGISTRY:-}" ]; then
    seeded=$(node test/support/seed-base-images.main.ts "127.0.0.1:$(( ${APPSERVING_CLUSTER_PORT_BASE:-26400} + 8 ))")
    eval "$seeded"
    echo "start: images go to the local registry $APPSERVING_REGISTRY (base images seeded there)" >&2
  fi
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
