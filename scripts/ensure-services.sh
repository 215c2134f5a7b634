#!/usr/bin/env bash
# Makes sure NATS (with JetStream) and Postgres answer on 127.0.0.1, as the platform and the tests expect.
# When one is not running it is installed from Debian's packages if missing (nats-server, postgresql) and
# started the way these machines start it. A URL pointing elsewhere (APPSERVING_NATS_URL /
# APPSERVING_DATABASE_URL) is left alone: that server is someone else's to run.
set -euo pipefail

log() { printf 'services: %s\n' "$*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port name
  for _ in $(seq 1 100); do port_open "$1" && return 0; sleep 0.2; done
  log "$2 did not start listening on 127.0.0.1:$1"; return 1
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else log "need root to run: $*"; return 1; fi; }
apt_install() {
  log "installing Debian package(s) $* ..."
  as_root apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}
is_local() { case "$1" in *127.0.0.1*|*localhost*|*'[::1]'*) return 0 ;; *) return 1 ;; esac; }

nats_url=${APPSERVING_NATS_URL:-nats://127.0.0.1:4222}
db_url=${APPSERVING_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/appserving}

if is_local "$nats_url" && ! port_open 4222; then
  command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || apt_install nats-server
  log "starting nats-server with JetStream on 127.0.0.1:4222"
  as_root mkdir -p /var/lib/nats-server
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_port 4222 nats-server
fi

if is_local "$db_url" && ! port_open 5432; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -1)
  log "starting PostgreSQL $version on 127.0.0.1:5432"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_port 5432 postgresql
fi

# The web console's browser tests (packages/web/src/node) drive Debian's Chromium; CJK fonts draw its Korean.
# Never a browser downloaded by a test tool.
if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ]; then
  apt_install chromium fonts-noto-cjk
fi

# Both must not only listen but work: JetStream enabled, Postgres accepting our user. Checked with the
# project's own clients so a failure names the component.
node scripts/check-services.ts
