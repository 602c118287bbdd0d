"""Prediction records in DynamoDB (moto): items written by earlier versions still read, and the
typed record writes the same item the job's dict used to (same keys, same values)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest_asyncio

from backend.adapters.aws import aws_session, client_config
from backend.adapters.predictions import PredictionRecord
from backend.platform.services import Services
from backend.settings import Settings
from inference.result import PredictionSummary

# An item as the first worker (commit 8e8e4c4) wrote it: no presence, scope or shadow fields,
# numbers as DynamoDB keeps them.
OLD_ITEM: dict[str, Any] = {
    "case_id": "old-format-case",
    "model_version": "1.0.0",
    "model_name": "medsegtext-segfind",
    "model": {"name": "medsegtext-segfind", "version": "1.0.0", "sha256": "ab" * 32},
    "findings_text": "Opacity in the right lower zone.",
    "zone_probabilities": {"right_lower": Decimal("0.91"), "left_upper": Decimal("0")},
    "zone_flags": {"right_lower": True, "left_upper": False},
    "laterality": "right",
    "lesion_burden_percent": Decimal("3.5"),
    "width": Decimal("1024"),
    "height": Decimal("1024"),
    "source_format": "png",
    "image_key": "cases/old/image.png",
    "mask_key": "cases/old/1.0.0/mask.png",
    "overlay_key": "cases/old/1.0.0/overlay.png",
    "timings_ms": {"model": Decimal("120.5"), "job": Decimal("300")},
    "created_at": "2026-01-05T10:00:00+00:00",
}
ITEM_KEYS = {
    "case_id",
    "model_version",
    "model_name",
    "model",
    "findings_text",
    "zone_probabilities",
    "zone_flags",
    "laterality",
    "lesion_burden_percent",
    "lesion_present",
    "lesion_probability",
    "in_scope",
    "scope_reason",
    "width",
    "height",
    "source_format",
    "image_key",
    "mask_key",
    "overlay_key",
    "timings_ms",
    "created_at",
}


@pytest_asyncio.fixture
async def table(settings: Settings, services: Services) -> AsyncIterator[Any]:
    """The records table, straight through boto (what an earlier version's worker did)."""
    async with aws_session(settings).resource(
        "dynamodb", endpoint_url=settings.dynamodb_endpoint_url, config=client_config(settings)
    ) as resource:
        yield await resource.Table(services.predictions.table_name)


async def test_an_old_format_record_reads_as_a_typed_record(table: Any, services: Services) -> None:
    await table.put_item(Item=OLD_ITEM)
    record = await services.predictions.get("old-format-case", "1.0.0")
    assert record is not None
    s = record.summary
    assert (s.findings_text, s.laterality, s.width, s.height) == (
        "Opacity in the right lower zone.",
        "right",
        1024,
        1024,
    )
    assert s.zone_probabilities == {"right_lower": 0.91, "left_upper": 0.0}
    assert s.zone_flags == {"right_lower": True, "left_upper": False}
    assert s.lesion_burden_percent == 3.5 and s.timings_ms == {"model": 120.5, "job": 300.0}
    # fields that did not exist then: unknown presence, in scope (the gate came later)
    assert (s.lesion_present, s.lesion_probability, s.in_scope, s.scope_reason) == (
        None,
        None,
        True,
        None,
    )
    assert s.model_version == "1.0.0" and record.shadow is False
    assert record.mask_key == "cases/old/1.0.0/mask.png"
    assert [r.model_version for r in await services.predictions.for_case("old-format-case")] == [
        "1.0.0"
    ]


async def test_a_record_is_stored_with_the_keys_it_always_had(
    table: Any, services: Services
) -> None:
    summary = PredictionSummary(
        width=512,
        height=480,
        source_format="dicom",
        findings_text=None,
        zone_flags={},
        zone_probabilities={},
        laterality=None,
        lesion_burden_percent=None,
        model={"name": "m", "version": "2.0.0", "sha256": "cd" * 32},
        timings_ms={"job": 1.5},
        in_scope=False,
        scope_reason="a lateral view",
    )
    record = PredictionRecord(
        "typed-case", "2.0.0", summary, "cases/t/image.dcm", "", "", "2026-02-01T00:00:00+00:00"
    )
    await services.predictions.put(record)
    item = (await table.get_item(Key={"case_id": "typed-case", "model_version": "2.0.0"}))["Item"]
    assert set(item) == ITEM_KEYS
    assert (item["in_scope"], item["scope_reason"], item["model_name"]) == (
        False,
        "a lateral view",
        "m",
    )
    assert await services.predictions.get("typed-case", "2.0.0") == record

    await services.predictions.put(PredictionRecord("typed-case", "2.1.0", summary, shadow=True))
    item = (await table.get_item(Key={"case_id": "typed-case", "model_version": "2.1.0"}))["Item"]
    assert set(item) == ITEM_KEYS | {"shadow"} and item["shadow"] is True
