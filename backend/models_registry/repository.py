"""All SQL for model versions."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models_registry.models import ModelVersion


async def get(session: AsyncSession, version_id: int) -> ModelVersion | None:
    return await session.get(ModelVersion, version_id)


async def by_version(session: AsyncSession, version: str) -> ModelVersion | None:
    return (await session.exec(select(ModelVersion).where(ModelVersion.version == version))).first()


async def by_versions(session: AsyncSession, versions: list[str]) -> dict[str, ModelVersion]:
    if not versions:
        return {}
    stmt = select(ModelVersion).where(col(ModelVersion.version).in_(versions))
    return {m.version: m for m in (await session.exec(stmt)).all()}


async def with_status(session: AsyncSession, status: str) -> list[ModelVersion]:
    stmt = select(ModelVersion).where(ModelVersion.status == status).order_by(col(ModelVersion.id))
    return list((await session.exec(stmt)).all())


async def list_all(session: AsyncSession) -> list[ModelVersion]:
    stmt = select(ModelVersion).order_by(
        col(ModelVersion.created_at).desc(), col(ModelVersion.id).desc()
    )
    return list((await session.exec(stmt)).all())


def add(session: AsyncSession, mv: ModelVersion) -> ModelVersion:
    session.add(mv)
    return mv
