"""C-STORE to the PACS (pynetdicom; blocking: run in a thread). One association per batch,
calling as the node's AE title (the PACS knows the node by it), every timeout bounded by
pacs_timeout_seconds so a PACS that hangs costs a retry, not a stuck worker."""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE

from backend.settings import Settings

# PS3.4 B.2.3: warnings (coerced, elements discarded, data set does not match) are stored
STORED = frozenset({0x0000, 0xB000, 0xB006, 0xB007})


class Unreachable(RuntimeError):
    """No association: the PACS is down, unreachable, rejected us or did not answer."""


@dataclass(frozen=True)
class Stored:
    """The PACS's answer for one instance: stored or not, and the status or the reason."""

    sop_instance_uid: str
    stored: bool
    detail: str


def _ae(settings: Settings, datasets: list[Dataset]) -> AE:
    ae = AE(ae_title=settings.dicom_ae_title)
    t = settings.pacs_timeout_seconds
    ae.connection_timeout = ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = t
    for sop_class in dict.fromkeys(str(ds.SOPClassUID) for ds in datasets):
        ae.add_requested_context(sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    return ae


def destination(settings: Settings) -> str:
    return f"{settings.pacs_ae_title}@{settings.pacs_host}:{settings.pacs_port}"


def store(settings: Settings, datasets: list[Dataset]) -> list[Stored]:
    """Send each data set on one association, in order; a lost association leaves the rest
    not stored. Raises Unreachable when no association is made."""
    assoc = _ae(settings, datasets).associate(
        settings.pacs_host, settings.pacs_port, ae_title=settings.pacs_ae_title
    )
    if not assoc.is_established:
        why = "rejected the association" if assoc.is_rejected else "did not answer"
        raise Unreachable(f"the PACS {destination(settings)} {why}")
    results: list[Stored] = []
    try:
        for ds in datasets:
            uid = str(ds.SOPInstanceUID)
            if not assoc.is_established:
                results.append(Stored(uid, False, "the association was lost"))
                continue
            try:
                rsp = assoc.send_c_store(ds)
            except ValueError as e:  # the PACS accepted no context for this class
                results.append(Stored(uid, False, str(e)[:200]))
                continue
            status = int(rsp.Status) if "Status" in rsp else None
            if status is None:
                results.append(Stored(uid, False, "no response (timeout or abort)"))
            else:
                comment = str(rsp.get("ErrorComment", "") or "")
                results.append(
                    Stored(
                        uid,
                        status in STORED,
                        f"status 0x{status:04X}{': ' + comment if comment else ''}",
                    )
                )
    finally:
        if assoc.is_established:
            assoc.release()
    return results
