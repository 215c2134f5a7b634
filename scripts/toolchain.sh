# shellcheck shell=bash
# Puts the project's pinned Node.js and pnpm on PATH, fetching them from the npm registry on first use.
#
# The machine's own Node is older than the project needs, and nodejs.org is not reachable from every machine
# this project runs on, so Node comes from the npm registry's `node-linux-<arch>` packages (the official
# binaries, published by the Node.js project) and pnpm from its npm package. Both are checked against the
# integrity pinned below and cached outside the repo, keyed by version.
#
# Usage: source scripts/toolchain.sh   (idempotent; prints progress only when it has to download)

NODE_VERSION=24.21.0
PNPM_VERSION=10.34.9
NODE_INTEGRITY_x64='sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q=='
NODE_INTEGRITY_arm64='sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g=='
PNPM_INTEGRITY='sha512-9JtajqD97bRLs8DB1ldQkqU8KVDZW3rRXfEfF5dId6LeOgHAfpNOmyjOcW5RwJqUlixzBtCb4uHksYqMh2L9Mg=='

APPSERVING_CACHE=${APPSERVING_CACHE:-$HOME/.cache/appserving}
export APPSERVING_CACHE

_toolchain_fetch() { # name@version expected-integrity destination-dir
  local spec=$1 integrity=$2 dest=$3 tmp tgz actual
  if ! command -v npm >/dev/null 2>&1; then
    echo "toolchain: npm is needed once to fetch $spec from the npm registry, and it is not on PATH" >&2
    return 1
  fi
  tmp=$(mktemp -d)
  echo "toolchain: fetching $spec from the npm registry ..." >&2
  if ! (cd "$tmp" && npm pack --silent "$spec" >/dev/null 2>"$tmp/npm.err"); then
    echo "toolchain: 'npm pack $spec' failed:" >&2; cat "$tmp/npm.err" >&2; rm -rf "$tmp"; return 1
  fi
  tgz=$(ls "$tmp"/*.tgz)
  actual="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$actual" != "$integrity" ]; then
    echo "toolchain: integrity mismatch for $spec: expected $integrity, got $actual" >&2
    rm -rf "$tmp"; return 1
  fi
  mkdir -p "$tmp/x" && tar -xzf "$tgz" -C "$tmp/x" || { rm -rf "$tmp"; return 1; }
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest.partial" && mv "$tmp/x/package" "$dest.partial" && mv "$dest.partial" "$dest"
  rm -rf "$tmp"
}

_toolchain_setup() {
  local arch integrity node_dir pnpm_dir
  case "$(uname -m)" in
    x86_64) arch=x64; integrity=$NODE_INTEGRITY_x64 ;;
    aarch64|arm64) arch=arm64; integrity=$NODE_INTEGRITY_arm64 ;;
    *) echo "toolchain: unsupported CPU architecture $(uname -m) (x86_64 and arm64 are supported)" >&2; return 1 ;;
  esac
  node_dir="$APPSERVING_CACHE/toolchain/node-$NODE_VERSION-linux-$arch"
  pnpm_dir="$APPSERVING_CACHE/toolchain/pnpm-$PNPM_VERSION"
  [ -x "$node_dir/bin/node" ] || _toolchain_fetch "node-linux-$arch@$NODE_VERSION" "$integrity" "$node_dir" || return 1
  [ -f "$pnpm_dir/bin/pnpm.cjs" ] || _toolchain_fetch "pnpm@$PNPM_VERSION" "$PNPM_INTEGRITY" "$pnpm_dir" || return 1
  # pnpm ships as a CommonJS entry point; a tiny launcher makes it run on our Node, whatever else is on PATH.
  mkdir -p "$APPSERVING_CACHE/toolchain/bin"
  printf '#!/bin/sh\nexec "%s/bin/node" "%s/bin/pnpm.cjs" "$@"\n' "$node_dir" "$pnpm_dir" >"$APPSERVING_CACHE/toolchain/bin/pnpm"
  chmod +x "$APPSERVING_CACHE/toolchain/bin/pnpm"
  export PATH="$node_dir/bin:$APPSERVING_CACHE/toolchain/bin:$PATH"
  # Keep pnpm's store outside the repo too, so a fresh clone installs from the warm cache.
  export npm_config_store_dir="$APPSERVING_CACHE/pnpm-store"
  hash -r
  local have
  have=$(node --version)
  if [ "$have" != "v$NODE_VERSION" ]; then
    echo "toolchain: expected Node v$NODE_VERSION on PATH, found $have" >&2
    return 1
  fi
}

_toolchain_setup
