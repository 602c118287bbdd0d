"""DICOM uploads are de-identified before they reach S3; pixels and UIDs survive."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom

from tests.backend.backend_testkit import Stack, upload_files


def _identified_copy(path: Path) -> tuple[bytes, pydicom.Dataset]:
    ds = pydicom.dcmread(path)
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "MRN-123456"
    ds.PatientBirthDate = "19600101"
    ds.InstitutionName = "St Example Hospital"
    ds.ReferringPhysicianName = "House^Gregory"
    ds.StudyDate = ds.AcquisitionDate = "20200314"
    ds.AccessionNumber = "ACC-99"
    ds.add_new(0x00090010, "LO", "ACME PRIVATE")  # private creator
    ds.add_new(0x00091001, "LO", "secret private value")
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue(), ds


async def test_dicom_is_deidentified_before_storage(stack: Stack, clinician,
                                                    shared_data: Path) -> None:
    data, original = _identified_copy(shared_data / "samples" / "dicom" / "nccid-dx-1024.dcm")
    r = await stack.client.post("/api/cases", headers=clinician[1],
                                files=upload_files(data, "Doe_Jane.dcm"))
    assert r.status_code == 202, r.text
    assert r.json()["source_format"] == "dicom"
    case = await stack.get_case(r.json()["id"])
    assert case is not None and case.image_key.endswith("original.dcm")

    stored = stack.get_object(case.image_key)
    assert b"Doe^Jane" not in stored and b"MRN-123456" not in stored
    assert b"St Example Hospital" not in stored and b"secret private value" not in stored
    ds = pydicom.dcmread(io.BytesIO(stored))
    assert str(ds.PatientName) == "" and ds.PatientID == "" and ds.PatientBirthDate == ""
    assert "InstitutionName" not in ds and "AcquisitionDate" not in ds
    assert ds.StudyDate == "" and ds.AccessionNumber == ""
    assert not any(elem.tag.is_private for elem in ds)
    assert ds.PatientIdentityRemoved == "YES" and ds.DeidentificationMethod
    assert ds.SOPInstanceUID == original.SOPInstanceUID
    assert ds.StudyInstanceUID == original.StudyInstanceUID
    assert (ds.pixel_array == original.pixel_array).all()

    image = await stack.client.get(f"/api/cases/{case.id}/image", headers=clinician[1])
    assert image.content == stored and image.headers["content-type"] == "application/dicom"
