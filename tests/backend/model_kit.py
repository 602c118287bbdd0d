"""Helpers for tests that need real model results: upload through the API, then run the shipped
model on the stored image and record the result the way the worker does (S3 keys per version,
a DynamoDB prediction record, the case row)."""

from __future__ import annotations

import asyncio
import re
import zlib
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from backend.adapters.predictions import PredictionRecord
from backend.cases.models import Case
from backend.models_registry import repository as registry
from backend.platform.db import transaction, utcnow
from inference.pipeline import Predictor
from tests.backend.backend_testkit import Stack, upload_files

QATA_IMAGES = (
    "covid_1.png",
    "covid_100.png",
    "covid_1000.png",
    "covid_1001.png",
    "covid_1002.png",
    "covid_1007.png",
    "covid_1008.png",
    "covid_1009.png",
    "covid_101.png",
    "covid_1010.png",
    "covid_1011.png",
    "covid_1014.png",
    "covid_1015.png",
    "covid_1016.png",
    "covid_1018.png",
    "covid_1020.png",
)


@lru_cache(maxsize=1)
def predictor() -> Predictor:
    return Predictor(device="cpu", threads=1)


async def upload(
    stack: Stack, headers: dict[str, str], data: bytes, filename: str = "x.png", **form: str
) -> str:
    r = await stack.client.post(
        "/api/cases", headers=headers, files=upload_files(data, filename), data=form or None
    )
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


async def run_model(stack: Stack, case_id: str) -> Case:
    """Act as the worker with the real model."""
    services = stack.services
    case = await stack.get_case(case_id)
    assert case is not None
    image = await services.store.get(case.image_key)
    p = await asyncio.to_thread(predictor().predict, image)
    version = p.model["version"]
    mask_key = services.store.key(case_id, f"{version}/mask.png")
    overlay_key = services.store.key(case_id, f"{version}/overlay.png")
    await services.store.put(mask_key, p.mask_png, "image/png")
    await services.store.put(overlay_key, p.overlay_png, "image/png")
    await services.predictions.put(
        PredictionRecord(
            case_id,
            version,
            replace(p.summary(), timings_ms={}),
            case.image_key,
            mask_key,
            overlay_key,
        )
    )
    async with transaction(services.sessions) as db:
        row = await db.get(Case, case_id)
        assert row is not None
        mv = await registry.by_version(db, version)
        row.status, row.mask_key, row.overlay_key = "done", mask_key, overlay_key
        row.findings_text, row.zone_flags = p.findings_text, p.zone_flags
        row.zone_probabilities, row.laterality = p.zone_probabilities, p.laterality
        row.lesion_burden_percent = p.lesion_burden_percent
        row.model_name, row.model_version = p.model["name"], version
        row.model_version_id = mv.id if mv else None
        row.finished_at = row.updated_at = utcnow()
        db.add(row)
    done = await stack.get_case(case_id)
    assert done is not None
    return done


async def review(
    stack: Stack, headers: dict[str, str], case_id: str, **body: Any
) -> dict[str, Any]:
    r = await stack.client.post(f"/api/cases/{case_id}/review", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def qata(shared_data: Path, name: str) -> bytes:
    return (shared_data / "qata-cov19" / "images" / name).read_bytes()


def pdf_text(pdf: bytes) -> str:
    """The text drawing operators of a PDF's (Flate-compressed) content streams, joined."""
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out.append(zlib.decompress(m.group(1)).decode("latin-1"))
        except zlib.error:
            out.append(m.group(1).decode("latin-1"))
    return "\n".join(out)


_TJ = re.compile(r"\(((?:\\.|[^\\)])*)\) Tj")


def pdf_words(pdf: bytes) -> str:
    """The PDF's shown text in page order, its lines joined by spaces and its string escapes
    undone: what a reader sees, so the order of two passages can be compared."""
    shown = [re.sub(r"\\(.)", r"\1", m.group(1)) for m in _TJ.finditer(pdf_text(pdf))]
    return " ".join(shown)
