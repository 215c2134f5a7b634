#!/usr/bin/env bash
# Builds, once, every binary of the local test cluster from its Go module and caches it outside the repo:
#   $CACHE/cluster/<component>-<version>/bin/...   (CACHE = ${APPSERVING_CACHE:-$HOME/.cache/appserving})
# Versions come from ../versions.env only. A component whose cache entry exists is skipped; a component is built in
# a temporary directory and renamed into place at the end, so an interrupted build never leaves a usable half entry.
# Usage: build.sh [component...]   (components: k8s etcd kwok flagger helm kubelet containerd runc kaniko pause
# traefik loadtester hey; default: all)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../versions.env
source "$HERE/versions.env"

CACHE=${APPSERVING_CACHE:-$HOME/.cache/appserving}
ROOT="$CACHE/cluster"
JOBS=${APPSERVING_BUILD_JOBS:-$(nproc)}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[ -x "$GO" ] || { echo "cluster-build: no Go toolchain found (looked for 'go' on PATH and /usr/local/go/bin/go)" >&2; exit 1; }

export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
mkdir -p "$ROOT"

log() { printf '[cluster-build %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# One build at a time per cache (vitest global setups and humans may start builds concurrently).
exec 9>"$ROOT/.build.lock"
if ! flock -n 9; then
  log "another build holds $ROOT/.build.lock; waiting for it"
  flock 9
fi

# Prints elapsed time and compiled package count every 30 s while a `go -v` build writes to $1.
ticker() {
  local name=$1 vlog=$2 start=$3
  while sleep 30; do
    log "$name: still building, $(fmt_secs $(($(date +%s) - start))) elapsed, $(grep -c . "$vlog" 2>/dev/null || echo 0) packages compiled"
  done
}

# build_component NAME VERSION FUNCTION: runs FUNCTION TMPDIR/bin inside a fresh wrapper module dir unless cached.
build_component() {
  local name=$1 version=$2 fn=$3
  local final="$ROOT/$name-$version"
  if [ -d "$final/bin" ]; then
    log "$name $version: cached at $final"
    return 0
  fi
  local tmp="$ROOT/.tmp-$name-$version-$$"
  rm -rf "$tmp" "$ROOT/.tmp-$name-$version-"*   # leftovers of interrupted builds
  mkdir -p "$tmp/bin" "$tmp/work"
  local start; start=$(date +%s)
  log "$name $version: building into $final"
  ticker "$name" "$tmp/build-v.log" "$start" &
  local tick=$!
  if ! (cd "$tmp/work" && "$fn" "$tmp/bin" "$tmp/build-v.log"); then
    kill "$tick" 2>/dev/null || true
    log "$name $version: FAILED after $(fmt_secs $(($(date +%s) - start))); output in $tmp"
    return 1
  fi
  kill "$tick" 2>/dev/null || true
  wait "$tick" 2>/dev/null || true
  local secs=$(($(date +%s) - start))
  "$GO" version >"$tmp/bin/.go-version"
  rm -rf "$tmp/work"
  mv -T "$tmp" "$final"
  printf '%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$name" "$version" "$secs" >>"$ROOT/build-times.tsv"
  log "$name $version: done in $(fmt_secs "$secs")"
}

# go build -v streams each compiled package into the log (read by the ticker); only errors are shown.
gobuild_live() {
  local vlog=$1; shift
  if ! "$GO" build -v -p "$JOBS" -trimpath "$@" 2>"$vlog"; then
    grep -vE '^[a-zA-Z0-9_./~-]+$' "$vlog" >&2 || true
    return 1
  fi
}

# k8s_build NAME BIN VLOG PACKAGE...: builds Kubernetes commands from the k8s.io/kubernetes module at K8S_VERSION in
# the current (empty) directory, with the version in their ldflags.
k8s_build() {
  local name=$1 bin=$2 vlog=$3; shift 3
  local pkgs=("$@")
  local staging=v0.${K8S_VERSION#v1.}
  local gomod
  gomod=$("$GO" mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
  # k8s.io/kubernetes requires its staging repos at v0.0.0 with local replaces; point them at the published twins.
  {
    printf 'module local/k8sbin\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$GO_MIN_VERSION" "$K8S_VERSION"
    grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$gomod" | awk -v v="$staging" '{printf "\t%s => %s %s\n", $1, $1, v}'
    printf ')\n'
  } >go.mod
  log "$name: resolving modules"
  "$GO" get "${pkgs[@]/%/@$K8S_VERSION}" >/dev/null 2>&1 || "$GO" get "${pkgs[@]/%/@$K8S_VERSION}"
  # The version ldflags are required: Flagger and helm parse /version, which would otherwise be v0.0.0-master.
  local minor; minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  local ldf="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    ldf+=" -X $p.gitCommit=0000000000000000000000000000000000000000 -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  log "$name: compiling ${pkgs[*]##*/} in one go build (-p $JOBS)"
  gobuild_live "$vlog" -ldflags "$ldf" -o "$bin/" "${pkgs[@]}"
}

build_k8s() {
  k8s_build k8s "$1" "$2" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
  "$1/kube-apiserver" --version
}

# The real node (docs/local-cluster.md, "The real node"): the kubelet of the same Kubernetes version (its own cache
# entry, so a cluster built before the node existed keeps its control plane binaries; the Go build cache shares
# the packages both compile).
build_kubelet() {
  k8s_build kubelet "$1" "$2" k8s.io/kubernetes/cmd/kubelet
  "$1/kubelet" --version
}

# containerd 2 (Kubernetes 1.36 supports no older one), its runc shim and ctr, without cgo (no btrfs snapshotter).
build_containerd() {
  local m=github.com/containerd/containerd/v2
  GOFLAGS="$GOFLAGS -tags=no_btrfs" go_install "$1" "$2" "-s -w -X $m/version.Version=$CONTAINERD_VERSION -X $m/version.Package=$m" \
    "$m/cmd/containerd@$CONTAINERD_VERSION" "$m/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" "$m/cmd/ctr@$CONTAINERD_VERSION" &&
    "$1/containerd" --version
}

# runc with seccomp (cgo and Debian's libseccomp-dev): Debian 12's runc 1.1 is too old for containerd 2's runtime spec.
build_runc() {
  if [ ! -f /usr/include/seccomp.h ]; then
    log "runc: installing Debian's libseccomp-dev (seccomp headers for cgo)"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends libseccomp-dev >/dev/null ||
      { echo "runc: needs Debian's libseccomp-dev (apt-get install -y libseccomp-dev)" >&2; return 1; }
  fi
  CGO_ENABLED=1 GOFLAGS="$GOFLAGS -tags=seccomp" go_install "$1" "$2" "-s -w -X main.version=${RUNC_VERSION#v}" \
    "github.com/opencontainers/runc@$RUNC_VERSION" && "$1/runc" --version | sed -n 1p
}

# Kaniko's executor (the image of build Pods on the real node); upstream is archived, v1.23.2 is served by the proxy,
# which refuses to list the module's versions: `go install pkg@version` asks for that list, a wrapper module does not.
build_kaniko() {
  local v=github.com/GoogleContainerTools/kaniko
  printf 'module local/kanikobin\n\ngo %s\n\nrequire %s %s\n' "$GO_MIN_VERSION" "$v" "$KANIKO_VERSION" >go.mod
  log "kaniko: resolving modules and compiling"
  gobuild_live "$2" -ldflags "-s -w -X $v/pkg/version.version=$KANIKO_VERSION" -o "$1/executor" "$v/cmd/executor" && "$1/executor" version
}

# Traefik, the local cluster's Gateway API implementation (ADR 0020): its module carries replace directives, so it is
# built as the main module from a copy of the module cache's tree (webui assets included, as published).
build_traefik() {
  local bin=$1 vlog=$2 src
  src=$("$GO" mod download -json "github.com/traefik/traefik/v3@$TRAEFIK_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  cp -r "$src" traefik && chmod -R u+w traefik
  log "traefik: resolving modules"
  (cd traefik && "$GO" mod download >/dev/null 2>&1 || "$GO" mod download)
  local v=github.com/traefik/traefik/v3/pkg/version
  (cd traefik && gobuild_live "$vlog" -ldflags "-s -w -X $v.Version=$TRAEFIK_VERSION -X $v.Codename=appserving -X $v.BuildDate=1970-01-01T00:00:00Z" \
    -o "$bin/traefik" ./cmd/traefik) && "$bin/traefik" version | sed -n 1p
}

# The sandbox ("pause") container, compiled statically from the C source in the Kubernetes module.
build_pause() {
  local src
  src=$("$GO" mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')/build/pause/linux/pause.c
  gcc -Os -static -Wall -Werror -DVERSION="$K8S_VERSION-appserving" -o "$1/pause" "$src" && strip "$1/pause" && "$1/pause" -v
}

build_etcd() {
  local bin=$1 vlog=$2
  "$GO" mod init local/etcdbin >/dev/null 2>&1
  log "etcd: resolving modules"
  "$GO" get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1 || "$GO" get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  gobuild_live "$vlog" -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3
  "$bin/etcd" --version | sed -n 1p
}

# Modules without replace directives build with `go install pkg@version`.
go_install() {
  local bin=$1 vlog=$2 ldflags=$3; shift 3
  log "resolving and compiling $*"
  if ! GOBIN="$bin" "$GO" install -v -p "$JOBS" -trimpath -ldflags "$ldflags" "$@" 2>"$vlog"; then
    grep -vE '^[a-zA-Z0-9_./~-]+$' "$vlog" >&2 || true
    return 1
  fi
}
build_kwok() { go_install "$1" "$2" "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" && "$1/kwok" --version; }
# Flagger's metrics/health listener is hard-wired to ":<port>" (all interfaces; pkg/server/server.go) and has no
# address flag. The harness must listen on 127.0.0.1 only, so the build copies the module out of the module cache
# (overlays of module-cache files are refused by go) and changes that one expression to "127.0.0.1:<port>". The
# controller code is untouched; the step fails loudly if upstream's line ever changes.
# flagger_build BIN VLOG FILE PACKAGE: builds a command of the Flagger module from a copy of it whose one listener
# line in FILE (relative to the module) is bound to 127.0.0.1.
flagger_build() {
  local bin=$1 vlog=$2 file=flagger/$3 pkg=$4 src
  src=$("$GO" mod download -json "github.com/fluxcd/flagger@$FLAGGER_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  cp -r "$src" flagger && chmod -R u+w flagger
  [ "$(grep -c 'Addr: *":" + port,' "$file")" = 1 ] || { echo "flagger: listener line not found in $file" >&2; return 1; }
  sed -i 's/Addr: *":" + port,/Addr: "127.0.0.1:" + port,/' "$file"
  printf 'module local/flaggerbin\n\ngo %s\n\nrequire github.com/fluxcd/flagger %s\n\nreplace github.com/fluxcd/flagger => ./flagger\n' \
    "$GO_MIN_VERSION" "$FLAGGER_VERSION" >go.mod
  log "flagger: resolving modules"
  "$GO" get "$pkg" >/dev/null 2>&1 || "$GO" get "$pkg"
  gobuild_live "$vlog" -ldflags "-s -w" -o "$bin/" "$pkg"
}
build_flagger() {
  flagger_build "$1" "$2" pkg/server/server.go github.com/fluxcd/flagger/cmd/flagger && "$1/flagger" -version
}
# Flagger's load tester (its `cmd/loadtester`, the same module and change: its API on 127.0.0.1 only), which runs
# `hey` against a canary during analysis.
build_loadtester() {
  flagger_build "$1" "$2" pkg/loadtester/server.go github.com/fluxcd/flagger/cmd/loadtester && [ -x "$1/loadtester" ]
}
# hey, the HTTP load generator the load tester runs.
build_hey() { go_install "$1" "$2" "-s -w" "github.com/rakyll/hey@$HEY_VERSION" && [ -x "$1/hey" ]; }
build_helm() {
  go_install "$1" "$2" "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" &&
    "$1/helm" version --short
}

ALL=(k8s etcd kwok flagger helm kubelet containerd runc kaniko pause traefik loadtester hey)
WANT=("$@")
[ ${#WANT[@]} -gt 0 ] || WANT=("${ALL[@]}")
total_start=$(date +%s)
for c in "${WANT[@]}"; do
  case $c in
  k8s) build_component k8s "$K8S_VERSION" build_k8s ;;
  etcd) build_component etcd "$ETCD_VERSION" build_etcd ;;
  kwok) build_component kwok "$KWOK_VERSION" build_kwok ;;
  flagger) build_component flagger "$FLAGGER_VERSION-loopback" build_flagger ;;
  helm) build_component helm "$HELM_VERSION" build_helm ;;
  kubelet) build_component kubelet "$K8S_VERSION" build_kubelet ;;
  containerd) build_component containerd "$CONTAINERD_VERSION" build_containerd ;;
  runc) build_component runc "$RUNC_VERSION" build_runc ;;
  kaniko) build_component kaniko "$KANIKO_VERSION" build_kaniko ;;
  pause) build_component pause "$K8S_VERSION" build_pause ;;
  traefik) build_component traefik "$TRAEFIK_VERSION" build_traefik ;;
  loadtester) build_component loadtester "$FLAGGER_VERSION-loopback" build_loadtester ;;
  hey) build_component hey "$HEY_VERSION" build_hey ;;
  *) echo "cluster-build: unknown component '$c' (known: ${ALL[*]})" >&2; exit 2 ;;
  esac
done
log "all requested components ready in $(fmt_secs $(($(date +%s) - total_start))) (cache: $ROOT)"
