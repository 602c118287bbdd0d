"""The per-instance byte limit, enforced while the data set arrives.

pynetdicom assembles a C-STORE's data set (spooled to a temporary file) before the handler sees
it, so a limit checked only there would let a sender fill the disk first. This guard watches
each P-DATA-TF PDU as it is decoded (EVT_PDU_RECV, before pynetdicom writes the fragment) and
counts the data set bytes of the message in progress; past the limit it empties the fragments,
so at most `limit` bytes are ever spooled, and the handler answers 0xA700 once the message is
complete (the sender gets a status, not a dropped connection). A sender waits for each response
before its next C-STORE (asynchronous operations are not negotiated), so one count per
association suffices: a new command set starts a new count.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from pynetdicom.pdu import P_DATA_TF


class SizeGuard:
    def __init__(self, limit: int):
        self.limit = limit
        self._lock = threading.Lock()
        self._received: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self._over: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()

    def on_pdu(self, event: Any) -> None:
        """EVT_PDU_RECV handler (runs on the association's DUL thread)."""
        pdu = event.pdu
        if not isinstance(pdu, P_DATA_TF):
            return
        assoc = event.assoc
        with self._lock:
            for item in pdu.presentation_data_value_items:
                data = item.presentation_data_value or b"\x00"
                control = data[0]
                if control & 1:  # a command fragment: a new message begins
                    self._received[assoc] = 0
                    self._over.pop(assoc, None)
                    continue
                total = self._received.get(assoc, 0) + len(data) - 1
                self._received[assoc] = total
                if total > self.limit:
                    item.presentation_data_value = bytes([control])  # keep only the header
                    if control & 2:  # the last fragment: the handler runs next
                        self._over[assoc] = total

    def overflow(self, assoc: Any) -> int | None:
        """The size of the data set just received on `assoc` if it passed the limit."""
        with self._lock:
            return self._over.pop(assoc, None)
