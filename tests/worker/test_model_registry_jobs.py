"""The job follows the model registry: the active version produces the shown result and is
recorded on the case; shadow versions run too, stored under their own version, never shown."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.cases.jobs import result_keys, run_inference
from backend.models_registry import service as registry
from backend.models_registry.models import ModelVersion
from backend.models_registry.runtime import close_models
from backend.platform.db import transaction
from backend.platform.services import Services
from inference.model_files import DEFAULT_MODEL


async def _row(db: AsyncSession, model_id: int | None) -> ModelVersion:
    row = await db.get(ModelVersion, model_id)
    assert row is not None
    return row


def _candidate(folder: Path, version: str) -> Path:
    """The shipped weights under another version (the registry only checks the sha256)."""
    onnx = folder / f"candidate-{version}.onnx"
    shutil.copyfile(DEFAULT_MODEL, onnx)
    manifest = json.loads(
        DEFAULT_MODEL.with_name(DEFAULT_MODEL.stem + ".manifest.json").read_text()
    )
    onnx.with_name(onnx.stem + ".manifest.json").write_text(
        json.dumps({**manifest, "version": version})
    )
    return onnx


async def test_active_and_shadow_versions(
    kit, services: Services, local_backend, xray: bytes, new_case, tmp_path: Path
) -> None:
    async with transaction(services.sessions) as db:
        shipped = await registry.ensure_shipped_model(db, services.settings)
        candidate = await registry.register_path(db, None, str(_candidate(tmp_path, "9.1.0")))
        await registry.set_shadow(db, None, candidate)  # type: ignore[arg-type]
    ctx = {"services": services, "backend": local_backend, "job_try": 1}
    try:
        case_id = await new_case(xray)
        assert await run_inference(ctx, case_id) == "done"
        case = await kit.load_case(case_id)
        assert case.model_version == shipped.version and case.model_version_id == shipped.id
        shadow = await services.predictions.get(case_id, "9.1.0")
        assert shadow is not None and shadow.shadow is True
        assert shadow.summary.zone_flags == case.zone_flags  # same weights, same answer
        assert shadow.mask_key == result_keys(services, case_id, "9.1.0")[0]
        assert case.mask_key == result_keys(services, case_id, shipped.version)[0]

        async with transaction(services.sessions) as db:
            await registry.activate(db, None, await _row(db, candidate.id))
        second = await new_case(xray)
        assert await run_inference(ctx, second) == "done"
        case = await kit.load_case(second)
        assert case.model_version == "9.1.0" and case.model_version_id == candidate.id
        assert await services.predictions.get(second, shipped.version) is None  # not shadow
    finally:
        async with transaction(services.sessions) as db:
            await registry.activate(db, None, await _row(db, shipped.id))
            await registry.retire(db, None, await _row(db, candidate.id))  # type: ignore[arg-type]
        await close_models(ctx)
