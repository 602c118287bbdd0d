"""/api/admin/models: register, list, activate, shadow, retire and score model versions
(admin role only; every change is audited). /api/intended-use: the active model's intended-use
notice, for every signed-in user."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import JSONBody, MultipartBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.errors import Conflict
from backend.http.deps import Ctx, Db, Svc
from backend.http.guards import ADMINS
from backend.http.openapi import refuses
from backend.http.params import PathId
from backend.models_registry import intended_use, service
from backend.models_registry import repository as repo
from backend.models_registry.agreement import Agreement, version_agreement
from backend.models_registry.checks import ModelCheckError
from backend.models_registry.intended_use import IntendedUseOut
from backend.models_registry.models import ModelVersion
from backend.models_registry.schemas import ModelVersionOut, RegisterPathIn


@dataclass
class ModelUploadForm:
    """multipart/form-data: the ONNX file and its manifest JSON."""

    onnx: UploadFile
    manifest: UploadFile


async def _get(db: AsyncSession, model_id: int) -> ModelVersion:
    mv = await repo.get(db, model_id)
    if mv is None:
        raise NotFoundException(f"No model version {model_id}.")
    return mv


def _refuse(e: Exception) -> Exception:
    if isinstance(e, service.RegistryConflict):
        return Conflict(str(e))
    return ValidationException(str(e))


class ModelsController(Controller):
    path = "/api/admin/models"
    tags = ("admin", "models")
    guards = (ADMINS,)

    @get("/")
    async def list_models(self, db: Db) -> list[ModelVersionOut]:
        """List model versions.

        Every registered version, newest first, with its status (registered, active, shadow
        or retired), manifest and checksum."""
        return [ModelVersionOut.of(m) for m in await repo.list_all(db)]

    @post("/", status_code=HTTP_201_CREATED, responses=refuses(409))
    async def register_path(
        self, data: JSONBody[RegisterPathIn], db: Db, ctx: Ctx
    ) -> ModelVersionOut:
        """Register a model from files on the servers.

        The ONNX file and its manifest are read from paths on the servers and the file's
        sha256 is checked against the manifest (201, audited). 400 if the files are missing
        or do not match; 409 if the version is already registered."""
        try:
            mv = await service.register_path(db, ctx, data.path, data.manifest_path)
        except (ModelCheckError, service.RegistryConflict) as e:
            raise _refuse(e) from None
        return ModelVersionOut.of(mv)

    @post("/upload", status_code=HTTP_201_CREATED, responses=refuses(409))
    async def register_upload(
        self, data: MultipartBody[ModelUploadForm], db: Db, services: Svc, ctx: Ctx
    ) -> ModelVersionOut:
        """Register an uploaded model.

        Multipart fields `onnx` and `manifest`; the sha256 is checked against the manifest and
        the file stored in S3, so every worker can fetch it (201, audited). 400 if they do
        not match; 409 if the version is already registered."""
        try:
            onnx, manifest = await data.onnx.read(), await data.manifest.read()
        finally:
            await data.onnx.close()
            await data.manifest.close()
        try:
            mv = await service.register_upload(
                db, services, ctx, onnx, manifest, data.onnx.filename or "onnx"
            )
        except (ModelCheckError, service.RegistryConflict) as e:
            raise _refuse(e) from None
        return ModelVersionOut.of(mv)

    @get("/{model_id:int}")
    async def get_model(self, model_id: PathId, db: Db) -> ModelVersionOut:
        """Get one model version.

        Its status, manifest, checksum and where it is stored; 404 for an unknown id."""
        return ModelVersionOut.of(await _get(db, model_id))

    @post("/{model_id:int}/activate", status_code=HTTP_200_OK, responses=refuses(409))
    async def activate(self, model_id: PathId, db: Db, ctx: Ctx) -> ModelVersionOut:
        """Activate a model version.

        Every new case is analysed with this version; the previous active one becomes
        registered (audited). 409 if another activation committed meanwhile (reload and
        retry)."""
        mv = await _get(db, model_id)
        try:
            return ModelVersionOut.of(await service.activate(db, ctx, mv))
        except IntegrityError:  # the one-active index: a concurrent activation won
            raise Conflict(
                "Another model version was activated at the same time; reload and retry."
            ) from None

    @post("/{model_id:int}/shadow", status_code=HTTP_200_OK, responses=refuses(409))
    async def shadow(self, model_id: PathId, db: Db, ctx: Ctx) -> ModelVersionOut:
        """Run a model version in shadow.

        The version runs beside the active one; its results are stored for the agreement
        statistics, never shown (audited). 409 for the active version."""
        try:
            mv = await service.set_shadow(db, ctx, await _get(db, model_id))
        except service.RegistryConflict as e:
            raise _refuse(e) from None
        return ModelVersionOut.of(mv)

    @post("/{model_id:int}/retire", status_code=HTTP_200_OK, responses=refuses(409))
    async def retire(self, model_id: PathId, db: Db, ctx: Ctx) -> ModelVersionOut:
        """Retire a model version.

        The version stops running anywhere, as main or shadow (audited). 409 for the active
        version: activate another one first."""
        try:
            mv = await service.retire(db, ctx, await _get(db, model_id))
        except service.RegistryConflict as e:
            raise _refuse(e) from None
        return ModelVersionOut.of(mv)

    @get("/{model_id:int}/agreement")
    async def agreement(self, model_id: PathId, db: Db, services: Svc) -> Agreement:
        """A model version's agreement with the reviewers.

        The share of its shown results accepted unedited, and the zone F1 of its flags against
        the reviewers' (shown and shadow results); 404 for an unknown id."""
        return await version_agreement(db, services, await _get(db, model_id))


class IntendedUseController(Controller):
    path = "/api/intended-use"
    tags = ("models",)

    @get("/")
    async def intended_use_notice(self, db: Db) -> IntendedUseOut:
        """Read the intended-use notice.

        The decision-support notice and what the active model was and was not trained on,
        from its manifest's `intended_use` (`source: default` when the manifest does not
        say). The portal shows it on every results page."""
        return await intended_use.current(db)


CONTROLLERS = [ModelsController, IntendedUseController]
