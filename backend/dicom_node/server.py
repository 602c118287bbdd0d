"""The node's application entity: who may associate, how many at once, and the handlers.

pynetdicom runs each association in a thread of its own; the cases are made on the asyncio loop
that owns the process's clients (backend.platform.services), so a C-STORE handler hands its
instance to that loop and waits for the outcome. At most `dicom_max_associations` associations
run at once (backend.dicom_node.admission), so at most that many instances are being made into
cases.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import (
    AE,
    ALL_TRANSFER_SYNTAXES,
    AllStoragePresentationContexts,
    VerificationPresentationContexts,
    _config,
    evt,
)
from pynetdicom.transport import ThreadedAssociationServer

from backend.dicom_node.admission import Admission
from backend.dicom_node.ingest import ingest
from backend.dicom_node.screen import FILM_CLASSES, origin_of, read_header, screen
from backend.dicom_node.size_guard import SizeGuard
from backend.dicom_node.spool import Spool, spool_dir
from backend.dicom_node.statuses import OUT_OF_RESOURCES, PROCESSING_FAILURE, Outcome, Refused
from backend.platform.logs import get_logger
from backend.platform.services import Services
from backend.settings import Settings

log = get_logger("dicom_node")


# TCP connections served at once beyond the association limit: ones that have not associated
# yet (or never will: probes) each hold a pynetdicom thread until acse_timeout
CONNECTION_HEADROOM = 16


def max_connections(settings: Settings) -> int:
    return settings.dicom_max_associations + CONNECTION_HEADROOM


def reject_reasons(settings: Settings) -> dict[tuple[int, int], str]:
    """pynetdicom's A-ASSOCIATE-RJ (source, diagnostic) -> the reason logged (PS3.8 9.3.4);
    the association limit's own rejections are logged by backend.dicom_node.admission."""
    return {
        (1, 3): "calling AE title is not on the allowlist (MEDSEGTEXT_DICOM_CALLING_AETS)",
        (1, 7): f"called AE title is not {settings.dicom_ae_title} (MEDSEGTEXT_DICOM_AE_TITLE)",
        (3, 2): f"{max_connections(settings)} connections are already open, counting ones "
        "that have not associated (yet)",
    }


def build_ae(settings: Settings) -> AE:
    """Verification, and every storage class (so that what the node does not analyse gets a
    status saying so rather than a refused presentation context); the film classes in every
    transfer syntax pynetdicom knows (the decoder reads JPEG and RLE, and names what it cannot)."""
    ae = AE(ae_title=settings.dicom_ae_title)
    ae.supported_contexts = [*VerificationPresentationContexts, *AllStoragePresentationContexts]
    for sop_class in sorted(FILM_CLASSES):
        ae.add_supported_context(sop_class, ALL_TRANSFER_SYNTAXES)
    ae.require_called_aet = True
    ae.require_calling_aet = list(settings.dicom_calling_aets)
    ae.maximum_associations = max_connections(settings)  # associations: admission.py
    return ae


class Node:
    """The receiver: pynetdicom's association threads in front, the services' loop behind."""

    def __init__(self, services: Services, loop: asyncio.AbstractEventLoop):
        self.services = services
        self.settings = services.settings
        self.loop = loop
        self.guard = SizeGuard(self.settings.dicom_max_instance_bytes)
        self.admission = Admission(
            self.settings.dicom_max_associations, self.settings.dicom_calling_aets
        )
        self.reasons = reject_reasons(self.settings)
        self.spool = Spool(spool_dir(self.settings), self.settings.dicom_spool_max_idle_seconds)

    def start(self) -> ThreadedAssociationServer:
        """Listen (in background threads) until the returned server is shut down."""
        self.spool.open()
        _config.STORE_RECV_CHUNKED_DATASET = True  # spool each data set to a file, not memory
        handlers: list[Any] = [
            (evt.EVT_REQUESTED, self.admission.on_requested),
            (evt.EVT_C_STORE, self.on_store),
            (evt.EVT_PDU_RECV, self.guard.on_pdu),
            (evt.EVT_REJECTED, self.on_rejected),
            (evt.EVT_ACCEPTED, self.on_accepted),
        ]
        s = self.settings
        server = build_ae(s).start_server(
            (s.dicom_host, s.dicom_port), block=False, evt_handlers=handlers
        )
        assert server is not None  # block=False returns the server
        return server

    def on_accepted(self, event: Any) -> None:
        rq = event.assoc.requestor
        log.info("association accepted", extra={"calling_ae": rq.ae_title, "peer": rq.address})

    def on_rejected(self, event: Any) -> None:
        rq, rj = event.assoc.requestor, event.assoc.acceptor.primitive
        reason = self.reasons.get((rj.result_source, rj.diagnostic), "rejected")
        log.warning(
            "association rejected",
            extra={
                "calling_ae": rq.ae_title,
                "called_ae": rq.primitive.called_ae_title,
                "peer": rq.address,
                "reason": reason,
            },
        )

    def on_store(self, event: Any) -> Dataset:
        outcome = self.store(event)
        return outcome.response()

    def store(self, event: Any) -> Outcome:
        rq = event.assoc.requestor
        sop_uid = str(event.request.AffectedSOPInstanceUID or "")
        try:
            over = self.guard.overflow(event.assoc)
            if over is not None:
                raise Refused(
                    OUT_OF_RESOURCES,
                    f"The instance is {over} bytes; the node's limit is {self.guard.limit} bytes.",
                )
            with self.spool.holding(Path(event.dataset_path)) as path:
                header = read_header(path)
                screen(header)
                data = path.read_bytes()
            future = asyncio.run_coroutine_threadsafe(
                ingest(self.services, header, origin_of(header, rq.ae_title, rq.address), data),
                self.loop,
            )
            return future.result()
        except Refused as r:
            log.warning(
                "instance refused",
                extra={
                    "status": f"0x{r.status:04X}",
                    "reason": r.reason,
                    "calling_ae": rq.ae_title,
                    "peer": rq.address,
                    "sop_instance_uid": sop_uid,
                },
            )
            return Outcome(r.status, r.reason)
        except Exception:
            log.exception(
                "instance failed", extra={"calling_ae": rq.ae_title, "sop_instance_uid": sop_uid}
            )
            return Outcome(PROCESSING_FAILURE, "The node failed to process the instance.")
