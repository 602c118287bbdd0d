"""C-FIND and C-MOVE at the PACS (pynetdicom, Study Root; blocking: run in a thread).

Both call as the node's AE title, the name the PACS already knows the node by (the results
sender calls as it too), and a C-MOVE names that same AE title as its destination, so the PACS
sends the study to the node. Every wait is bounded by pacs_timeout_seconds.

An import moves one instance at a time, of the study's radiograph series only (CR, DX, DR: what
the node takes; a CT or an earlier SR/SEG series is not sent at all). One C-MOVE per instance
because a PACS may stop a move at its first refused sub-operation (Orthanc does): a lateral
view the node refuses would otherwise keep the frontal film after it from being sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelFind as FIND,
)
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelMove as MOVE,
)

from backend.adapters.errors import DependencyUnavailable
from backend.pacs_outbox.scu import destination
from backend.settings import Settings
from inference.scope import RADIOGRAPH_MODALITIES

PENDING = frozenset({0xFF00, 0xFF01})
MOVED = frozenset({0x0000, 0xB000})  # B000: done, some sub-operations with warnings or failed
# the study-level attributes asked for (empty: "return it"), besides the query's own keys
STUDY_KEYS = (
    "StudyInstanceUID",
    "PatientID",
    "AccessionNumber",
    "StudyDate",
    "StudyTime",
    "StudyDescription",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedInstances",
)


class PacsRefused(RuntimeError):
    """The PACS answered with a failure status (the message says which and what it means)."""


@dataclass
class Moved:
    """What an import did: instances the node stored (each a case), instances not stored
    (the node refused them, or the PACS could not send them: their statuses), and instances
    of series that are not radiographs (not sent)."""

    stored: int = 0
    not_stored: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)  # distinct C-MOVE statuses, 0x…


def _query(level: str, **keys: str) -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = level
    for keyword, value in keys.items():
        setattr(query, keyword, value)
    return query


def _associate(settings: Settings, *sop_classes: str) -> Association:
    ae = AE(ae_title=settings.dicom_ae_title)
    t = settings.pacs_timeout_seconds
    ae.connection_timeout = ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = t
    for sop_class in sop_classes:
        ae.add_requested_context(sop_class)
    assoc = ae.associate(settings.pacs_host, settings.pacs_port, ae_title=settings.pacs_ae_title)
    if not assoc.is_established:
        why = "rejected the association" if assoc.is_rejected else "did not answer"
        raise DependencyUnavailable("pacs", f"the PACS {destination(settings)} {why}")
    return assoc


def _no_answer(settings: Settings) -> DependencyUnavailable:
    return DependencyUnavailable(
        "pacs",
        f"the PACS {destination(settings)} stopped answering "
        f"(timeout {settings.pacs_timeout_seconds} s or abort)",
    )


def _comment(status: Dataset) -> str:
    comment = str(status.get("ErrorComment", "") or "")
    return f" ({comment})" if comment else ""


def _find(
    assoc: Association, settings: Settings, query: Dataset, limit: int | None = None
) -> tuple[list[Dataset], bool]:
    """The matches, at most `limit`, and whether there were more (the association is then
    aborted rather than reading the rest)."""
    found: list[Dataset] = []
    for status, identifier in assoc.send_c_find(query, FIND):
        if "Status" not in status:
            raise _no_answer(settings)
        code = int(status.Status)
        if code in PENDING:
            if len(found) == limit:
                assoc.abort()
                return found, True
            if identifier is not None:
                found.append(identifier)
        elif code == 0x0000:
            return found, False
        else:
            raise PacsRefused(
                f"The PACS refused the search: status 0x{code:04X}{_comment(status)}."
            )
    raise _no_answer(settings)


def _release(assoc: Association) -> None:
    if assoc.is_established:
        assoc.release()


def find_studies(
    settings: Settings, keys: dict[str, str], limit: int
) -> tuple[list[Dataset], bool]:
    """The studies matching `keys` (DICOM keyword -> value), at most `limit`, and whether
    there were more."""
    assoc = _associate(settings, FIND)
    try:
        return _find(
            assoc, settings, _query("STUDY", **{k: keys.get(k, "") for k in STUDY_KEYS}), limit
        )
    finally:
        _release(assoc)


def _move_one(assoc: Association, settings: Settings, query: Dataset) -> int:
    """C-MOVE one instance to the node; its final status."""
    last: Dataset | None = None
    for status, _ in assoc.send_c_move(query, settings.dicom_ae_title, MOVE):
        if "Status" not in status:
            raise _no_answer(settings)
        last = status
    if last is None:
        raise _no_answer(settings)
    code = int(last.Status)
    if code == 0xA801:
        raise PacsRefused(
            f"The PACS does not know the destination {settings.dicom_ae_title} "
            "(status 0xA801): add the node to its modalities (AE title "
            f"{settings.dicom_ae_title}, the node's host and port)."
        )
    if code in MOVED and int(last.get("NumberOfFailedSuboperations", 0) or 0):
        return 0xB000
    return code


def move_study(settings: Settings, study_uid: str) -> Moved:
    """Have the PACS send the study's radiographs to the node, one instance at a time."""
    assoc = _associate(settings, FIND, MOVE)
    moved = Moved()
    try:
        series, _ = _find(
            assoc,
            settings,
            _query(
                "SERIES",
                StudyInstanceUID=study_uid,
                SeriesInstanceUID="",
                Modality="",
                NumberOfSeriesRelatedInstances="",
            ),
        )
        for s in series:
            count = str(s.get("NumberOfSeriesRelatedInstances", "") or "")
            if str(s.get("Modality", "")) not in RADIOGRAPH_MODALITIES:
                moved.skipped += int(count) if count.isdigit() else 0
                continue
            images, _ = _find(
                assoc,
                settings,
                _query(
                    "IMAGE",
                    StudyInstanceUID=study_uid,
                    SeriesInstanceUID=s.SeriesInstanceUID,
                    SOPInstanceUID="",
                ),
            )
            for image in images:
                code = _move_one(
                    assoc,
                    settings,
                    _query(
                        "IMAGE",
                        StudyInstanceUID=study_uid,
                        SeriesInstanceUID=s.SeriesInstanceUID,
                        SOPInstanceUID=image.SOPInstanceUID,
                    ),
                )
                if code == 0x0000:
                    moved.stored += 1
                else:
                    moved.not_stored += 1
                    if (name := f"0x{code:04X}") not in moved.failures:
                        moved.failures.append(name)
    finally:
        _release(assoc)
    return moved
