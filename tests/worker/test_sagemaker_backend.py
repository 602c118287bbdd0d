"""The SageMaker backend through aioboto3's sagemaker-runtime client against the project's
SageMaker-compatible server (real HTTP on a free port, the shipped model inside)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import pytest_asyncio
import uvicorn

from backend.adapters.errors import DependencyUnavailable
from backend.inference_backends.factory import make_backend
from backend.inference_backends.sagemaker import SageMakerBackend
from backend.platform.embedded import free_port
from backend.platform.services import Services
from backend.sagemaker_server import create_server
from inference.errors import InputError


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_server(device="cpu"), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, name="sagemaker-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest_asyncio.fixture(loop_scope="session")
async def sagemaker(kit, server_url: str):
    backend = await make_backend(
        kit.settings_with(inference_backend="sagemaker", sagemaker_endpoint_url=server_url)
    )
    assert isinstance(backend, SageMakerBackend)
    yield backend
    await backend.close()


def test_container_contract(server_url: str, xray: bytes) -> None:
    assert httpx.get(f"{server_url}/ping").status_code == 200
    ok = httpx.post(
        f"{server_url}/invocations", content=xray, headers={"Content-Type": "image/png"}
    )
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/json")
    body = ok.json()
    assert body["findings_text"] and body["mask_png_b64"] and body["overlay_png_b64"]
    bad = httpx.post(f"{server_url}/invocations", content=b"plain text, not an image")
    assert bad.status_code == 415 and bad.json()["code"] == "unsupported_format"
    truncated = httpx.post(f"{server_url}/invocations", content=xray[:300])
    assert truncated.status_code == 400 and truncated.json()["message"]


async def test_real_xray_gives_findings(
    sagemaker: SageMakerBackend, services: Services, xray: bytes
) -> None:
    result = await sagemaker.predict(xray)
    assert "lung" in result.summary.findings_text
    assert result.mask_png.startswith(b"\x89PNG") and result.overlay_png.startswith(b"\x89PNG")
    assert result.model_version == services.manifest.version == sagemaker.model_version


async def test_bad_file_fails_with_reason(sagemaker: SageMakerBackend, xray: bytes) -> None:
    with pytest.raises(InputError) as err:
        await sagemaker.predict(xray[:300])
    assert err.value.code == "corrupt" and "truncated" in err.value.message


async def test_unreachable_endpoint_is_a_dependency_error(kit, xray: bytes) -> None:
    backend = await make_backend(
        kit.settings_with(
            inference_backend="sagemaker", sagemaker_endpoint_url=f"http://127.0.0.1:{free_port()}"
        )
    )
    try:
        with pytest.raises(DependencyUnavailable, match="inference service unavailable"):
            await backend.predict(xray)
    finally:
        await backend.close()


async def test_job_through_sagemaker(
    kit, services: Services, server_url: str, xray: bytes, new_case
) -> None:
    good = await new_case(xray)
    bad = await new_case(b"GIF89a not a chest radiograph")
    for case_id in (good, bad):
        await services.queue.enqueue_inference(case_id, services.manifest.version)

    worker = await kit.run_burst_worker(
        kit.settings_with(inference_backend="sagemaker", sagemaker_endpoint_url=server_url)
    )

    assert worker.jobs_retried == 0
    done = await kit.load_case(good)
    assert done.status == "done" and done.findings_text and "lung" in done.findings_text
    assert await services.predictions.get(good, services.manifest.version) is not None
    failed = await kit.load_case(bad)
    assert failed.status == "failed" and failed.attempts == 1
    assert failed.error and "GIF" in failed.error


async def test_scope_gate_and_its_override_cross_the_wire(
    sagemaker: SageMakerBackend, xray: bytes
) -> None:
    """A lateral DICOM is refused with its reason and empty PNGs; the reviewer's override
    (CustomAttributes scope-check=off) gets it analysed."""
    import numpy as np
    from PIL import Image

    from tests.inference.test_decode import dicom_bytes, make_dicom

    pixels = np.asarray(Image.open(io.BytesIO(xray)).convert("L"))
    lateral = dicom_bytes(make_dicom(pixels, ViewPosition="LL"))
    refused = await sagemaker.predict(lateral)
    assert not refused.in_scope and "lateral" in refused.summary.scope_reason
    assert refused.mask_png == b"" and refused.summary.findings_text is None
    forced = await sagemaker.predict(lateral, check_scope=False)
    assert forced.in_scope and forced.mask_png.startswith(b"\x89PNG")
    assert forced.summary.findings_text
