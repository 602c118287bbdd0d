"""Search the PACS and import a study: the checks around the DIMSE calls, and the audit.

What a search and an import leave in the audit log: which criteria were used (their names, not
their values) and how many studies came back; for an import, the SHA-256 of the Study Instance
UID (its first 32 hex digits, as the object id) and the counts. The database keeps no
patient identifier outside the sealed identity map (backend.identity_map), and the audit log is
no exception.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import date

from pydicom.dataset import Dataset
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.principal import RequestCtx
from backend.admin import audit
from backend.pacs_query import scu
from backend.settings import Settings

MAX_STUDIES = 100  # a search answers at most this many (and says when there were more)


class NotConfigured(RuntimeError):
    """No PACS is configured (MEDSEGTEXT_PACS_AE_TITLE is empty)."""

    def __init__(self) -> None:
        super().__init__(
            "No PACS is configured: set MEDSEGTEXT_PACS_AE_TITLE, "
            "MEDSEGTEXT_PACS_HOST and MEDSEGTEXT_PACS_PORT."
        )


@dataclass(frozen=True)
class Criteria:
    """What a reviewer searches by; at least one is needed (a PACS holds every patient)."""

    patient_id: str | None = None
    accession_number: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def keys(self) -> dict[str, str]:
        """The C-FIND matching keys (exact values; a date range in DICOM's from-to form)."""
        keys = {}
        if self.patient_id:
            keys["PatientID"] = self.patient_id
        if self.accession_number:
            keys["AccessionNumber"] = self.accession_number
        if self.date_from or self.date_to:
            keys["StudyDate"] = "-".join(
                d.strftime("%Y%m%d") if d else "" for d in (self.date_from, self.date_to)
            )
        return keys

    def used(self) -> list[str]:
        return [
            name
            for name in ("patient_id", "accession_number", "date_from", "date_to")
            if getattr(self, name)
        ]


@dataclass(frozen=True)
class Study:
    """One study as the PACS describes it."""

    study_instance_uid: str
    patient_id: str
    accession_number: str
    study_date: date | None
    study_description: str
    modalities: list[str]
    instances: int | None

    @classmethod
    def of(cls, ds: Dataset) -> Study:
        raw_date = str(ds.get("StudyDate", "") or "")
        try:
            when = date(int(raw_date[:4]), int(raw_date[4:6]), int(raw_date[6:8]))
        except ValueError:
            when = None
        modalities = ds.get("ModalitiesInStudy", "") or []
        count = str(ds.get("NumberOfStudyRelatedInstances", "") or "")
        return cls(
            str(ds.get("StudyInstanceUID", "")),
            str(ds.get("PatientID", "") or ""),
            str(ds.get("AccessionNumber", "") or ""),
            when,
            str(ds.get("StudyDescription", "") or ""),
            [str(m) for m in ([modalities] if isinstance(modalities, str) else modalities)],
            int(count) if count.isdigit() else None,
        )


def _configured(settings: Settings) -> None:
    if not settings.pacs_ae_title:
        raise NotConfigured()


async def search(
    db: AsyncSession, settings: Settings, ctx: RequestCtx, criteria: Criteria
) -> tuple[list[Study], bool]:
    """The matching studies, newest first, and whether the PACS had more than MAX_STUDIES."""
    _configured(settings)
    found, more = await asyncio.to_thread(scu.find_studies, settings, criteria.keys(), MAX_STUDIES)
    studies = sorted(
        (Study.of(ds) for ds in found),
        reverse=True,
        key=lambda s: (s.study_date or date.min, s.study_instance_uid),
    )
    audit.record(
        db,
        ctx,
        audit.PACS_QUERY,
        detail={"by": criteria.used(), "found": len(studies), "more": more},
    )
    return studies, more


async def import_study(
    db: AsyncSession, settings: Settings, ctx: RequestCtx, study_uid: str
) -> scu.Moved:
    """Have the PACS send the study's radiographs to the node, which makes a case of each
    frontal film."""
    _configured(settings)
    moved = await asyncio.to_thread(scu.move_study, settings, study_uid)
    audit.record(
        db,
        ctx,
        audit.PACS_IMPORT,
        "pacs_study",
        hashlib.sha256(study_uid.encode()).hexdigest()[:32],
        detail={
            "stored": moved.stored,
            "not_stored": moved.not_stored,
            "skipped": moved.skipped,
            "failures": moved.failures,
        },
    )
    return moved
