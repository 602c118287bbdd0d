"""What a PACS sees when it sends to the node, and what the node makes of it: a frontal film
becomes a de-identified case owned by the service account that the model finishes; everything
else gets a failure status naming the reason, is logged, and leaves nothing stored."""

from __future__ import annotations

import io
from copy import deepcopy
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

from backend.accounts.models import User
from backend.platform.db import transaction
from tests.backend.backend_testkit import Stack
from tests.dicom_node.dicom_testkit import (
    NodeProcess,
    dx_film,
    echo,
    identified,
    lateral_of,
    run_worker_until_idle,
    send,
    text_report,
)


def refusal_logged(node: NodeProcess, sop_instance_uid: str) -> dict:
    return node.wait_for_log(
        lambda x: (
            x.get("msg") == "instance refused" and x.get("sop_instance_uid") == sop_instance_uid
        )
    )


async def stored_nothing(stack: Stack, cases: int, objects: int) -> bool:
    return await stack.case_count() == cases and stack.object_count() == objects


def test_c_echo_answers(node: NodeProcess) -> None:
    assert echo(node) == 0x0000


async def test_a_study_gives_one_case_per_frontal_film_owned_by_the_service_account(
    node: NodeProcess, stack: Stack, samples: Path, service_account, reviewer
) -> None:
    owner_id, _ = service_account
    _, headers = reviewer
    frontal = identified(samples / "nccid-dx-1024.dcm")
    lateral = lateral_of(frontal)
    cases_before = await stack.case_count()

    statuses = send(node, [frontal, lateral])

    assert statuses[0].Status == 0x0000
    assert statuses[1].Status == 0xC001  # Cannot understand: not a frontal chest film
    assert "lateral" in statuses[1].ErrorComment
    assert await stack.case_count() == cases_before + 1
    made = node.wait_for_log(lambda x: x.get("msg") == "case created from DICOM")
    assert made["calling_ae"] == "TESTSCU" and made["enqueued"] is True
    refused = refusal_logged(node, lateral.SOPInstanceUID)
    assert refused["status"] == "0xC001" and "lateral" in refused["reason"]

    case = await stack.get_case(made["case_id"])
    assert case is not None and case.owner_id == owner_id
    assert case.priority == "routine" and case.patient_ref is None
    assert (case.age, case.sex) == (57, "F")  # kept by the de-identification profile too
    assert "TESTSCU" in (case.notes or "")
    stored = pydicom.dcmread(io.BytesIO(stack.get_object(case.image_key)))
    assert str(stored.PatientName) == "" and stored.PatientID == ""
    assert stored.AccessionNumber == ""
    assert stored.StudyInstanceUID != frontal.StudyInstanceUID  # replaced, as on upload
    assert stored.SOPInstanceUID != frontal.SOPInstanceUID

    await run_worker_until_idle(stack)
    r = await stack.client.get(f"/api/cases/{case.id}", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "done", r.json()
    assert r.json()["findings_text"]


async def test_what_is_not_a_frontal_chest_film_is_refused_and_nothing_stored(
    node: NodeProcess, stack: Stack, samples: Path
) -> None:
    other_modality = identified(samples / "nccid-ot-512.dcm")  # Modality OT
    report = text_report()  # not an image at all
    no_pixels = pydicom.dcmread(samples / "pydicom-cr-32.dcm")  # a CR header, no pixel data
    lateral_cr = deepcopy(no_pixels)
    lateral_cr.ViewPosition, lateral_cr.SOPInstanceUID = "RL", generate_uid()
    cases, objects = await stack.case_count(), stack.object_count()

    statuses = send(node, [other_modality, report, lateral_cr, no_pixels])

    assert [s.Status for s in statuses] == [0xC001, 0x0122, 0xC001, 0xA900]
    assert "Modality OT" in refusal_logged(node, other_modality.SOPInstanceUID)["reason"]
    assert refusal_logged(node, report.SOPInstanceUID)["status"] == "0x0122"
    assert "RL" in refusal_logged(node, lateral_cr.SOPInstanceUID)["reason"]
    assert "no pixel data" in refusal_logged(node, no_pixels.SOPInstanceUID)["reason"]
    assert await stored_nothing(stack, cases, objects)


async def test_damaged_pixel_data_gets_cannot_understand_and_nothing_stored(
    node: NodeProcess, stack: Stack
) -> None:
    film = dx_film(512, 512)
    film.PixelData = film.PixelData[: len(film.PixelData) // 3]  # cut short
    cases, objects = await stack.case_count(), stack.object_count()

    (status,) = send(node, [film])

    assert status.Status == 0xC000
    assert refusal_logged(node, film.SOPInstanceUID)["status"] == "0xC000"
    assert await stored_nothing(stack, cases, objects)


async def test_an_instance_over_the_size_limit_is_refused_while_it_arrives(
    node: NodeProcess, stack: Stack
) -> None:
    film = dx_film(1536, 1536)  # 4.5 MiB of pixels; the node takes at most 2 MiB
    cases, objects = await stack.case_count(), stack.object_count()

    (status,) = send(node, [film])

    assert status.Status == 0xA700  # Refused: Out of Resources
    logged = refusal_logged(node, film.SOPInstanceUID)
    assert f"limit is {2 * 2**20} bytes" in logged["reason"]
    assert await stored_nothing(stack, cases, objects)
    # the association is still usable: the next film on it is taken
    ok = dx_film(256, 256)
    assert [s.Status for s in send(node, [dx_film(1536, 1536), ok])] == [0xA700, 0x0000]


async def set_active(stack: Stack, user_id: int, active: bool) -> None:
    async with transaction(stack.services.sessions) as db:
        user = await db.get(User, user_id)
        assert user is not None
        user.is_active = active
        db.add(user)


async def test_a_deactivated_service_account_stops_the_intake_without_a_restart(
    node: NodeProcess, stack: Stack, service_account
) -> None:
    owner_id, _ = service_account
    cases, objects = await stack.case_count(), stack.object_count()
    await set_active(stack, owner_id, False)
    try:
        (status,) = send(node, [dx_film(256, 256)])
    finally:
        await set_active(stack, owner_id, True)
    assert status.Status == 0x0124  # Refused: Not authorized
    assert await stored_nothing(stack, cases, objects)
    assert send(node, [dx_film(256, 256)])[0].Status == 0x0000  # active again: taken
