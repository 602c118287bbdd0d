"""GET /api/intended-use: the notice every results page shows, from the active model's
manifest, with a default that claims no more than a manifest says."""

from __future__ import annotations

from sqlmodel import select

from backend.models_registry.intended_use import (
    NOTICE,
    UNKNOWN_LIMITS,
    UNKNOWN_TRAINING,
    intended_use_of,
)
from backend.models_registry.models import ModelVersion
from backend.models_registry.service import active_version, ensure_shipped_model
from backend.platform.db import transaction
from inference.manifest import Manifest, manifest_path_for
from tests.backend.backend_testkit import Stack


async def test_every_signed_in_user_reads_the_active_models_notice(
    stack: Stack, clinician, reviewer
) -> None:
    async with transaction(stack.services.sessions) as db:
        active = await active_version(db)
    assert active is not None and active.onnx_path
    shipped = Manifest.load(manifest_path_for(active.onnx_path)).intended_use
    assert "QaTa-COV19" in shipped["trained_on"] and "lateral views" in shipped["not_trained_on"]
    for headers in (clinician[1], reviewer[1]):
        r = await stack.client.get("/api/intended-use", headers=headers)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "notice": NOTICE,
            "trained_on": shipped["trained_on"],
            "not_trained_on": shipped["not_trained_on"],
            "model": f"{active.name} {active.version}",
            "source": "manifest",
        }
    assert (await stack.client.get("/api/intended-use")).status_code == 401


def test_a_manifest_without_intended_use_gets_a_default_from_its_training_data() -> None:
    mv = ModelVersion(
        name="other",
        version="2.0",
        sha256="0" * 64,
        status="active",
        manifest={"training": {"data": "Some chest films", "train_images": 1200}},
    )
    out = intended_use_of(mv)
    assert (out.trained_on, out.not_trained_on) == (
        "Some chest films, 1,200 training films.",
        UNKNOWN_LIMITS,
    )
    assert (out.source, out.model, out.notice) == ("default", "other 2.0", NOTICE)
    bare = intended_use_of(ModelVersion(name="x", version="1", sha256="0" * 64, manifest={}))
    assert bare.trained_on == UNKNOWN_TRAINING and bare.source == "default"
    assert intended_use_of(None).model is None


async def test_the_shipped_model_registered_earlier_gains_its_intended_use(stack: Stack) -> None:
    """A database that registered the shipped model before manifests said what it was trained
    on gets the words on the next start (same file, same sha256)."""
    async with transaction(stack.services.sessions) as db:
        mv = (await db.exec(select(ModelVersion).where(ModelVersion.status == "active"))).one()
        given = mv.manifest["intended_use"]
        mv.manifest = {k: v for k, v in mv.manifest.items() if k != "intended_use"}
        db.add(mv)
    async with transaction(stack.services.sessions) as db:
        assert intended_use_of(await active_version(db)).source == "default"
        await ensure_shipped_model(db, stack.settings)
    async with transaction(stack.services.sessions) as db:
        assert (await active_version(db)).manifest["intended_use"] == given  # type: ignore[union-attr]
