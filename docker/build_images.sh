#!/usr/bin/env bash
# `make images`: builds every image of docker/ as medsegtext/<name>:$MEDSEGTEXT_TAG (default
# local), timing each build into build/images/build-times.tsv (logs: build/images/<name>.log).
#   PYTHON_IMAGE=python:3.11-slim-bookworm docker/build_images.sh   # a registry base
#   docker/build_images.sh                     # the registry's base if it can be pulled, else a
#                                              # local one from debootstrap (docker/base.sh)
#   docker/build_images.sh api worker          # only these
# The GPU worker's CUDA base follows the same rule (CUDA_IMAGE, else nvidia/cuda if it can be
# pulled, else the local base: onnxruntime-gpu then imports and lists its providers but finds no
# CUDA libraries, which only matters on a GPU host, where the registry is reachable).
# Builds use host networking: in these sandboxes only the host's network reaches PyPI and Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(docker/engine.sh)"
tag=${MEDSEGTEXT_TAG:-local}
out=build/images
mkdir -p "$out"
images=("$@")
[ ${#images[@]} -gt 0 ] || images=(postgres redis aws api migrate worker sagemaker frontend worker-gpu)

# An image that is present or can be pulled within a minute (a sandbox without a registry may
# hang on the pull rather than fail).
available() {
  docker image inspect "$1" >/dev/null 2>&1 || timeout 60 docker pull -q "$1" >/dev/null 2>&1
}
local_base=medsegtext/base:local
base_for() {  # $1: the wanted registry image
  if available "$1"; then echo "$1"; return; fi
  docker image inspect "$local_base" >/dev/null 2>&1 || {
    echo "no registry image $1: building $local_base with debootstrap" >&2
    timed base docker/base.sh "$local_base" >&2
  }
  echo "$local_base"
}
timed() {  # $1: name for the log; the rest: the command
  local name=$1 start=$SECONDS; shift
  "$@" || return
  printf '%s\t%s\t%s\n' "$name" "$((SECONDS - start))" "$(date -u +%FT%TZ)" >>"$out/build-times.tsv"
  echo "== $name built in $((SECONDS - start)) s" >&2
}
# BuildKit: metadata steps make no layers and unused stages are skipped, which matters on VFS
# storage, where every layer is a full copy of the file system (the legacy builder took about
# a minute per ENV/USER/CMD step here). `docker buildx`, else a Docker 20.10 client that still
# has BuildKit built in (Debian's docker.io), else the legacy builder.
if docker buildx version >/dev/null 2>&1; then
  builder=(docker buildx build --load --progress plain)
elif [ -x /usr/bin/docker ] && /usr/bin/docker version --format '{{.Client.Version}}' 2>/dev/null | grep -q '^20\.'; then
  builder=(env DOCKER_BUILDKIT=1 /usr/bin/docker build --progress plain)
else
  builder=(env DOCKER_BUILDKIT=0 docker build)
fi
python_image=${PYTHON_IMAGE:-}
build() {  # $1: image name; the rest: extra docker build arguments
  local name=$1; shift
  local file=docker/$name.Dockerfile
  [ -f "$file" ] || file=docker/local/$name.Dockerfile
  timed "$name" "${builder[@]}" --network host "$@" -f "$file" -t "medsegtext/$name:$tag" . \
    >"$out/$name.log" 2>&1 || { tail -30 "$out/$name.log" >&2; echo "build of $name failed: $out/$name.log" >&2; exit 1; }
  echo "== medsegtext/$name:$tag built in $(tail -1 "$out/build-times.tsv" | cut -f2) s" >&2
}
for name in "${images[@]}"; do
  case $name in
    worker-gpu)
      build worker-gpu --build-arg "CUDA_IMAGE=${CUDA_IMAGE:-$(base_for nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04)}"
      # onnxruntime-gpu imports and lists its execution providers (no GPU needed to list them).
      docker run --rm "medsegtext/worker-gpu:$tag" python -c \
        "import onnxruntime as o; print('worker-gpu:', o.__version__, o.get_available_providers())"
      ;;
    *)
      [ -n "$python_image" ] || python_image=$(base_for python:3.11-slim-bookworm)
      build "$name" --build-arg "PYTHON_IMAGE=$python_image"
      ;;
  esac
done
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' 'medsegtext/*'
