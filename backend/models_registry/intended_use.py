"""The intended-use notice every results page of the portal shows: decision support only, and
what the active model was and was not trained on.

The facts come from the active model's manifest (`intended_use`: `trained_on`,
`not_trained_on`), written by whoever trained it. A manifest without them (an older or foreign
model) gets a default that claims no more than its manifest says: the `training.data` it names
and how many films, and that nothing is known of what it was not trained on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models_registry.models import ModelVersion
from backend.models_registry.service import active_version

NOTICE = "Decision support only — not a diagnosis; a clinician must review every result."
UNKNOWN_TRAINING = "Not stated in this model's manifest."
UNKNOWN_LIMITS = (
    "Not stated in this model's manifest: treat any film unlike its training "
    "data as outside its intended use."
)


@dataclass
class IntendedUseOut:
    notice: str  # the same for every model: what the results are, and who decides
    trained_on: str  # what the model learnt from
    not_trained_on: str  # what it never saw: its results there are not to be relied on
    model: str | None  # "medsegtext-segfind 1.1.0"; None when no model is active
    source: str  # "manifest" (written by its trainer) or "default" (derived, see above)


def _text(value: Any) -> str:
    return " ".join(str(value).split())[:600] if isinstance(value, str) else ""


def _default_trained_on(training: Any) -> str:
    data = _text(training.get("data")) if isinstance(training, dict) else ""
    films = training.get("train_images") if isinstance(training, dict) else None
    if not data:
        return UNKNOWN_TRAINING
    return f"{data}, {films:,} training films." if isinstance(films, int) else f"{data}."


def intended_use_of(mv: ModelVersion | None) -> IntendedUseOut:
    if mv is None:
        return IntendedUseOut(NOTICE, UNKNOWN_TRAINING, UNKNOWN_LIMITS, None, "default")
    manifest = mv.manifest if isinstance(mv.manifest, dict) else {}
    given = manifest.get("intended_use")
    given = given if isinstance(given, dict) else {}
    trained_on, limits = _text(given.get("trained_on")), _text(given.get("not_trained_on"))
    return IntendedUseOut(
        NOTICE,
        trained_on or _default_trained_on(manifest.get("training")),
        limits or UNKNOWN_LIMITS,
        f"{mv.name} {mv.version}",
        "manifest" if trained_on and limits else "default",
    )


async def current(session: AsyncSession) -> IntendedUseOut:
    """The notice for the model whose results are shown now (the active version)."""
    return intended_use_of(await active_version(session))
