"""Choose and start the inference backend named by ``settings.inference_backend``."""

from __future__ import annotations

import os

from backend.inference_backends.base import InferenceBackend
from backend.settings import Settings, SettingsError

BACKENDS = ("local", "sagemaker")


def local_threads(pool_threads: int | None = None) -> tuple[int, int | None]:
    """(concurrent inferences, ONNX Runtime intra-op threads) for this machine.

    On CPU, one single-threaded inference per core: no intra-op thread spins waiting for work
    while the API, S3 and the database need the same cores, and the cores stay busy. On CUDA,
    one inference at a time with ORT's defaults.
    """
    import onnxruntime as ort  # on use: the API process never loads ONNX Runtime

    if "CUDAExecutionProvider" in ort.get_available_providers():
        return pool_threads or 1, None
    return pool_threads or max(1, len(os.sched_getaffinity(0))), 1


async def make_backend(settings: Settings, pool_threads: int | None = None) -> InferenceBackend:
    """local: ONNX Runtime in this process (CUDA when present); sagemaker: the endpoint."""
    if settings.inference_backend == "local":
        from backend.inference_backends.local import LocalBackend  # ONNX Runtime, on use

        pool, ort_threads = local_threads(pool_threads)
        return await LocalBackend.load(
            settings.model_path,
            device="auto",
            ort_threads=ort_threads,
            pool_threads=pool,
            max_batch=settings.inference_max_batch,
            wait_ms=settings.inference_batch_wait_ms,
        )
    if settings.inference_backend == "sagemaker":
        # on use, as LocalBackend: a process loads only the backend it runs
        from backend.inference_backends.sagemaker import SageMakerBackend
        from backend.platform.services import model_manifest

        backend = SageMakerBackend(settings, model_manifest(settings.model_path).version)
        await backend.start()
        return backend
    raise SettingsError(
        f"MEDSEGTEXT_INFERENCE_BACKEND must be one of {BACKENDS}, "
        f"not {settings.inference_backend!r}"
    )
