"""Micro-batching in the local backend: concurrent jobs share model calls, each job still gets
its own result (or its own error), and a worker with batching on runs queued cases to done.

No timings are asserted: batches are made deterministic by filling them (max_batch reached in one
loop tick) or by holding the model call on an Event while more requests arrive."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

import pytest

from backend.inference_backends.local import LocalBackend
from backend.platform.services import Services
from backend.settings import load_settings
from inference.errors import InputError
from inference.pipeline import Predictor
from inference.result import PredictionSummary


class RecordingPredictor(Predictor):
    """The shipped model, recording the size of every model call."""

    sizes: list[int]

    def predict_batch(self, items: list[bytes], check_scope: bool = True) -> list[Any]:
        self.sizes.append(len(items))
        return super().predict_batch(items, check_scope)


@pytest.fixture(scope="module")
def predictor() -> RecordingPredictor:
    p = RecordingPredictor(device="cpu", threads=1)
    p.sizes = []
    return p


async def test_concurrent_cases_share_one_model_call(
    predictor: RecordingPredictor, xray_paths
) -> None:
    images = [p.read_bytes() for p in xray_paths]
    backend = LocalBackend(predictor, pool_threads=1, max_batch=len(images), wait_ms=10_000)
    predictor.sizes = []
    try:
        results = await asyncio.gather(*(backend.predict(data) for data in images))
    finally:
        await backend.close()

    assert predictor.sizes == [len(images)]  # full at once: no wait for the timer
    for data, result in zip(images, results, strict=True):
        alone = predictor.predict(data)  # the same answer as one call per case
        assert result.summary.findings_text == alone.findings_text
        assert result.summary.zone_probabilities == pytest.approx(
            alone.zone_probabilities, abs=1e-3
        )
        assert result.summary.lesion_burden_percent == pytest.approx(
            alone.lesion_burden_percent, abs=0.05
        )
        assert result.mask_png.startswith(b"\x89PNG") and result.overlay_png.startswith(b"\x89PNG")


async def test_a_bad_image_fails_only_its_own_job(predictor: RecordingPredictor, xray) -> None:
    backend = LocalBackend(predictor, pool_threads=1, max_batch=3, wait_ms=10_000)
    predictor.sizes = []
    try:
        results = await asyncio.gather(
            backend.predict(xray),
            backend.predict(b"not an image"),
            backend.predict(xray),
            return_exceptions=True,
        )
    finally:
        await backend.close()

    assert predictor.sizes == [3]
    assert isinstance(results[1], InputError)
    assert [
        r.summary.findings_text
        for r in (results[0], results[2])
        if not isinstance(r, BaseException)
    ] == [results[0].summary.findings_text] * 2


async def test_a_lone_case_goes_after_the_wait(predictor: RecordingPredictor, xray) -> None:
    backend = LocalBackend(predictor, pool_threads=1, max_batch=8, wait_ms=1)
    predictor.sizes = []
    try:
        result = await backend.predict(xray)
    finally:
        await backend.close()
    assert predictor.sizes == [1] and result.summary.findings_text


@dataclass
class FakePrediction:
    """What ``to_result`` reads from a Prediction."""

    data: bytes
    mask_png: bytes = b"mask"
    overlay_png: bytes = b"overlay"

    def summary(self) -> PredictionSummary:
        return PredictionSummary(
            width=1,
            height=1,
            source_format="png",
            findings_text=self.data.decode(),
            zone_flags={},
            zone_probabilities={},
            laterality=None,
            lesion_burden_percent=None,
            model={"version": "test"},
        )


class GatedPredictor:
    """Holds each model call until the test releases it, so requests pile up meanwhile."""

    @dataclass
    class _Manifest:
        version: str = "test"

    def __init__(self) -> None:
        self.manifest = self._Manifest()
        self.calls: list[list[bytes]] = []
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)

    def predict_batch(self, items: list[bytes]) -> list[Any]:
        self.calls.append(items)
        self.entered.release()
        self.release.wait(30)
        return [FakePrediction(d) for d in items]


async def test_requests_gather_while_every_thread_is_busy_and_jobs_get_their_own() -> None:
    model = GatedPredictor()
    backend = LocalBackend(model, pool_threads=1, max_batch=4, wait_ms=0)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    first = asyncio.ensure_future(backend.predict(b"a"))
    await loop.run_in_executor(None, model.entered.acquire)  # "a" is in the model now
    rest = [asyncio.ensure_future(backend.predict(d)) for d in (b"b", b"c", b"d", b"e", b"f")]
    await asyncio.sleep(0)  # all five are waiting for the thread
    rest[1].cancel()  # a job that ends (e.g. timed out) before its batch leaves is skipped
    await asyncio.sleep(0)
    model.release.set()
    results = await asyncio.gather(first, *rest, return_exceptions=True)
    await backend.close()

    assert model.calls == [[b"a"], [b"b", b"d", b"e", b"f"]]
    assert [r.summary.findings_text for r in results if not isinstance(r, BaseException)] == [
        "a",
        "b",
        "d",
        "e",
        "f",
    ]
    assert isinstance(results[2], asyncio.CancelledError)


async def test_waiting_images_are_shared_among_free_threads() -> None:
    model = GatedPredictor()
    model.release.set()
    backend = LocalBackend(model, pool_threads=2, max_batch=8, wait_ms=0)  # type: ignore[arg-type]
    await asyncio.gather(*(backend.predict(bytes([65 + i])) for i in range(6)))
    await backend.close()
    # wait_ms=0: the first image leaves alone, then each free thread takes its share.
    assert sum(len(c) for c in model.calls) == 6 and max(len(c) for c in model.calls) <= 4


async def test_worker_with_batching_runs_queued_cases_to_done(
    kit, services: Services, xray_paths, new_case
) -> None:
    case_ids = [await new_case(p.read_bytes()) for p in xray_paths]
    for case_id in case_ids:
        await services.queue.enqueue_inference(case_id, services.manifest.version)

    worker = await kit.run_burst_worker(
        kit.settings_with(inference_max_batch=4, inference_batch_wait_ms=20)
    )

    assert (worker.jobs_complete, worker.jobs_failed) == (len(case_ids), 0)
    for case_id in case_ids:
        case = await kit.load_case(case_id)
        assert case.status == "done", case.error
        assert case.findings_text and case.model_version == services.manifest.version


def test_batching_settings_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("MEDSEGTEXT_INFERENCE_MAX_BATCH", "6")
    monkeypatch.setenv("MEDSEGTEXT_INFERENCE_BATCH_WAIT_MS", "3")
    s = load_settings()
    assert (s.inference_max_batch, s.inference_batch_wait_ms) == (6, 3)
