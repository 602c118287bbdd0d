"""In-process ONNX Runtime (CUDA when present) behind a small thread pool, so the worker's event
loop keeps serving S3, DynamoDB and Redis while the model runs (onnxruntime releases the GIL).

Micro-batching: concurrent ``predict`` calls (the worker runs several jobs at once) are coalesced
into one ``Predictor.predict_batch`` call of up to ``max_batch`` images. A batch leaves as soon
as a pool thread is free and either it is full or ``wait_ms`` passed since its first image; while
every thread is busy, requests gather into the next batch, so batches grow with the queue and an
idle worker adds at most ``wait_ms`` of latency. Waiting images are shared among the free
threads, so no core idles while another runs a large batch. Each job still awaits its own
image's result, so jobs stay per case and idempotent. ``max_batch=1`` is one model call per case.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from backend.inference_backends.base import InferenceResult
from inference.errors import InputError
from inference.pipeline import Prediction, Predictor


def to_result(prediction: Prediction) -> InferenceResult:
    return InferenceResult(prediction.summary(), prediction.mask_png, prediction.overlay_png)


Pending = tuple[bytes, "asyncio.Future[Prediction]", float]  # image, its job's future, arrival


class LocalBackend:
    """One Predictor shared by ``pool_threads`` threads (ORT sessions are thread-safe)."""

    def __init__(
        self, predictor: Predictor, pool_threads: int = 1, max_batch: int = 1, wait_ms: float = 0.0
    ):
        self.predictor = predictor
        self.model_version = predictor.manifest.version
        self.max_batch = max(1, max_batch)
        self.wait_s = max(0.0, wait_ms) / 1000
        self._slots = pool_threads
        self._busy = 0
        self._pending: list[Pending] = []
        self._timer: asyncio.TimerHandle | None = None
        self._pool = ThreadPoolExecutor(max_workers=pool_threads, thread_name_prefix="inference")

    @classmethod
    async def load(
        cls,
        model_path: str | None,
        device: str = "auto",
        ort_threads: int | None = None,
        pool_threads: int = 1,
        max_batch: int = 1,
        wait_ms: float = 0.0,
    ) -> LocalBackend:
        """Load the model off the event loop (hashing and session creation take ~1 s)."""
        loop = asyncio.get_running_loop()
        predictor = await loop.run_in_executor(
            None, lambda: Predictor(model_path, device=device, threads=ort_threads)
        )
        return cls(predictor, pool_threads, max_batch, wait_ms)

    async def predict(self, image_bytes: bytes, check_scope: bool = True) -> InferenceResult:
        """check_scope=False (a reviewer's scope override) runs alone, outside the batches."""
        loop = asyncio.get_running_loop()
        if not check_scope:
            prediction = await loop.run_in_executor(
                self._pool, lambda: self.predictor.predict(image_bytes, check_scope=False)
            )
            return to_result(prediction)
        if self.max_batch == 1:
            prediction = await loop.run_in_executor(self._pool, self.predictor.predict, image_bytes)
            return to_result(prediction)
        future: asyncio.Future[Prediction] = loop.create_future()
        self._pending.append((image_bytes, future, loop.time()))
        self._maybe_dispatch(loop)
        return to_result(await future)

    def _maybe_dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        """While a thread is free: send a batch that is full or whose oldest image has waited
        ``wait_s``; else arm the timer for that moment. A finishing batch calls back here."""
        while self._pending and self._busy < self._slots:
            waited = loop.time() - self._pending[0][2]
            if len(self._pending) < self.max_batch and waited < self.wait_s:
                if self._timer is None:
                    self._timer = loop.call_later(self.wait_s - waited, self._on_timer, loop)
                return
            self._dispatch(loop)

    def _on_timer(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        self._maybe_dispatch(loop)

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending = [p for p in self._pending if not p[1].done()]  # jobs cancelled meanwhile
        if not self._pending:
            return
        free = self._slots - self._busy  # share the waiting images among the free threads
        size = min(self.max_batch, -(-len(self._pending) // free))
        batch = [(data, future) for data, future, _ in self._pending[:size]]
        self._pending = self._pending[size:]
        self._busy += 1
        done = loop.run_in_executor(
            self._pool, self.predictor.predict_batch, [data for data, _ in batch]
        )
        done.add_done_callback(lambda f: self._finished(loop, batch, f))

    def _finished(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[tuple[bytes, asyncio.Future[Prediction]]],
        done: asyncio.Future[list[Prediction | InputError]],
    ) -> None:
        """Hand each job its own result (or its own InputError); a failed call fails them all."""
        self._busy -= 1
        if done.cancelled():  # the pool was shut down
            for _, future in batch:
                future.cancel()
            return
        error = done.exception()
        results: list[Prediction | BaseException] = (
            [error] * len(batch) if error is not None else list(done.result())
        )
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
        self._maybe_dispatch(loop)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
