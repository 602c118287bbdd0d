# MedSegText portal: the Reflex app in production mode on port 3000 (frontend/run.sh).
#   docker build -f docker/frontend.Dockerfile -t medsegtext/frontend .  (from the repository root)
# Runs with MEDSEGTEXT_API_URL (the API, e.g. http://api:8000) and REFLEX_API_URL /
# REFLEX_DEPLOY_URL (the URL browsers use for this portal). The portal has its own virtual
# environment: reflex needs redis>=6.4, the backend's arq needs redis<6.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# bun trusts its own CA list unless told: the system's bundle as well (where a proxy's CA is
# in it, as in the local base of docker/build_images.sh, bun's downloads then pass the proxy).
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 REFLEX_TELEMETRY_ENABLED=false \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
# npm only installs bun (run.sh); the portal itself is built with bun.
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY frontend ./frontend
# frontend/.venv (reflex) and frontend/.tools (bun), exactly as run.sh makes them on a machine;
# then one export so .web and its node_modules are in the image and a start only compiles.
RUN frontend/run.sh --setup-only \
 && cd frontend \
 && PATH="/app/frontend/.tools/node_modules/.bin:$PATH" .venv/bin/reflex export --frontend-only --no-zip \
 && rm -rf .web/build

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 REFLEX_TELEMETRY_ENABLED=false \
    MEDSEGTEXT_PORTAL_HOST=0.0.0.0 MEDSEGTEXT_PORTAL_PORT=3000
# Node.js for the production build Reflex runs at start (bun is the package manager).
RUN apt-get update && apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin medsegtext
COPY --from=build --chown=10001:10001 /app /app
WORKDIR /app
USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/ping', timeout=4)"]
CMD ["frontend/run.sh"]
