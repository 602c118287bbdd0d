# MedSegText portal: the Reflex app in production mode on port 3000 (frontend/run.sh), its
# production build made here, so that a container starts offline in seconds.
#   docker build -f docker/frontend.Dockerfile -t medsegtext/frontend .  (from the repository root)
#   ... --build-arg MEDSEGTEXT_PUBLIC_URL=https://portal.hospital.example   (the URL browsers use)
# Runs with MEDSEGTEXT_API_URL (the API, e.g. http://api:8000). The build is made for
# MEDSEGTEXT_PUBLIC_URL and PROXY_HOPS (build arguments); a container started with other values
# exits naming them (frontend/prod_run.py) rather than rebuild. The portal has its own virtual
# environment: reflex needs redis>=6.4, the backend's arq needs redis<6.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# bun trusts its own CA list unless told: the system's bundle as well (where a proxy's CA is
# in it, as in the local base of docker/build_images.sh, bun's downloads then pass the proxy).
# REFLEX_DIR: Reflex's own state folder, the same path at run time, or a start re-initialises.
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 REFLEX_TELEMETRY_ENABLED=false \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    REFLEX_DIR=/app/frontend/.reflex-home REFLEX_CHECK_LATEST_VERSION=false
# npm only installs bun (run.sh); the portal itself is built with bun and node.
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
WORKDIR /app
# frontend/.venv (reflex) and frontend/.tools (bun) as run.sh makes them on a machine, in a
# layer of their own: rebuilt only when the pins change.
COPY frontend/run.sh frontend/requirements.txt frontend/reflex_lock.py ./frontend/
COPY frontend/reflex.lock/bun.lock ./frontend/reflex.lock/
RUN frontend/run.sh --setup-only && frontend/.venv/bin/pip install --upgrade pip setuptools
COPY frontend ./frontend
# The variables the build is made from, the same in the final stage (frontend/build_key.py).
ARG MEDSEGTEXT_PUBLIC_URL=http://localhost:3000
ARG PROXY_HOPS=0
ENV MEDSEGTEXT_PORTAL_HOST=0.0.0.0 MEDSEGTEXT_PORTAL_PORT=3000 \
    REFLEX_API_URL=${MEDSEGTEXT_PUBLIC_URL} REFLEX_DEPLOY_URL=${MEDSEGTEXT_PUBLIC_URL} \
    REFLEX_TRUSTED_PROXY_HOPS=${PROXY_HOPS}
# The production build, exactly as a start makes it; the packages it was made with are not
# needed to serve it.
RUN frontend/run.sh --build-only \
 && rm -rf frontend/.web/node_modules frontend/.tools /root/.npm /root/.cache

FROM ${PYTHON_IMAGE}
ARG MEDSEGTEXT_PUBLIC_URL=http://localhost:3000
ARG PROXY_HOPS=0
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 REFLEX_TELEMETRY_ENABLED=false \
    REFLEX_DIR=/app/frontend/.reflex-home REFLEX_CHECK_LATEST_VERSION=false \
    MEDSEGTEXT_PORTAL_HOST=0.0.0.0 MEDSEGTEXT_PORTAL_PORT=3000 \
    REFLEX_API_URL=${MEDSEGTEXT_PUBLIC_URL} REFLEX_DEPLOY_URL=${MEDSEGTEXT_PUBLIC_URL} \
    REFLEX_TRUSTED_PROXY_HOPS=${PROXY_HOPS} \
    MEDSEGTEXT_PREBUILT_PORTAL=1
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin medsegtext
COPY --from=build --chown=10001:10001 /app /app
WORKDIR /app
USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/ping', timeout=4)"]
CMD ["frontend/run.sh"]
