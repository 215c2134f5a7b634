#!/usr/bin/env bash
# Says at once what building and running the local Kubernetes cluster needs and this machine lacks, before anything
# long starts (docs/local-cluster.md). Exits 1 naming each missing piece; 0 when all is there.
set -uo pipefail

missing=()
command -v go >/dev/null || [ -x /usr/local/go/bin/go ] ||
  missing+=("Go 1.26 (go on PATH or /usr/local/go/bin/go): the cluster's binaries are built from Go modules")
command -v gcc >/dev/null || missing+=("gcc (Debian's build-essential): runc and the pause container are compiled with cgo/gcc")
command -v apt-get >/dev/null || missing+=("apt-get: the cluster installs Debian packages (Prometheus, the registry, CNI plugins, mmdebstrap, ...)")
if [ "${APPSERVING_CLUSTER_REAL_NODE:-1}" != 0 ] && [ "${APPSERVING_CLUSTER_REAL_NODE:-1}" != false ]; then
  [ "$(id -u)" = 0 ] ||
    missing+=("root: the cluster's real node runs containers (namespaces, cgroups, a bridge, mounts); APPSERVING_CLUSTER_REAL_NODE=0 starts the cluster without it")
  [ -d /sys/fs/cgroup ] || missing+=("a cgroup filesystem at /sys/fs/cgroup, for the real node's containers")
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "the local Kubernetes cluster cannot be built or run here; missing:" >&2
  for m in "${missing[@]}"; do echo "  - $m" >&2; done
  exit 1
fi
