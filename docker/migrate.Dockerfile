# MedSegText database migrations: `alembic upgrade head`, run once per release before the
# services roll (ECS: the migrate task; compose: the migrate service). Also runs the admin CLI:
#   docker run --rm -e DATABASE_URL=... -e MEDSEGTEXT_SECRET_KEY=... medsegtext/migrate \
#     python -m backend.cli users create --email admin@example.org --role admin
#   docker build -f docker/migrate.Dockerfile -t medsegtext/migrate .  (from the repository root)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --upgrade pip setuptools
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml docker/requirements.py /tmp/build/
RUN cd /tmp/build && python requirements.py migrate > requirements.txt && pip install -r requirements.txt
COPY alembic.ini ./
COPY migrations ./migrations
COPY backend ./backend
COPY inference ./inference
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
# A one-off that exits when done: no port, no health check.
HEALTHCHECK NONE
CMD ["alembic", "upgrade", "head"]
