# Redis 7 from Debian for the local stack where no registry serves redis:7-alpine
# (compose.local.yaml selects it). Like the official image it serves every address without
# protected mode (the stack's network is private) and keeps its files in /data.
#   docker/build_images.sh redis
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && apt-get update && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && install -d -o redis -g redis /data
WORKDIR /data
USER redis
EXPOSE 6379
HEALTHCHECK --interval=5s --timeout=3s --retries=20 CMD ["redis-cli", "ping"]
# compose.yaml's command starts with "redis-server", as for the official image's entrypoint.
ENTRYPOINT ["/bin/sh", "-c", "[ \"${1:-}\" = redis-server ] && shift; exec redis-server --bind 0.0.0.0 --protected-mode no --dir /data \"$@\"", "redis"]
CMD ["redis-server"]
