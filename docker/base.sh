#!/usr/bin/env bash
# Builds the local Python base, tagged $1 (default medsegtext/base:local), for machines that
# reach no container registry: Debian bookworm from debootstrap (minbase) with python3 (3.11,
# as in python:3.11-slim-bookworm) and python3-venv, plus the host's CA bundle, so that builds
# reach PyPI through a proxy whose certificate only the host trusts. Needs root and debootstrap.
set -euo pipefail
tag=${1:-medsegtext/base:local}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
rootfs=$(mktemp -d /var/tmp/medsegtext-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
command -v debootstrap >/dev/null || { echo "docker/base.sh: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
  || { tail -20 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"
chmod 0755 "$rootfs"  # mktemp's 0700 would become the image's /, closed to non-root users
ln -sf python3 "$rootfs/usr/bin/python"
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
# What a registry image leaves out: apt lists, caches and docs (the build stages reinstall lists).
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
tar -C "$rootfs" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
  -c 'CMD ["python3"]' -m "debootstrap bookworm minbase + python3 + host CA bundle" - "$tag" >/dev/null
echo "$tag"
