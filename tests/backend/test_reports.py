"""Reports of a real model result: PDF, FHIR R4 DiagnosticReport, DICOM SEG and SR."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from PIL import Image
from pydicom.uid import EnhancedSRStorage, ExplicitVRLittleEndian, SegmentationStorage

from backend.reports.dicom_export import NotExportable, reference_dataset
from tests.backend.backend_testkit import Stack
from tests.backend.model_kit import pdf_text, qata, review, run_model, upload

REPORTS = ("report.pdf", "report.fhir.json", "seg.dcm", "sr.dcm")


@pytest.fixture(scope="module")
def dicom_sample(shared_data: Path) -> bytes:
    """The real DX sample's header around a QaTa film with a lesion: model 2.0.0 reads the
    sample's own film as no lesion, and a SEG of nothing would show nothing."""
    ds = pydicom.dcmread(shared_data / "samples" / "dicom" / "nccid-dx-1024.dcm")
    film = np.asarray(
        Image.open(shared_data / "qata-cov19" / "images" / "covid_1.png").convert("L")
    )
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.Rows, ds.Columns = film.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelData = film.tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


async def _events(stack: Stack, admin_headers: dict[str, str], case_id: str) -> list[dict]:  # type: ignore[type-arg]
    r = await stack.client.get(
        f"/api/admin/audit?case_id={case_id}&action=report.download", headers=admin_headers
    )
    return list(r.json()["items"])


async def test_pdf_and_fhir_follow_the_review(
    stack: Stack, clinician, reviewer, admin, shared_data: Path
) -> None:
    case_id = await upload(
        stack,
        clinician[1],
        qata(shared_data, "covid_1.png"),
        patient_ref="MRN-77",
        priority="urgent",
    )
    early = await stack.client.get(f"/api/cases/{case_id}/report.pdf", headers=clinician[1])
    assert early.status_code == 409 and "queued" in early.json()["detail"]
    case = await run_model(stack, case_id)

    pdf = await stack.client.get(f"/api/cases/{case_id}/report.pdf", headers=clinician[1])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and b"/Image" in pdf.content
    text = pdf_text(pdf.content)
    for expected in (
        "Decision support only",
        "Zone map",
        "patient's right upper",
        "Lesion burden",
        f"medsegtext-segfind {case.model_version}",
        "Not reviewed yet",
        "MRN-77",
    ):
        assert expected in text, expected

    fhir = await stack.client.get(f"/api/cases/{case_id}/report.fhir.json", headers=clinician[1])
    assert fhir.status_code == 200
    assert fhir.headers["content-type"].startswith("application/fhir+json")
    report = DiagnosticReport.model_validate(fhir.json())
    assert report.status == "preliminary"
    assert report.conclusion == f"Model output — awaiting review: {case.findings_text}"
    contained = {o.id: o for o in report.contained}
    assert len(contained) == 8  # six zones, lesion burden, laterality
    assert [r.reference for r in report.result] == [f"#{i}" for i in contained]
    assert float(contained["zone-patient-right-upper"].valueQuantity.value) == pytest.approx(
        case.zone_probabilities["patient_right_upper"], abs=1e-4
    )
    assert float(contained["lesion-burden"].valueQuantity.value) == pytest.approx(
        case.lesion_burden_percent, abs=1e-3
    )
    assert contained["laterality"].valueCodeableConcept.text == case.laterality

    corrected = {z: not bool(case.zone_flags[z]) for z in case.zone_flags}
    edited = "unilateral pulmonary infection, one infected area, lower right lung."
    await review(
        stack,
        reviewer[1],
        case_id,
        decision="edit",
        findings_text=edited,
        zone_flags=corrected,
        comment="upper zones clear",
    )
    final = DiagnosticReport.model_validate(
        (
            await stack.client.get(f"/api/cases/{case_id}/report.fhir.json", headers=clinician[1])
        ).json()
    )
    assert final.status == "final" and final.conclusion == edited
    assert final.resultsInterpreter[0].display == "Test reviewer"
    zone = {o.id: o for o in final.contained}["zone-patient-right-upper"]
    assert zone.interpretation[0].coding[0].code == (
        "POS" if corrected["patient_right_upper"] else "NEG"
    )
    text = pdf_text(
        (await stack.client.get(f"/api/cases/{case_id}/report.pdf", headers=clinician[1])).content
    )
    assert "reviewed by Test reviewer" in text and "Edited by Test reviewer" in text

    await review(stack, reviewer[1], case_id, decision="reject")
    rejected = (
        await stack.client.get(f"/api/cases/{case_id}/report.fhir.json", headers=reviewer[1])
    ).json()
    assert rejected["status"] == "entered-in-error"

    formats = [e["detail"]["format"] for e in await _events(stack, admin[1], case_id)]
    assert sorted(formats) == ["fhir", "fhir", "fhir", "pdf", "pdf"]


async def test_reports_are_authorised_like_the_case(
    stack: Stack, clinician, admin, shared_data: Path
) -> None:
    case_id = await upload(stack, clinician[1], qata(shared_data, "covid_100.png"))
    await run_model(stack, case_id)
    _, stranger = await stack.user_headers("clinician")
    for name in REPORTS:
        r = await stack.client.get(f"/api/cases/{case_id}/{name}", headers=stranger)
        assert r.status_code == 404, (name, r.text)
        anonymous = await stack.client.get(f"/api/cases/{case_id}/{name}")
        assert anonymous.status_code == 401
    for name in ("seg.dcm", "sr.dcm"):  # a PNG upload has no DICOM source to refer to
        r = await stack.client.get(f"/api/cases/{case_id}/{name}", headers=clinician[1])
        assert r.status_code == 409 and "only for DICOM uploads" in r.json()["detail"]
    assert await _events(stack, admin[1], case_id) == []  # refusals download nothing


async def test_dicom_seg_and_sr(
    stack: Stack, clinician, reviewer, admin, dicom_sample: bytes
) -> None:
    case_id = await upload(stack, clinician[1], dicom_sample, "chest.dcm")
    case = await run_model(stack, case_id)
    # the exports reference the stored (de-identified, new UIDs) image, not the upload
    source = pydicom.dcmread(io.BytesIO(stack.get_object(case.image_key)))
    assert source.StudyInstanceUID != pydicom.dcmread(io.BytesIO(dicom_sample)).StudyInstanceUID

    r = await stack.client.get(f"/api/cases/{case_id}/seg.dcm", headers=clinician[1])
    assert r.status_code == 200 and r.headers["content-type"] == "application/dicom"
    seg = pydicom.dcmread(io.BytesIO(r.content))
    assert seg.SOPClassUID == SegmentationStorage
    assert seg.StudyInstanceUID == source.StudyInstanceUID
    ref = seg.ReferencedSeriesSequence[0]
    assert ref.SeriesInstanceUID == source.SeriesInstanceUID
    assert ref.ReferencedInstanceSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert len(seg.SegmentSequence) == 1
    assert seg.SegmentSequence[0].SegmentAlgorithmName == case.model_name
    assert (seg.Rows, seg.Columns) == (source.Rows, source.Columns)
    stored = np.asarray(Image.open(io.BytesIO(stack.get_object(case.mask_key)))) > 127
    assert int(seg.pixel_array.astype(bool).sum()) == int(stored.sum()) > 0
    again = pydicom.dcmread(
        io.BytesIO(
            (await stack.client.get(f"/api/cases/{case_id}/seg.dcm", headers=clinician[1])).content
        )
    )
    assert again.SOPInstanceUID == seg.SOPInstanceUID  # same content, same instance

    sr = pydicom.dcmread(
        io.BytesIO(
            (await stack.client.get(f"/api/cases/{case_id}/sr.dcm", headers=clinician[1])).content
        )
    )
    assert sr.SOPClassUID == EnhancedSRStorage and sr.VerificationFlag == "UNVERIFIED"
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == source.StudyInstanceUID
    assert (
        evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        == source.SOPInstanceUID
    )
    texts = [i.TextValue for i in sr.ContentSequence if i.ValueType == "TEXT"]
    assert case.findings_text in texts
    zones = {
        i.ConceptNameCodeSequence[0].CodeValue: i.ConceptNameCodeSequence[0].CodeMeaning
        for i in sr.ContentSequence
        if i.ValueType == "NUM"
    }
    assert zones["zone-pt-r-middle"] == "Lesion probability, patient's right middle zone"
    assert all(len(code) <= 16 for code in zones)
    assert any("Decision support only" in t for t in texts)

    await review(stack, reviewer[1], case_id, decision="accept")
    verified = pydicom.dcmread(
        io.BytesIO(
            (await stack.client.get(f"/api/cases/{case_id}/sr.dcm", headers=reviewer[1])).content
        )
    )
    assert verified.VerificationFlag == "VERIFIED" and verified.CompletionFlag == "COMPLETE"
    assert verified.SOPInstanceUID != sr.SOPInstanceUID  # new content, new instance
    formats = [e["detail"]["format"] for e in await _events(stack, admin[1], case_id)]
    assert sorted(formats) == ["seg", "seg", "sr", "sr"]
    assert json.loads(json.dumps(formats))  # plain JSON in the audit log


async def test_dicom_without_study_or_series_uid_exports(
    stack: Stack, clinician, dicom_sample: bytes
) -> None:
    """A film without Study/Series Instance UIDs (some converters leave them out) is stored with
    new ones, which its SEG and SR reference."""
    ds = pydicom.dcmread(io.BytesIO(dicom_sample))
    del ds.StudyInstanceUID, ds.SeriesInstanceUID
    buf = io.BytesIO()
    ds.save_as(buf)
    case_id = await upload(stack, clinician[1], buf.getvalue(), "no-uids.dcm")
    case = await run_model(stack, case_id)
    source = pydicom.dcmread(io.BytesIO(stack.get_object(case.image_key)))
    assert source.StudyInstanceUID.startswith("2.25.")
    assert source.SeriesInstanceUID.startswith("2.25.")
    assert source.StudyInstanceUID != source.SeriesInstanceUID

    r = await stack.client.get(f"/api/cases/{case_id}/seg.dcm", headers=clinician[1])
    assert r.status_code == 200, r.text
    seg = pydicom.dcmread(io.BytesIO(r.content))
    assert seg.StudyInstanceUID == source.StudyInstanceUID
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == source.SeriesInstanceUID
    r = await stack.client.get(f"/api/cases/{case_id}/sr.dcm", headers=clinician[1])
    assert r.status_code == 200, r.text
    evidence = pydicom.dcmread(io.BytesIO(r.content)).CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == source.StudyInstanceUID
    assert evidence.ReferencedSeriesSequence[0].SeriesInstanceUID == source.SeriesInstanceUID


def test_stored_film_without_uids_is_not_exportable(dicom_sample: bytes) -> None:
    """A film stored before de-identification made missing UIDs: a 409 that says why (the
    service turns NotExportable into Conflict), not an AttributeError."""
    ds = pydicom.dcmread(io.BytesIO(dicom_sample))
    del ds.SeriesInstanceUID
    buf = io.BytesIO()
    ds.save_as(buf)
    with pytest.raises(NotExportable, match="SeriesInstanceUID"):
        reference_dataset(buf.getvalue(), declare=True)
