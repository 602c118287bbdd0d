"""The PACS away during sign-off (issue 16 item 4): the outbox keeps the results, the sender
retries with a doubling wait and delivers once the PACS is back, each object exactly once
(Orthanc logs every reception); two senders at once never send a row twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from backend.pacs_outbox.deliver import deliver_due
from backend.platform.db import utcnow
from tests.backend.backend_testkit import Stack
from tests.dicom_node.dicom_testkit import NodeProcess, identified, run_worker_until_idle
from tests.dicom_node.orthanc_kit import Orthanc
from tests.dicom_node.results_kit import (
    ENHANCED_SR_CLASS,
    SC_CLASS,
    SEG_CLASS,
    held_by_pacs,
    outbox,
    pacs_case,
    review,
)

S1 = timedelta(seconds=1)  # the suite's pacs_retry_base_seconds


async def _wait_until_due(stack: Stack, case_id: str) -> None:
    rows = await outbox(stack, case_id)
    wait = (max(r.next_attempt_at for r in rows) - utcnow()).total_seconds()
    await asyncio.sleep(max(0.0, wait) + 0.1)


async def test_results_wait_while_the_pacs_is_down_and_arrive_once_when_it_is_back(
    orthanc: Orthanc,
    node: NodeProcess,
    stack: Stack,
    samples: Path,
    reviewer: tuple[int, dict[str, str]],
    tmp_path: Path,
) -> None:
    film = identified(samples / "nccid-dx-1024.dcm")
    case_id = await pacs_case(orthanc, node, stack, film, tmp_path)
    orthanc.stop()
    try:
        await review(stack, reviewer[1], case_id, decision="accept")  # 201: the PACS is not
        before = utcnow()  # needed for a sign-off
        await run_worker_until_idle(stack)  # the send job: no association
        after = utcnow()

        rows = await outbox(stack, case_id)
        assert [(r.status, r.attempts) for r in rows] == [("pending", 1)] * 3
        assert all("did not answer" in (r.last_error or "") for r in rows)
        # the first wait is the base (1 s here) ...
        assert all(before + S1 <= r.next_attempt_at <= after + S1 for r in rows), rows
        assert await deliver_due(stack.services) == {}  # not due yet: the wait is kept

        await _wait_until_due(stack, case_id)
        before = utcnow()
        assert await deliver_due(stack.services) == {"retry": 3}
        after = utcnow()
        rows = await outbox(stack, case_id)
        assert [(r.status, r.attempts) for r in rows] == [("pending", 2)] * 3
        # ... and doubles with each try
        assert all(before + 2 * S1 <= r.next_attempt_at <= after + 2 * S1 for r in rows), rows
    finally:
        orthanc.start()

    await _wait_until_due(stack, case_id)
    assert await deliver_due(stack.services) == {"sent": 3}
    assert await deliver_due(stack.services) == {}  # nothing left to send
    rows = await outbox(stack, case_id)
    assert [(r.status, r.attempts, r.last_error) for r in rows] == [("sent", 3, None)] * 3
    held = held_by_pacs(orthanc, film)
    assert [len(held.get(c, [])) for c in (SEG_CLASS, ENHANCED_SR_CLASS, SC_CLASS)] == [1, 1, 1]
    received = orthanc.received()
    assert [received.count(r.sop_instance_uid) for r in rows] == [1, 1, 1]


async def test_two_senders_at_once_send_each_object_once(
    orthanc: Orthanc,
    node: NodeProcess,
    stack: Stack,
    samples: Path,
    reviewer: tuple[int, dict[str, str]],
    tmp_path: Path,
) -> None:
    """The review's job is not run: the sweep and a second sender race for the same rows."""
    film = identified(samples / "nccid-dx-1024.dcm")
    case_id = await pacs_case(orthanc, node, stack, film, tmp_path)
    await review(stack, reviewer[1], case_id, decision="accept")

    results = await asyncio.gather(
        deliver_due(stack.services),
        deliver_due(stack.services),
        deliver_due(stack.services, case_id),
    )

    assert sum(r.get("sent", 0) for r in results) == 3, results
    rows = await outbox(stack, case_id)
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1)] * 3
    received = orthanc.received()
    assert [received.count(r.sop_instance_uid) for r in rows] == [1, 1, 1]
    await run_worker_until_idle(stack)  # the review's own job, late: finds nothing to send
    assert orthanc.received() == received
