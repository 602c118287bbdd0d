"""DICOM de-identification before anything is stored: a subset of the DICOM PS3.15 Annex E Basic
Application Level Confidentiality Profile, with the "Retain Patient Characteristics" option (sex,
age, size and weight stay: they matter for reading a chest film).

Names, identifiers, dates, times, institutions, staff, devices and every private tag are removed or
emptied, in nested sequences too. Pixel data and the Study/Series/SOP Instance UIDs stay, so the
stored image can still be referenced. Burned-in text in the pixels is not touched.
"""

from __future__ import annotations

import io

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

METHOD = "PS3.15 Basic Profile subset; retain patient characteristics"  # LO: <= 64

# Emptied (kept, zero length): attributes that are Type 2 in common image IODs.
EMPTY = frozenset({
    "PatientName", "PatientID", "PatientBirthDate", "AccessionNumber",
    "ReferringPhysicianName", "StudyID", "StudyDate", "StudyTime", "ContentDate", "ContentTime",
})

# Removed outright.
REMOVE = frozenset({
    # patient identity
    "OtherPatientIDs", "OtherPatientIDsSequence", "OtherPatientNames", "PatientBirthName",
    "PatientBirthTime", "PatientAddress", "PatientTelephoneNumbers", "PatientMotherBirthName",
    "IssuerOfPatientID", "MedicalRecordLocator", "MilitaryRank", "BranchOfService",
    "CountryOfResidence", "RegionOfResidence", "Occupation", "AdditionalPatientHistory",
    "PatientComments", "PatientInsurancePlanCodeSequence", "ReferencedPatientSequence",
    "ResponsiblePerson", "ResponsibleOrganization", "PatientReligiousPreference",
    # dates and times
    "SeriesDate", "AcquisitionDate", "InstanceCreationDate", "SeriesTime", "AcquisitionTime",
    "InstanceCreationTime", "AcquisitionDateTime", "OverlayDate", "CurveDate", "OverlayTime",
    "CurveTime", "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime",
    "PerformedProcedureStepEndDate", "PerformedProcedureStepEndTime", "DateOfLastCalibration",
    "TimeOfLastCalibration", "DateOfSecondaryCapture", "TimeOfSecondaryCapture",
    # institutions, staff and devices
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName",
    "InstitutionCodeSequence", "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers",
    "PerformingPhysicianName", "OperatorsName", "PhysiciansOfRecord",
    "NameOfPhysiciansReadingStudy", "RequestingPhysician", "ScheduledPerformingPhysicianName",
    "StationName", "DeviceSerialNumber", "DeviceUID", "PlateID", "CassetteID",
    "DetectorID", "GantryID",
    # orders and procedure steps
    "RequestAttributesSequence", "PerformedProcedureStepID", "ScheduledProcedureStepID",
    "RequestedProcedureID", "PerformedProcedureStepDescription", "ImageComments",
    "StudyComments", "RequestedContrastAgent", "ReasonForStudy", "RequestingService",
    "FillerOrderNumberImagingServiceRequest", "PlacerOrderNumberImagingServiceRequest",
})


def _scrub(dataset: Dataset, element: DataElement) -> None:
    keyword = element.keyword
    if keyword in REMOVE:
        del dataset[element.tag]
    elif keyword in EMPTY:
        element.value = None if element.VR != "SQ" else Sequence()


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
    return item


def deidentify_dicom(data: bytes) -> bytes:
    """Return a de-identified copy of a DICOM Part 10 file (raises on unreadable input)."""
    ds = pydicom.dcmread(io.BytesIO(data), force=False)
    ds.walk(_scrub)
    ds.remove_private_tags()
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD
    ds.DeidentificationMethodCodeSequence = Sequence([
        _code("113100", "Basic Application Confidentiality Profile"),
        _code("113108", "Retain Patient Characteristics Option"),
    ])
    ds.LongitudinalTemporalInformationModified = "REMOVED"
    ds.preamble = b"\x00" * 128  # a TIFF header there would point at offsets that moved
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
