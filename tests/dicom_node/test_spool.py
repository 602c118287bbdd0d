"""The node's spool (backend.dicom_node.spool) keeps nothing: what a previous run left is
removed at start, a handled instance's file is gone once it is answered (stored or refused),
and the file of an instance whose association was aborted midway (which no handler ever sees)
is removed once it has sat unchanged for MEDSEGTEXT_DICOM_SPOOL_MAX_IDLE_SECONDS."""

from __future__ import annotations

import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from pynetdicom.dimse_messages import C_STORE_RQ
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.dsutils import encode

from tests.backend.backend_testkit import Stack
from tests.dicom_node.dicom_testkit import (
    NodeProcess,
    associate,
    dx_film,
    identified,
    lateral_of,
    send,
    start_node,
)


def _spooled(folder: Path) -> list[Path]:
    return sorted(folder.glob("tmp*.dcm"))


@pytest.fixture(scope="module")
def spool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The spool folder, holding what a killed run left: a spooled instance and a file that is
    not the node's."""
    folder = tmp_path_factory.mktemp("spool")
    (folder / "tmpleftover.dcm").write_bytes(b"\0" * 1000)
    (folder / "notes.txt").write_text("not the node's")
    return folder


@pytest.fixture(scope="module")
def spooling_node(
    stack: Stack,
    service_account: tuple[int, str],
    spool: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[NodeProcess]:
    with start_node(
        stack.settings,
        tmp_path_factory.mktemp("node"),
        {
            "MEDSEGTEXT_DICOM_SERVICE_ACCOUNT": service_account[1],
            "MEDSEGTEXT_DICOM_CALLING_AETS": "TESTSCU",
            "MEDSEGTEXT_DICOM_SPOOL_DIR": str(spool),
            "MEDSEGTEXT_DICOM_SPOOL_MAX_IDLE_SECONDS": "1",
        },
    ) as proc:
        yield proc


def test_leftovers_are_removed_at_start_and_handled_instances_leave_nothing(
    spooling_node: NodeProcess, spool: Path, samples: Path
) -> None:
    assert _spooled(spool) == []
    assert (spool / "notes.txt").exists()  # only the node's own files are touched
    logged = spooling_node.wait_for_log(lambda x: x.get("msg") == "spool emptied at start")
    assert logged["removed"] == 1
    frontal = identified(samples / "nccid-dx-1024.dcm")
    damaged = dx_film(256, 256)
    damaged.PixelData = damaged.PixelData[:1000]

    statuses = send(spooling_node, [frontal, lateral_of(frontal), damaged])

    assert [s.Status for s in statuses] == [0x0000, 0xC001, 0xC000]
    assert _spooled(spool) == []


def test_an_instance_abandoned_midway_is_removed_once_idle(
    spooling_node: NodeProcess, spool: Path
) -> None:
    film = dx_film(512, 512)
    assoc = associate(spooling_node, [film])
    assert assoc.is_established
    (context,) = [c for c in assoc.accepted_contexts if c.abstract_syntax == film.SOPClassUID]
    req = C_STORE()
    req.MessageID, req.Priority = 1, 2
    req.AffectedSOPClassUID, req.AffectedSOPInstanceUID = film.SOPClassUID, film.SOPInstanceUID
    encoded = encode(film, False, True)  # explicit VR little endian, as proposed
    assert encoded is not None
    req.DataSet = BytesIO(encoded)
    msg = C_STORE_RQ()
    msg.primitive_to_message(req)
    assert context.context_id is not None
    pdus = list(msg.encode_msg(context.context_id, 16382))
    for pdu in pdus[: len(pdus) // 2]:  # the command and half of the data set
        assoc.dul.send_pdu(pdu)
    deadline = time.monotonic() + 10
    while not _spooled(spool):  # the node spools what has arrived
        assert time.monotonic() < deadline, "nothing was spooled"
        time.sleep(0.05)
    assoc.abort()

    deadline = time.monotonic() + 15
    while _spooled(spool):
        assert time.monotonic() < deadline, f"still spooled: {_spooled(spool)}"
        time.sleep(0.2)
    logged = spooling_node.wait_for_log(lambda x: x.get("msg", "").startswith("abandoned spool"))
    assert logged["removed"] == 1
