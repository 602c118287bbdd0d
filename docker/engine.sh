#!/usr/bin/env bash
# Prints `export DOCKER_HOST=...` for a reachable Docker engine, starting one when none is:
# Debian's dockerd with VFS storage and no iptables, the setup that runs inside these sandboxed
# machines (no overlayfs; see ../shared/notes/docker-engine.md). Its files live under
# MEDSEGTEXT_DOCKER_ROOT (default /var/tmp/medsegtext-docker); stop it with
#   kill "$(cat /var/tmp/medsegtext-docker/pid)"
#   eval "$(docker/engine.sh)"
set -euo pipefail
if docker info >/dev/null 2>&1; then
  echo "export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}"
  exit 0
fi
root=${MEDSEGTEXT_DOCKER_ROOT:-/var/tmp/medsegtext-docker}
sock="unix://$root/sock"
if ! DOCKER_HOST=$sock docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { echo "docker/engine.sh: no Docker engine reachable and no dockerd (apt-get install docker.io)" >&2; exit 1; }
  mkdir -p "$root"
  nohup dockerd --data-root "$root/root" --exec-root "$root/exec" --pidfile "$root/pid" \
    --host "$sock" --storage-driver vfs --iptables=false >"$root/log" 2>&1 &
  for _ in $(seq 60); do DOCKER_HOST=$sock docker info >/dev/null 2>&1 && break; sleep 1; done
  DOCKER_HOST=$sock docker info >/dev/null 2>&1 || { echo "docker/engine.sh: dockerd did not start, see $root/log" >&2; exit 1; }
fi
echo "export DOCKER_HOST=$sock"
