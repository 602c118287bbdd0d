# MedSegText model server for a SageMaker real-time endpoint (bring-your-own-container):
# SageMaker runs `docker run <image> serve`; the server listens on 8080 (GET /ping,
# POST /invocations) and loads the *.onnx SageMaker unpacks into /opt/ml/model from
# model.tar.gz (python -m deploy.sagemaker package), else the model shipped in the image.
#   docker build -f docker/sagemaker.Dockerfile -t medsegtext/sagemaker .  (from the repository root)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --upgrade pip setuptools
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml docker/requirements.py /tmp/build/
RUN cd /tmp/build && python requirements.py sagemaker > requirements.txt && pip install -r requirements.txt
COPY backend ./backend
COPY inference ./inference
COPY models/*.onnx models/*.manifest.json ./models/

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin medsegtext
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
# /tmp is the one writable path (the root filesystem is read-only in compose and on ECS):
# declared so that ECS's task volume there takes this folder's mode (1777), not root's 0755.
VOLUME /tmp
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/ping', timeout=4)"]
ENTRYPOINT ["python", "-m", "backend.sagemaker_server"]
CMD ["serve"]
