"""With S3 down the node answers 0xA701 (Refused: Out of Resources, send again later) within
the store's timeouts, and no case row is left without its film."""

from __future__ import annotations

from pathlib import Path

from tests.backend.backend_testkit import Stack, closed_port_url
from tests.dicom_node.dicom_testkit import dx_film, send, start_node


async def test_s3_down_gives_a_retry_later_status_and_no_case(
    stack: Stack, service_account, tmp_path: Path
) -> None:
    s3_down = stack.settings.model_copy(update={"s3_endpoint_url": closed_port_url()})
    cases = await stack.case_count()
    with start_node(
        s3_down,
        tmp_path,
        {
            "MEDSEGTEXT_DICOM_SERVICE_ACCOUNT": service_account[1],
            "MEDSEGTEXT_DICOM_CALLING_AETS": "TESTSCU",
        },
    ) as node:
        film = dx_film(256, 256)
        (status,) = send(node, [film])
        assert status.Status == 0xA701
        logged = node.wait_for_log(lambda x: x.get("msg") == "instance refused")
        assert logged["sop_instance_uid"] == film.SOPInstanceUID
        assert "send again later" in logged["reason"]
    assert await stack.case_count() == cases
