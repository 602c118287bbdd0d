# compose's S3 + DynamoDB stand-in (python -m deploy.local_aws): moto behind the stack's SigV4
# credential gate, its data kept under /data (the awsdata volume). Local runs only: on AWS the
# services use S3 and DynamoDB themselves. Its own image so that no product image carries moto.
#   docker build -f docker/aws.Dockerfile -t medsegtext/aws .   (from the repository root)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --upgrade pip setuptools
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml docker/requirements.py /tmp/build/
RUN cd /tmp/build && python requirements.py aws > requirements.txt && pip install -r requirements.txt
# Only what the stand-in runs: the gate and the write-through store of backend/platform.
COPY backend/__init__.py ./backend/
COPY backend/platform/__init__.py backend/platform/aws_*.py ./backend/platform/
COPY deploy/__init__.py deploy/local_aws.py ./deploy/

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MEDSEGTEXT_AWS_DATA_DIR=/data
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin medsegtext \
 && install -d -o 10001 -g 10001 -m 0700 /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
USER 10001:10001
EXPOSE 5000
VOLUME /data
HEALTHCHECK --interval=5s --timeout=5s --retries=20 \
  CMD ["python", "-m", "deploy.local_aws", "--check"]
CMD ["python", "-m", "deploy.local_aws"]
