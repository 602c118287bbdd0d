# MedSegText CPU worker: arq running the inference jobs with ONNX Runtime on the CPU.
#   docker build -f docker/worker.Dockerfile -t medsegtext/worker .   (from the repository root)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --upgrade pip setuptools
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml docker/requirements.py /tmp/build/
RUN cd /tmp/build && python requirements.py worker > requirements.txt && pip install -r requirements.txt
COPY backend ./backend
COPY inference ./inference
# The shipped model and its manifest (the inference core checks the sha256 on load).
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
# No HTTP port. arq --check passes while a worker of this queue wrote its health key in the last
# health_check_interval (30 s): Redis reachable and the queue polled. (The key is per queue, so
# with several workers it vouches for the pool; a dead worker process ends its container.)
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["arq", "--check", "backend.worker.settings.WorkerSettings"]
# A running job may take up to job_timeout_seconds; give it that long after SIGTERM.
STOPSIGNAL SIGTERM
CMD ["arq", "backend.worker.settings.WorkerSettings"]
