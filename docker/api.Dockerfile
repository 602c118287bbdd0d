# MedSegText API: the Litestar app under uvicorn on port 8000.
#   docker build -f docker/api.Dockerfile -t medsegtext/api .      (from the repository root)
# The same image runs the queue-depth publisher (python -m deploy.metrics) and, in compose, the
# S3 + DynamoDB stand-in (python -m deploy.local_aws: moto behind a signature check) and the
# one-off python -m deploy.local_init.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --upgrade pip setuptools
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
# Dependencies in their own layer, rebuilt only when pyproject.toml changes.
COPY pyproject.toml docker/requirements.py /tmp/build/
RUN cd /tmp/build && python requirements.py api > requirements.txt && pip install -r requirements.txt
COPY backend ./backend
COPY inference ./inference
COPY deploy ./deploy
# The version the API reports (backend/platform/version.py reads it: the project is copied here,
# not installed, so there is no distribution metadata).
COPY pyproject.toml ./
# The shipped model: on start the API registers it as a model version (sha256 checked against
# its manifest), at the same /app/models path the workers load it from.
COPY models/*.onnx models/*.manifest.json ./models/

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MEDSEGTEXT_ENVIRONMENT=production
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin medsegtext
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
# /tmp is the one writable path (the root filesystem is read-only in compose and on ECS):
# declared so that ECS's task volume there takes this folder's mode (1777), not root's 0755.
VOLUME /tmp
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4)"]
# --no-proxy-headers: uvicorn rewrites no client address; the app trusts X-Forwarded-For only
# from MEDSEGTEXT_TRUSTED_PROXIES (backend/http/proxies.py).
CMD ["uvicorn", "backend.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000", "--timeout-graceful-shutdown", "25", "--no-proxy-headers"]
