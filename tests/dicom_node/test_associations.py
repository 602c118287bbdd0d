"""Who may associate with the node and how many at once: an unlisted calling AE title or a wrong
called one is rejected (permanent) and logged; past the association limit the next association
is rejected at once (transient, local limit exceeded), not queued, until one ends."""

from __future__ import annotations

import socket
import time

from pynetdicom.association import Association

from tests.dicom_node.dicom_testkit import NodeProcess, associate, echo


def rejection(assoc: Association) -> tuple[int, int, int]:
    """(result, source, diagnostic) of the node's A-ASSOCIATE-RJ (PS3.8 9.3.4)."""
    assert assoc.is_rejected, "the node accepted the association"
    rj = assoc.acceptor.primitive
    return rj.result, rj.result_source, rj.diagnostic


def rejected_log(node: NodeProcess, calling: str) -> dict:
    return node.wait_for_log(
        lambda x: x.get("msg") == "association rejected" and x.get("calling_ae") == calling
    )


def test_an_unlisted_calling_ae_title_is_rejected_with_a_logged_reason(node: NodeProcess) -> None:
    assert rejection(associate(node, calling="INTRUDER")) == (1, 1, 3)  # calling AE unknown
    assert "allowlist" in rejected_log(node, "INTRUDER")["reason"]
    assert echo(node, calling="INTRUDER") is None


def test_a_wrong_called_ae_title_is_rejected(node: NodeProcess) -> None:
    assert rejection(associate(node, calling="ORTHANC", called="SOMEONEELSE")) == (1, 1, 7)
    assert "MEDSEGTEXT" in rejected_log(node, "ORTHANC")["reason"]


def open_association(node: NodeProcess) -> Association:
    """An established association; waits out ones earlier tests released, which the node may
    still be closing."""
    deadline = time.monotonic() + 5
    while True:
        assoc = associate(node)
        if assoc.is_established or time.monotonic() > deadline:
            assert assoc.is_established
            return assoc
        time.sleep(0.1)


def test_past_the_association_limit_the_next_is_rejected_until_one_ends(node: NodeProcess) -> None:
    held = [open_association(node), open_association(node)]  # the node's limit is 2
    try:
        extra = associate(node)
        assert rejection(extra) == (2, 3, 2)  # transient, service provider, local limit
        logged = node.wait_for_log(
            lambda x: (
                x.get("msg") == "association rejected"
                and "associations are already open" in x.get("reason", "")
            )
        )
        assert logged["calling_ae"] == "TESTSCU"
        for assoc in held:  # the two held ones still work meanwhile
            assert assoc.send_c_echo().Status == 0x0000
    finally:
        held.pop().release()
    try:
        again = open_association(node)  # one place freed: taken again
        assert again.send_c_echo().Status == 0x0000
        again.release()
    finally:
        held.pop().release()


def test_connections_that_never_associate_take_no_place(node: NodeProcess) -> None:
    """Health checks and port scans open TCP connections and send nothing (pynetdicom's own
    limit counted each for 30 s, so two probes locked the PACS out)."""
    probes = [socket.create_connection(("127.0.0.1", node.port)) for _ in range(3)]
    try:
        time.sleep(0.3)  # the node has taken them in
        held = [open_association(node), open_association(node)]  # the limit is 2: both taken
        for assoc in held:
            assert assoc.send_c_echo().Status == 0x0000
            assoc.release()
    finally:
        for probe in probes:
            probe.close()
