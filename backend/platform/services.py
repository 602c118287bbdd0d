"""The process's long-lived clients, built from Settings on startup (API lifespan, worker
on_startup) and closed on shutdown. Nothing here is created at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.adapters.predictions import PredictionStore
from backend.adapters.queue import JobQueue
from backend.adapters.storage import ObjectStore
from backend.platform.artifact_cache import ArtifactCache
from backend.platform.db import make_engine, make_sessionmaker
from backend.settings import Settings
from inference.manifest import Manifest, manifest_path_for
from inference.model_files import DEFAULT_MODEL


@lru_cache(maxsize=4)
def model_manifest(model_path: str | None) -> Manifest:
    """The active model's manifest (JSON only: the API never loads the ONNX file)."""
    return Manifest.load(manifest_path_for(Path(model_path) if model_path else DEFAULT_MODEL))


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    store: ObjectStore
    predictions: PredictionStore
    queue: JobQueue
    artifacts: ArtifactCache = field(default_factory=ArtifactCache)  # API: case images' bytes

    @property
    def manifest(self) -> Manifest:
        return model_manifest(self.settings.model_path)

    @classmethod
    async def start(cls, settings: Settings) -> Services:
        engine = make_engine(settings)
        store, predictions, queue = (
            ObjectStore(settings),
            PredictionStore(settings),
            JobQueue(settings),
        )
        await store.start()
        await predictions.start()
        await queue.start()
        return cls(settings, engine, make_sessionmaker(engine), store, predictions, queue)

    async def close(self) -> None:
        await self.queue.close()
        await self.predictions.close()
        await self.store.close()
        await self.engine.dispose()
