# MedSegText GPU worker: the same arq worker with ONNX Runtime's CUDA execution provider
# (the project's `gpu` extra, onnxruntime-gpu: CUDA 12 + cuDNN 9) on NVIDIA's CUDA runtime image.
# Needs the NVIDIA container toolkit on the host (ECS GPU-optimised AMI; compose profile "gpu").
#   docker build -f docker/worker-gpu.Dockerfile -t medsegtext/worker-gpu .  (from the repository root)
ARG CUDA_IMAGE=nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04

# Python 3.11 (the project's version) from the deadsnakes archive: Ubuntu 22.04 ships 3.10. A
# base that has it already (docker/build_images.sh's local Debian base where no registry is
# reachable: no CUDA libraries, so the image only proves onnxruntime-gpu installs) skips this.
FROM ${CUDA_IMAGE} AS cuda-python
ENV DEBIAN_FRONTEND=noninteractive
RUN command -v python3.11 >/dev/null && python3.11 -c "import venv, ensurepip" || { \
    apt-get update \
 && apt-get install -y --no-install-recommends software-properties-common gpg-agent \
 && add-apt-repository -y ppa:deadsnakes/ppa \
 && apt-get install -y --no-install-recommends python3.11 python3.11-venv \
 && apt-get purge -y --auto-remove software-properties-common gpg-agent \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; }

FROM cuda-python AS build
ARG ORT_GPU_VERSION=1.22.0
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python3.11 -m venv /opt/venv && /opt/venv/bin/pip install --upgrade pip setuptools
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml docker/requirements.py /tmp/build/
# onnxruntime (CPU) is swapped for onnxruntime-gpu: both provide the same module.
RUN cd /tmp/build && python requirements.py worker-gpu --gpu > requirements.txt \
 && pip install -r requirements.txt "onnxruntime-gpu==${ORT_GPU_VERSION}" \
 && python -c "import onnxruntime as o; assert 'CUDAExecutionProvider' in o.get_available_providers(), o.get_available_providers()"
COPY backend ./backend
COPY inference ./inference
COPY models/*.onnx models/*.manifest.json ./models/

FROM cuda-python
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MEDSEGTEXT_ENVIRONMENT=production MEDSEGTEXT_INFERENCE_BACKEND=local
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin medsegtext
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
# /tmp is the one writable path (the root filesystem is read-only in compose and on ECS):
# declared so that ECS's task volume there takes this folder's mode (1777), not root's 0755.
VOLUME /tmp
USER 10001:10001
# No HTTP port; see worker.Dockerfile for what arq --check vouches for.
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 \
  CMD ["arq", "--check", "backend.worker.settings.WorkerSettings"]
CMD ["arq", "backend.worker.settings.WorkerSettings"]
