"""DICOM SEG and SR of a PHI-laden film: they reference the stored (de-identified) image, copy
nothing identifying from it, write reviewer names as one valid PN, and pass dciodvfy (issue 12).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pydicom
import pytest

from backend.accounts import service as accounts
from backend.platform.db import transaction
from backend.reports.dicom_export import person_name
from tests.backend.backend_testkit import PASSWORD, Stack
from tests.backend.model_kit import review, run_model, upload
from tests.backend.phi_dicom import UPLOAD_NAME, phi_laden_dx, surviving

# A reviewer whose name would change a PN's structure if written as it is: "\" makes a second
# value, "=" a second component group, "^" more components.
HOSTILE_NAME = "Hyde\\Jekyll=Edward^Dr"


async def _reviewer_named(stack: Stack, full_name: str) -> dict[str, str]:
    email = f"pn-{uuid.uuid4().hex[:8]}@example.org"
    async with transaction(stack.services.sessions) as db:
        await accounts.create_user(
            db, None, email=email, password=PASSWORD, role="reviewer", full_name=full_name
        )
    return {"Authorization": f"Bearer {await stack.login(email)}"}


async def _dicom(stack: Stack, headers: dict[str, str], case_id: str, name: str) -> bytes:
    r = await stack.client.get(f"/api/cases/{case_id}/{name}", headers=headers)
    assert r.status_code == 200, r.text
    return bytes(r.content)


@pytest.fixture(scope="module")
async def exports(stack: Stack, clinician, shared_data: Path) -> dict[str, Any]:
    film = phi_laden_dx((shared_data / "samples" / "dicom" / "nccid-dx-1024.dcm").read_bytes())
    case_id = await upload(stack, clinician[1], film.data, UPLOAD_NAME)
    case = await run_model(stack, case_id)
    out: dict[str, Any] = {"film": film, "stored": stack.get_object(case.image_key)}
    out["seg"] = await _dicom(stack, clinician[1], case_id, "seg.dcm")
    out["sr"] = await _dicom(stack, clinician[1], case_id, "sr.dcm")
    await review(stack, await _reviewer_named(stack, HOSTILE_NAME), case_id, decision="accept")
    out["verified_sr"] = await _dicom(stack, clinician[1], case_id, "sr.dcm")
    return out


def _read(data: bytes) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(data))


@pytest.mark.parametrize("name", ["seg", "sr", "verified_sr"])
async def test_exports_carry_no_phi(exports: dict[str, Any], name: str) -> None:
    data = exports[name]
    ds = _read(data)
    assert surviving([*exports["film"].planted, "DOE_JOHN_MRN4471"], data, ds) == []
    assert ds.PatientName == "" and ds.PatientID == "" and ds.PatientBirthDate == ""
    assert ds.StudyDate == "" and ds.AccessionNumber == "" and ds.ReferringPhysicianName == ""
    assert ds.PatientSex == "F"  # retained characteristic, as in the stored film
    for keyword in ("StudyDescription", "InstitutionName", "ContentCreatorName"):
        assert not ds.get(keyword), keyword
    assert ds.SeriesDescription.startswith("MedSegText")
    for item in ds.get("ContributingEquipmentSequence", []):  # not the source's devices
        assert "InstitutionName" not in item and "StationName" not in item


async def test_exports_reference_the_stored_image(exports: dict[str, Any]) -> None:
    stored = _read(exports["stored"])
    seg, sr = _read(exports["seg"]), _read(exports["verified_sr"])
    assert seg.StudyInstanceUID == sr.StudyInstanceUID == stored.StudyInstanceUID
    ref = seg.ReferencedSeriesSequence[0]
    assert ref.SeriesInstanceUID == stored.SeriesInstanceUID
    assert ref.ReferencedInstanceSequence[0].ReferencedSOPInstanceUID == stored.SOPInstanceUID
    assert seg.FrameOfReferenceUID != exports["film"].dataset.FrameOfReferenceUID
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == stored.StudyInstanceUID
    assert (
        evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        == stored.SOPInstanceUID
    )
    # the SEG repeats the stored film's declaration; the SR (reviewer's name and words) does not
    assert seg.PatientIdentityRemoved == "YES"
    assert [c.CodeValue for c in seg.DeidentificationMethodCodeSequence] == ["113100", "113108"]
    assert "PatientIdentityRemoved" not in sr


async def test_reviewer_name_is_one_pn_value(exports: dict[str, Any]) -> None:
    sr = _read(exports["verified_sr"])
    assert sr.VerificationFlag == "VERIFIED"
    element = sr.VerifyingObserverSequence[0]["VerifyingObserverName"]
    assert element.VM == 1
    value = str(element.value)
    assert "=" not in value and "\\" not in value and value.count("^") == 1
    assert value == "Hyde Jekyll Edward Dr^"


@pytest.mark.parametrize(
    ("name", "pn"),
    [
        ("Test reviewer", "Test reviewer^"),
        ("a\\b", "a b^"),
        ("a=b", "a b^"),
        ("a^b^^c", "a b c^"),
        ("\\=^", "reviewer^"),
        ("x\x00\ty", "x y^"),
        ("n" * 100, "n" * 63 + "^"),
    ],
)
def test_person_name_cannot_change_pn_structure(name: str, pn: str) -> None:
    assert person_name(name) == pn


@pytest.mark.parametrize("name", ["stored", "seg", "sr", "verified_sr"])
async def test_exports_pass_dciodvfy(exports: dict[str, Any], name: str, tmp_path: Path) -> None:
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy not found: install the Debian package dicom3tools")
    path = tmp_path / f"{name}.dcm"
    path.write_bytes(exports[name])
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    report = out.stdout + out.stderr
    errors = [line for line in report.splitlines() if line.startswith("Error")]
    assert errors == [], report
    assert any(iod in report for iod in ("DXImageForPresentation", "Segmentation", "EnhancedSR")), (
        report
    )
