"""In-process ONNX Runtime (CUDA when present) behind a small thread pool, so the worker's event
loop keeps serving S3, DynamoDB and Redis while the model runs (onnxruntime releases the GIL)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from backend.inference_backends.base import InferenceResult
from inference.pipeline import Prediction, Predictor


def to_result(prediction: Prediction) -> InferenceResult:
    return InferenceResult(prediction.summary(), prediction.mask_png, prediction.overlay_png)


class LocalBackend:
    """One Predictor shared by ``pool_threads`` threads (ORT sessions are thread-safe)."""

    def __init__(self, predictor: Predictor, pool_threads: int = 1):
        self.predictor = predictor
        self.model_version = predictor.manifest.version
        self._pool = ThreadPoolExecutor(max_workers=pool_threads,
                                        thread_name_prefix="inference")

    @classmethod
    async def load(cls, model_path: str | None, device: str = "auto",
                   ort_threads: int | None = None, pool_threads: int = 1) -> LocalBackend:
        """Load the model off the event loop (hashing and session creation take ~1 s)."""
        loop = asyncio.get_running_loop()
        predictor = await loop.run_in_executor(
            None, lambda: Predictor(model_path, device=device, threads=ort_threads))
        return cls(predictor, pool_threads)

    async def predict(self, image_bytes: bytes) -> InferenceResult:
        loop = asyncio.get_running_loop()
        prediction = await loop.run_in_executor(self._pool, self.predictor.predict, image_bytes)
        return to_result(prediction)

    async def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
