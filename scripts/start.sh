#!/usr/bin/env bash
# Starts AppServing on this machine: all four services in one process, against NATS and Postgres on
# 127.0.0.1 (started if they are not running). Brings Node 24 and pnpm and installs dependencies first.
# Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/toolchain.sh
pnpm install --frozen-lockfile --prefer-offline --reporter=append-only
bash scripts/ensure-services.sh
exec node packages/platform/src/main.ts
