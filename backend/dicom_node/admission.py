"""At most N associations at once, counting only peers that asked for one.

pynetdicom's own limit (AE.maximum_associations) counts every TCP connection from its accept
until its ARTIM timer (acse_timeout, 30 s) ends it, associated or not: measured, a connection
opened and closed at once (a load balancer's health check, a port scan, `make up`'s readiness
probe) held a place for 30 s, so N such probes locked the PACS out. This check runs when the
A-ASSOCIATE-RQ arrives (EVT_REQUESTED, where pynetdicom lets a handler reject) and counts the
associations admitted and not yet over. An over-limit request is rejected at once, transient,
"local limit exceeded" (PS3.8 9.3.4), so the sender retries later: nothing waits in a queue.
pynetdicom's limit stays, with headroom, as the cap on connections (see server.build_ae).
"""

from __future__ import annotations

import threading
from typing import Any

from backend.platform.logs import get_logger

log = get_logger("dicom_node")

# A-ASSOCIATE-RJ result "rejected-transient", source "service-provider (presentation)",
# reason "local-limit-exceeded"
BUSY = (0x02, 0x03, 0x02)


def _over(assoc: Any) -> bool:
    return not assoc.is_alive() or assoc.is_released or assoc.is_aborted or assoc.is_rejected


class Admission:
    def __init__(self, limit: int, calling_aets: tuple[str, ...]):
        self.limit = limit
        self.calling_aets = frozenset(calling_aets)
        self._lock = threading.Lock()
        self._open: set[Any] = set()

    def on_requested(self, event: Any) -> None:
        """EVT_REQUESTED handler (on the association's thread, before negotiation)."""
        assoc = event.assoc
        request = assoc.requestor.primitive
        if str(request.calling_ae_title).strip() not in self.calling_aets:
            return  # pynetdicom rejects it next (permanent: calling AE title not recognised)
        with self._lock:
            self._open = {a for a in self._open if not _over(a)}
            busy = len(self._open) >= self.limit
            if not busy:
                self._open.add(assoc)
        if busy:
            log.warning(
                "association rejected",
                extra={
                    "calling_ae": request.calling_ae_title,
                    "called_ae": request.called_ae_title,
                    "peer": assoc.requestor.address,
                    "reason": f"{self.limit} associations are already open "
                    "(MEDSEGTEXT_DICOM_MAX_ASSOCIATIONS)",
                },
            )
            assoc.acse.send_reject(*BUSY)
            assoc.kill()  # as pynetdicom does after its own rejections: the RJ goes out first
