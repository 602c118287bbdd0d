"""The SageMaker path for real: the model server image run the way SageMaker runs it (`<image>
serve`, port 8080, GET /ping and POST /invocations, the model SageMaker unpacks from
model.tar.gz under /opt/ml/model), and compose's worker-sagemaker (the CPU worker image with
MEDSEGTEXT_INFERENCE_BACKEND=sagemaker) sending cases to it through the sagemaker-runtime API
(aioboto3's InvokeEndpoint with its endpoint URL pointed at the container). The local worker is
stopped meanwhile, so every case of the test goes that way."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import httpx
import pytest

from tests.containers.compose_stack import ROOT, ComposeStack, wait_done

pytestmark = pytest.mark.timeout(1800)


def unpacked_model(tmp: Path) -> Path:
    """`python -m deploy.sagemaker package`'s model.tar.gz, unpacked as SageMaker does."""
    subprocess.run(
        [sys.executable, "-m", "deploy.sagemaker", "package", "--out", str(tmp)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    model = tmp / "model"
    with tarfile.open(tmp / "model.tar.gz") as archive:
        archive.extractall(model, filter="data")
    for path in (model, *model.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)  # the container's user is not root
    return model


def test_cases_through_the_sagemaker_container(
    compose_stack: ComposeStack, shared_data, tmp_path: Path
) -> None:
    model = unpacked_model(tmp_path)
    assert sorted(p.suffix for p in model.iterdir()) == [".json", ".onnx"]
    override = tmp_path / "sagemaker-model.yaml"
    override.write_text(
        f"services:\n  sagemaker:\n    volumes:\n      - {model}:/opt/ml/model:ro\n"
    )
    stack = compose_stack
    stack.extra_files.append(override)
    stack.env["COMPOSE_PROFILES"] = "sagemaker"
    try:
        stack.compose("up", "-d", "--no-build", "sagemaker", "worker-sagemaker")
        print(f"model server healthy in {stack.wait_healthy('sagemaker'):.0f} s")
        served = stack.logs("sagemaker")
        assert "loaded from /opt/ml/model/" in served, served
        stack.compose("stop", "worker")
        clinician = stack.headers("clinician")
        film = shared_data / "qata-cov19" / "images" / "covid_11.png"
        with httpx.Client(base_url=stack.api_url, timeout=30, headers=clinician) as api:
            r = api.post(
                "/api/cases",
                files={"file": (film.name, film.read_bytes(), "image/png")},
                data={"patient_ref": "SAGEMAKER-1"},
            )
            assert r.status_code == 202, r.text
            case = wait_done(api, r.json()["id"], clinician, 300)
        assert case["status"] == "done" and case["findings_text"], case
        calls = stack.logs("sagemaker").count("POST /endpoints/medsegtext/invocations")
        assert calls >= 1, stack.logs("sagemaker")
    finally:
        stack.compose("rm", "-s", "-f", "sagemaker", "worker-sagemaker")
        stack.extra_files.remove(override)
        del stack.env["COMPOSE_PROFILES"]
        stack.compose("start", "worker")
