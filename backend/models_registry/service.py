"""Model version rules: register (from a server path or an upload, sha256 checked), activate
(exactly one active: the previous one goes back to registered), shadow, retire.

The worker asks this module which models to run: ``active_version`` (its result is shown) and
``shadow_versions`` (run too, stored under their version, never shown), and
``local_model_path`` for a file it can load. Services never commit; callers do.
"""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.admin import audit
from backend.admin.audit import AuditContext
from backend.models_registry import repository as repo
from backend.models_registry.checks import CheckedModel, check_bytes, check_files
from backend.models_registry.models import ModelVersion
from backend.platform.db import transaction, utcnow
from backend.platform.services import Services
from backend.settings import ROOT, Settings
from inference.manifest import manifest_path_for, sha256_of
from inference.model_files import DEFAULT_MODEL

MODEL_PREFIX = "models/"  # S3 keys of uploaded models: models/<version>/model.onnx


class RegistryConflict(ValueError):
    """The request clashes with the registry's state (duplicate version, wrong status)."""


async def active_version(session: AsyncSession) -> ModelVersion | None:
    """The version whose results are shown (None only before the shipped model is registered)."""
    rows = await repo.with_status(session, "active")
    return rows[0] if rows else None


async def shadow_versions(session: AsyncSession) -> list[ModelVersion]:
    """Versions to run beside the active one; their results are stored, never shown."""
    return await repo.with_status(session, "shadow")


def _audit_detail(mv: ModelVersion, **extra: object) -> dict[str, object]:
    return {"name": mv.name, "version": mv.version, "sha256": mv.sha256, **extra}


async def _refuse_duplicate(session: AsyncSession, version: str) -> None:
    existing = await repo.by_version(session, version)
    if existing is not None:
        raise RegistryConflict(
            f"Version {version} is already registered (model {existing.id}, {existing.name})."
        )


async def _add(
    session: AsyncSession,
    ctx: AuditContext | None,
    checked: CheckedModel,
    *,
    onnx_path: str | None = None,
    onnx_key: str | None = None,
    source: str,
) -> ModelVersion:
    await _refuse_duplicate(session, checked.version)
    mv = repo.add(
        session,
        ModelVersion(
            name=checked.name,
            version=checked.version,
            onnx_path=onnx_path,
            onnx_key=onnx_key,
            manifest=checked.manifest,
            sha256=checked.sha256,
            created_by=ctx.user_id if ctx else None,
        ),
    )
    await session.flush()
    audit.record(
        session, ctx, audit.MODEL_REGISTER, "model", mv.id, _audit_detail(mv, source=source)
    )
    return mv


async def register_path(
    session: AsyncSession, ctx: AuditContext | None, path: str, manifest_path: str | None = None
) -> ModelVersion:
    """Register an ONNX file that lives on the servers (the workers must see the same path)."""
    onnx = Path(path)
    checked = await anyio.to_thread.run_sync(
        check_files, onnx, Path(manifest_path) if manifest_path else None
    )
    return await _add(session, ctx, checked, onnx_path=str(onnx), source="path")


async def register_upload(
    session: AsyncSession,
    services: Services,
    ctx: AuditContext,
    onnx: bytes,
    manifest_raw: bytes,
    onnx_name: str,
) -> ModelVersion:
    """Register uploaded files: checked, then stored in S3 where every worker can fetch them."""
    checked = await anyio.to_thread.run_sync(check_bytes, onnx, manifest_raw, onnx_name)
    await _refuse_duplicate(session, checked.version)  # before anything is stored
    key = f"{MODEL_PREFIX}{checked.version}/model.onnx"
    await services.store.put(key, onnx, "application/octet-stream")
    await services.store.put(str(manifest_path_for(key)), manifest_raw, "application/json")
    return await _add(session, ctx, checked, onnx_key=key, source="upload")


async def activate(
    session: AsyncSession, ctx: AuditContext | None, mv: ModelVersion
) -> ModelVersion:
    """Make `mv` the one active version; the previous one becomes registered (ready to roll
    back to). Idempotent."""
    if mv.status == "active":
        return mv
    previous = await active_version(session)
    if previous is not None:
        previous.status = "registered"
        session.add(previous)
        await session.flush()  # the one-active index is checked per statement
    was = mv.status
    mv.status, mv.activated_at = "active", utcnow()
    mv.activated_by = ctx.user_id if ctx else None
    session.add(mv)
    await session.flush()
    audit.record(
        session,
        ctx,
        audit.MODEL_ACTIVATE,
        "model",
        mv.id,
        _audit_detail(mv, previous_status=was, replaced=previous.version if previous else None),
    )
    return mv


async def _set_idle_status(
    session: AsyncSession, ctx: AuditContext, mv: ModelVersion, status: str, action: str
) -> ModelVersion:
    if mv.status == "active":
        raise RegistryConflict(f"Version {mv.version} is active; activate another version first.")
    if mv.status != status:
        was = mv.status
        mv.status = status
        session.add(mv)
        await session.flush()
        audit.record(session, ctx, action, "model", mv.id, _audit_detail(mv, previous_status=was))
    return mv


async def set_shadow(session: AsyncSession, ctx: AuditContext, mv: ModelVersion) -> ModelVersion:
    return await _set_idle_status(session, ctx, mv, "shadow", audit.MODEL_SHADOW)


async def retire(session: AsyncSession, ctx: AuditContext, mv: ModelVersion) -> ModelVersion:
    return await _set_idle_status(session, ctx, mv, "retired", audit.MODEL_RETIRE)


def shipped_model_path(settings: Settings) -> Path:
    return Path(settings.model_path) if settings.model_path else DEFAULT_MODEL


async def ensure_shipped_model(session: AsyncSession, settings: Settings) -> ModelVersion:
    """Register the model this deployment ships (settings.model_path, else models/…onnx) and
    make it active if no version is. Idempotent; the caller commits."""
    path = shipped_model_path(settings)
    checked = await anyio.to_thread.run_sync(check_files, path.resolve(), None)
    mv = await repo.by_version(session, checked.version)
    if mv is None:
        mv = await _add(session, None, checked, onnx_path=str(path.resolve()), source="shipped")
    elif (
        mv.sha256 == checked.sha256
        and (use := checked.manifest.get("intended_use"))
        and (mv.manifest.get("intended_use") != use)
    ):
        # the same model file, registered before its manifest said what it was trained on
        mv.manifest = {**mv.manifest, "intended_use": use}
        session.add(mv)
    if await active_version(session) is None:
        await activate(session, None, mv)
    return mv


async def register_shipped_model(services: Services) -> ModelVersion:
    """ensure_shipped_model in its own transaction: what the API, the dev stack and the
    migrate task call on start."""
    async with transaction(services.sessions) as session:
        return await ensure_shipped_model(session, services.settings)


async def local_model_path(services: Services, mv: ModelVersion) -> Path:
    """A file the worker can load for `mv`: its server path, or its S3 copy fetched once into
    settings.model_cache_dir (re-fetched if the cached bytes do not match the sha256)."""
    if mv.onnx_path:
        return Path(mv.onnx_path)
    if not mv.onnx_key:
        raise ValueError(f"model {mv.id} has neither a path nor an S3 key")
    cache = Path(services.settings.model_cache_dir or ROOT / "var" / "models") / mv.version
    onnx = cache / "model.onnx"
    ok = onnx.is_file() and await anyio.to_thread.run_sync(sha256_of, onnx) == mv.sha256
    if not ok:
        data = await services.store.get(mv.onnx_key)
        manifest = await services.store.get(str(manifest_path_for(mv.onnx_key)))
        cache.mkdir(parents=True, exist_ok=True)
        await anyio.to_thread.run_sync(manifest_path_for(onnx).write_bytes, manifest)
        tmp = onnx.with_suffix(".part")
        await anyio.to_thread.run_sync(tmp.write_bytes, data)
        tmp.replace(onnx)  # atomic: a concurrent reader sees the old file or the whole new one
    return onnx
