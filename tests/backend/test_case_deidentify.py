"""DICOM uploads are de-identified to PS3.15 Annex E (Basic Profile + Retain Patient
Characteristics) before they reach S3: a film with PHI in every kind of place Annex E names
is uploaded through the API and everything that comes back is scanned for it (issue 12)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest
import sqlalchemy as sa

from backend.cases.deidentify import IMPLEMENTATION_CLASS_UID, UidMap, deidentify_dicom
from backend.platform.migrate import upgrade
from tests.backend.backend_testkit import Stack, upload_files
from tests.backend.phi_dicom import UID_ROOT, UPLOAD_NAME, PhiFilm, phi_laden_dx, surviving

UID_KEYWORDS = ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID")


@pytest.fixture(scope="module")
def film(shared_data: Path) -> PhiFilm:
    return phi_laden_dx((shared_data / "samples" / "dicom" / "nccid-dx-1024.dcm").read_bytes())


def _tokens(film: PhiFilm) -> list[str]:
    return [*film.planted, UPLOAD_NAME.removesuffix(".dcm")]


async def _upload(stack: Stack, headers: dict[str, str], data: bytes) -> dict:  # type: ignore[type-arg]
    r = await stack.client.post(
        "/api/cases", headers=headers, files=upload_files(data, UPLOAD_NAME)
    )
    assert r.status_code == 202, r.text
    return dict(r.json())


async def test_phi_film_is_stored_without_any_of_it(
    stack: Stack, clinician, admin, film: PhiFilm
) -> None:
    tokens = _tokens(film)
    created = await _upload(stack, clinician[1], film.data)
    assert surviving(tokens, json.dumps(created).encode()) == []
    assert created["source_format"] == "dicom" and created["original_filename"] == "image.dcm"
    case = await stack.get_case(created["id"])
    assert case is not None and case.original_filename == "image.dcm"
    assert case.image_key.endswith("/original.dcm") and "DOE" not in case.image_key

    stored = stack.get_object(case.image_key)
    ds = pydicom.dcmread(io.BytesIO(stored))
    assert surviving(tokens, stored, ds) == []
    # U: new 2.25 UIDs, none of the originals, the file meta agreeing with the data set
    for keyword in UID_KEYWORDS:
        assert ds[keyword].value.startswith("2.25."), keyword
    assert not any(UID_ROOT in str(e.value) for e in ds.iterall() if e.VR == "UI")
    meta = ds.file_meta
    assert meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
    assert "PrivateInformation" not in meta and "PrivateInformationCreatorUID" not in meta
    assert "SourceApplicationEntityTitle" not in meta
    # X and D: gone, at every level; overlays, curves and private tags too
    tags = [e.tag for e in ds.iterall()]
    assert not [t for t in tags if t.group & 0xFF00 in (0x5000, 0x6000) or t.is_private]
    for keyword in (
        "StudyDescription",
        "SeriesDescription",
        "ProtocolName",
        "MedicalAlerts",
        "OtherPatientIDsSequence",
        "ReferencedImageSequence",
        "ContentDate",
        "ClinicalTrialSponsorName",
        "InstitutionName",
        "TimezoneOffsetFromUTC",
    ):
        assert keyword not in ds, keyword
    assert list(ds.AnatomicRegionSequence[0].keys()) == [0x00080100, 0x00080102, 0x00080104]
    # Z: Type 2, empty; K (113108): as sent
    assert ds.PatientName == "" and ds.PatientID == "" and ds.StudyDate == ""
    assert ds.Manufacturer == "" and len(ds.AcquisitionContextSequence) == 0
    assert {k: str(ds[k].value) for k in film.retained} == film.retained
    # the declaration
    assert ds.PatientIdentityRemoved == "YES" and ds.BurnedInAnnotation == "NO"
    assert [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] == ["113100", "113108"]
    assert all(c.CodingSchemeDesignator == "DCM" for c in ds.DeidentificationMethodCodeSequence)
    assert ds.LongitudinalTemporalInformationModified == "REMOVED"
    # what the film needs to be read survives
    assert (ds.pixel_array == film.dataset.pixel_array).all()
    assert (ds.Modality, ds.ViewPosition, ds.BodyPartExamined) == ("DX", "PA", "CHEST")
    assert list(ds.PatientOrientation) == ["A", "R"] and ds.WindowWidth == 256

    image = await stack.client.get(f"/api/cases/{case.id}/image", headers=clinician[1])
    assert image.content == stored and "DOE" not in image.headers["content-disposition"]
    preview = await stack.client.get(f"/api/cases/{case.id}/preview", headers=clinician[1])
    assert preview.status_code == 200 and surviving(tokens, preview.content) == []
    for path in (
        f"/api/cases/{case.id}",
        "/api/cases?limit=100",
        f"/api/admin/audit?case_id={case.id}",
    ):
        r = await stack.client.get(path, headers=admin[1])
        assert r.status_code == 200 and surviving(tokens, r.content) == [], path
    detail = (await stack.client.get(f"/api/cases/{case.id}", headers=clinician[1])).json()
    assert detail["original_filename"] == "image.dcm"


async def test_every_upload_gets_new_uids(stack: Stack, clinician, film: PhiFilm) -> None:
    first, second = [(await _upload(stack, clinician[1], film.data))["id"] for _ in range(2)]
    uids = []
    for case_id in (first, second):
        case = await stack.get_case(case_id)
        assert case is not None
        ds = pydicom.dcmread(io.BytesIO(stack.get_object(case.image_key)))
        uids.append({k: ds[k].value for k in UID_KEYWORDS})
    assert all(uids[0][k] != uids[1][k] for k in UID_KEYWORDS)


def test_uid_map_is_consistent_within_an_upload_only() -> None:
    one, other = UidMap(), UidMap()
    uid = UID_ROOT + "1.1"
    assert one(uid) == one(uid) != other(uid)
    assert one(uid) != one(UID_ROOT + "1.2")
    assert one(uid).startswith("2.25.") and len(one(uid)) <= 64
    assert UidMap(b"k" * 32)(uid) == UidMap(b"k" * 32)(uid)  # derived, not random per call


def test_references_inside_a_file_follow_the_same_map(film: PhiFilm) -> None:
    ds = film.dataset.copy()
    ds.FrameOfReferenceUID = ds.StudyInstanceUID  # one original UID in two places
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    out = pydicom.dcmread(io.BytesIO(deidentify_dicom(buf.getvalue())))
    assert out.FrameOfReferenceUID == out.StudyInstanceUID != ds.StudyInstanceUID


async def test_burned_in_annotation_is_refused(stack: Stack, clinician, shared_data: Path) -> None:
    burned = phi_laden_dx(
        (shared_data / "samples" / "dicom" / "nccid-dx-1024.dcm").read_bytes(),
        size=64,
        burned_in="YES",
    )
    objects, cases = stack.object_count(), await stack.case_count()
    r = await stack.client.post(
        "/api/cases", headers=clinician[1], files=upload_files(burned.data, UPLOAD_NAME)
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "burned_in_annotation"
    assert "BurnedInAnnotation = YES" in body["detail"] and "burned-in" in body["detail"]
    assert stack.object_count() == objects and await stack.case_count() == cases


@pytest.mark.parametrize(("sent", "stored"), [("81", "081Y"), ("067Y", "067Y"), ("old", "")])
def test_patient_age_is_a_valid_age_string(film: PhiFilm, sent: str, stored: str) -> None:
    ds = film.dataset.copy()
    ds.PatientAge = sent
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    assert pydicom.dcmread(io.BytesIO(deidentify_dicom(buf.getvalue()))).PatientAge == stored


def test_stored_film_is_a_valid_dx_object(film: PhiFilm, tmp_path: Path) -> None:
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy not found: install the Debian package dicom3tools")
    path = tmp_path / "stored.dcm"
    path.write_bytes(deidentify_dicom(film.data))
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    report = out.stdout + out.stderr
    assert "DXImageForPresentation" in report
    assert [line for line in report.splitlines() if line.startswith("Error")] == [], report


def test_migration_neutralises_stored_file_names(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'names.db'}"
    upgrade(url, "5e1f0c2a9d41")  # the revision before the security work
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'names.db'}")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, email, full_name, role, password_hash, is_active, "
                "failed_logins, created_at) VALUES (1, 'a@example.org', 'A', 'clinician', 'x', 1, "
                "0, '2026-01-01')"
            )
        )
        for n, (name, fmt) in enumerate(
            [(UPLOAD_NAME, "dicom"), ("DOE_JANE.png", "png"), ("doe jane.jpeg", "jpeg")]
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO cases (id, owner_id, status, priority, original_filename, "
                    "source_format, content_sha256, image_key, attempts, review_state, "
                    "created_at, updated_at) VALUES (:id, 1, 'done', 'routine', :name, :fmt, '', "
                    "'k', 0, 'unreviewed', '2026-01-01', '2026-01-01')"
                ),
                {"id": f"c{n}", "name": name, "fmt": fmt},
            )
    upgrade(url)
    with engine.connect() as conn:
        names = dict(conn.execute(sa.text("SELECT id, original_filename FROM cases")).all())
    engine.dispose()
    assert names == {"c0": "image.dcm", "c1": "image.png", "c2": "image.jpg"}
