"""The size guard against pynetdicom's own message encoding and decoding: past the limit a data
set's fragments are emptied before they are kept, yet the message still completes (so the node
can answer it with a status), and the next message on the association starts a new count."""

from __future__ import annotations

from io import BytesIO

from pydicom.uid import DigitalXRayImageStorageForPresentation, generate_uid
from pynetdicom.dimse_messages import C_STORE_RQ, DIMSEMessage
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.pdu import P_DATA_TF

from backend.dicom_node.size_guard import SizeGuard

LIMIT = 100_000


class Assoc:  # the guard keys its counts by association object; any object will do
    pass


class PduReceived:
    def __init__(self, pdu: P_DATA_TF, assoc: Assoc):
        self.pdu, self.assoc = pdu, assoc


def pdus_of_c_store(data_set: bytes) -> list[P_DATA_TF]:
    """The P-DATA-TF PDUs a sender puts on the wire for one C-STORE request."""
    req = C_STORE()
    req.MessageID, req.Priority = 1, 2
    req.AffectedSOPClassUID = DigitalXRayImageStorageForPresentation
    req.AffectedSOPInstanceUID = generate_uid()
    req.DataSet = BytesIO(data_set)
    msg = C_STORE_RQ()
    msg.primitive_to_message(req)
    pdus = []
    for primitive in msg.encode_msg(1, 16382):
        sent = P_DATA_TF()
        sent.from_primitive(primitive)
        received = P_DATA_TF()  # as the receiver decodes it from the bytes
        received.decode(sent.encode())
        pdus.append(received)
    return pdus


def receive(guard: SizeGuard, assoc: Assoc, data_set: bytes) -> tuple[bool, int]:
    """Pass each PDU through the guard, then decode it as pynetdicom does: whether the message
    completed, and how many data set bytes were kept."""
    message = DIMSEMessage()
    complete = False
    for pdu in pdus_of_c_store(data_set):
        guard.on_pdu(PduReceived(pdu, assoc))
        complete = message.decode_msg(pdu.to_primitive())
    return complete, len(message.data_set.getvalue())


def test_a_data_set_over_the_limit_is_not_kept_but_the_message_completes() -> None:
    guard, assoc = SizeGuard(LIMIT), Assoc()
    complete, kept = receive(guard, assoc, b"\x01" * (5 * LIMIT))
    assert complete
    assert kept <= LIMIT
    assert guard.overflow(assoc) == 5 * LIMIT
    assert guard.overflow(assoc) is None  # told once


def test_a_data_set_within_the_limit_is_kept_whole_and_counts_restart_per_message() -> None:
    guard, assoc = SizeGuard(LIMIT), Assoc()
    receive(guard, assoc, b"\x01" * (2 * LIMIT))
    guard.overflow(assoc)
    for _ in range(3):  # three messages of 0.8 x the limit: none is over it
        complete, kept = receive(guard, assoc, b"\x02" * (8 * LIMIT // 10))
        assert complete and kept == 8 * LIMIT // 10
        assert guard.overflow(assoc) is None
    other = Assoc()  # and associations are counted apart
    assert receive(guard, other, b"\x03" * LIMIT) == (True, LIMIT)
