"""A DX film with PHI planted in every kind of place PS3.15 Annex E names, for the
de-identification tests: one attribute or more per action class of the Basic Profile column
(D, Z, X, U and the combined X/Z, X/D, X/Z/D, Z/D, X/Z/U*), the Clean Descriptors option's C
attributes, the K attributes of the Retain Patient Characteristics option we declare, nested
sequences (inside kept and dropped ones), private tags and a private sequence, overlays 60xx
(OverlayData included), curves 50xx, the file meta's PrivateInformation and source AE title.

Every planted value carries a token that appears nowhere else; PLANTED lists them, so a test can
scan whatever comes back (element values, recursively, and raw bytes) for any of them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import DigitalXRayImageStorageForPresentation, ExplicitVRLittleEndian

UPLOAD_NAME = "DOE_JOHN_MRN4471.dcm"
UID_ROOT = "1.2.3.4.4471."  # every original UID starts with it


@dataclass
class PhiFilm:
    data: bytes
    dataset: Dataset
    planted: list[str] = field(default_factory=list)  # tokens that must not survive
    retained: dict[str, str] = field(default_factory=dict)  # 113108: kept as sent


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _pixels(base: bytes, size: int) -> np.ndarray:
    source = pydicom.dcmread(io.BytesIO(base)).pixel_array.astype(np.uint8)
    return np.asarray(Image.fromarray(source).resize((size, size)), dtype=np.uint8)


def phi_laden_dx(base_dicom: bytes, size: int = 512, burned_in: str = "NO") -> PhiFilm:
    """A DX For Presentation film (pixels of ``base_dicom``, a real chest film) full of PHI."""
    planted: list[str] = []

    def t(token: str) -> str:
        planted.append(token)
        return token

    ds = Dataset()
    # --- U: instance UIDs (original ones must never survive) ---------------------------
    ds.SOPClassUID = DigitalXRayImageStorageForPresentation
    ds.SOPInstanceUID = t(UID_ROOT + "1.1")
    ds.StudyInstanceUID = t(UID_ROOT + "2.1")
    ds.SeriesInstanceUID = t(UID_ROOT + "3.1")
    ds.FrameOfReferenceUID = t(UID_ROOT + "4.1")
    ds.IrradiationEventUID = t(UID_ROOT + "5.1")
    # --- Z: patient and study identity (kept empty) -----------------------------------
    ds.PatientName = t("DOE^JOHNPN")
    ds.PatientBirthDate = t("19510723")
    ds.StudyDate = t("20230417")
    ds.StudyTime = t("134501.4471")
    ds.AccessionNumber = t("ACC4471X")
    ds.StudyID = t("STUDYID88X")
    ds.ReferringPhysicianName = t("REFERRER^DRPN")
    ds.ConsultingPhysicianName = t("CONSULT^HOUSEPN")
    # --- Z/D -------------------------------------------------------------------------
    ds.PatientID = t("MRN-4471-22")
    ds.ContentCreatorName = t("CREATOR^DOEPN")
    ds.ContentDate = t("20230420")
    ds.ContentTime = t("101112.4471")
    # --- X/Z, X/D, X/Z/D ---------------------------------------------------------------
    ds.AcquisitionDate = t("20230419")
    ds.AcquisitionTime = t("091011.4471")
    ds.RequestedProcedureDescription = t("RPD for John Doe")
    ds.ProtocolName = t("PROTOCOL John Doe")
    ds.SeriesDate = t("20230418")
    ds.AcquisitionDeviceProcessingDescription = t("ADPD John Doe")
    ds.AcquisitionDateTime = t("20230421101010")
    ds.InstitutionName = t("St Example Hospital")
    ds.StationName = t("XRAYROOM7DOE")
    ds.DeviceSerialNumber = t("SN-77812-DOE")
    ds.OperatorsName = t("OPERATOR^DOEPN")
    ac_item = Dataset()  # X/Z sequence whose item holds text
    ac_item.ConceptNameCodeSequence = Sequence([_code("1111", "99X", t("ACQCTX code Doe"))])
    ac_item.TextValue = t("ACQCTX text John Doe")
    ds.AcquisitionContextSequence = Sequence([ac_item])
    # --- X/Z/U*: references to other images ------------------------------------------
    ref = Dataset()
    ref.ReferencedSOPClassUID = DigitalXRayImageStorageForPresentation
    ref.ReferencedSOPInstanceUID = t(UID_ROOT + "6.1")
    ds.ReferencedImageSequence = Sequence([ref])
    src = Dataset()
    src.ReferencedSOPClassUID = DigitalXRayImageStorageForPresentation
    src.ReferencedSOPInstanceUID = t(UID_ROOT + "7.1")
    ds.SourceImageSequence = Sequence([src])
    # --- X: descriptions (C under Clean Descriptors), clinical text, people -----------
    ds.StudyDescription = t("CXR for John Doe")
    ds.SeriesDescription = t("Chest PA of John Doe")
    ds.ReasonForTheRequestedProcedure = t("RFRP cough, John Doe")
    ds.MedicalAlerts = t("ALERT John Doe penicillin")
    ds.PatientState = t("PATIENTSTATE John Doe")
    ds.PatientAddress = t("12 Elm Street Springfield")
    ds.PatientComments = t("PATCOMMENT John Doe")
    ds.AdditionalPatientHistory = t("HISTORY John Doe")
    ds.ImageComments = t("IMGCOMMENT John Doe")
    ds.DerivationDescription = t("DERIVDESC John Doe")
    ds.AcquisitionComments = t("ACQCOMMENT John Doe")
    ds.InstitutionAddress = t("1 Hospital Road Exampleton")
    ds.PerformingPhysicianName = t("PERFORMER^DOEPN")
    ds.PhysiciansOfRecord = t("RECORD^DOEPN")
    ds.NameOfPhysiciansReadingStudy = t("READER^DOEPN")
    ds.OtherPatientNames = t("ALIAS^JOHNNYPN")
    ds.TimezoneOffsetFromUTC = "+0100"
    other_id = Dataset()
    other_id.PatientID = t("OTHERMRN9931")
    other_id.IssuerOfPatientID = t("ISSUER Example Health")
    ds.OtherPatientIDsSequence = Sequence([other_id])
    request = Dataset()
    request.RequestedProcedureID = t("RPID4471X")
    request.ScheduledProcedureStepID = t("SPSID4471X")
    request.ReasonForTheRequestedProcedure = t("NESTED RFRP John Doe")
    ds.RequestAttributesSequence = Sequence([request])
    ds.WindowCenterWidthExplanation = t("WCWE John Doe")
    # --- D: clinical trial identity --------------------------------------------------
    ds.ClinicalTrialSponsorName = t("SPONSOR ACME Doe")
    ds.ClinicalTrialProtocolID = t("CTPROTO4471")
    ds.ClinicalTrialSubjectID = t("SUBJ4471DOE")
    ds.AcquisitionFieldOfViewLabel = t("FOVLABEL John Doe")
    # --- K (113108): characteristics kept as sent ----------------------------------------
    retained = {
        "PatientSex": "F",
        "PatientAge": "067Y",
        "PatientSize": "1.62",
        "PatientWeight": "58",
    }
    for keyword, value in retained.items():
        setattr(ds, keyword, value)
    # --- kept sequences with a planted element inside their items ----------------------
    region = _code("51185008", "SCT", "Chest")
    region.PatientComments = t("NESTED in region John Doe")
    ds.AnatomicRegionSequence = Sequence([region])
    view = _code("399348003", "SCT", "postero-anterior")
    modifier = _code("399001008", "SCT", "erect")
    modifier.ImageComments = t("NESTED in modifier John Doe")
    view.ViewModifierCodeSequence = Sequence([modifier])
    ds.ViewCodeSequence = Sequence([view])
    # --- what the film needs to be read (kept) ----------------------------------------
    ds.Modality = "DX"
    ds.Manufacturer = t("MANUFACTURER Doe Imaging")
    ds.ManufacturerModelName = t("MODEL DOE-9")
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.BodyPartExamined, ds.ViewPosition = "CHEST", "PA"
    ds.PatientOrientation = ["A", "R"]
    ds.ImageLaterality = "U"
    ds.BurnedInAnnotation = burned_in
    ds.DetectorType = "SCINTILLATOR"
    ds.ImagerPixelSpacing = [0.2, 0.2]
    ds.PixelIntensityRelationship, ds.PixelIntensityRelationshipSign = "LIN", 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    ds.WindowCenter, ds.WindowWidth = 128, 256
    ds.LossyImageCompression = "00"
    ds.PresentationLUTShape = "IDENTITY"
    pixels = _pixels(base_dicom, size)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = pixels.tobytes()
    # --- private tags, and a private sequence with a nested item ------------------------
    block = ds.private_block(0x0009, "ACME PRIVATE 1.0", create=True)
    block.add_new(0x01, "LO", t("PRIVTAG John Doe"))
    inner = Dataset()
    inner.PatientName = t("PRIVSEQ^DOEPN")
    block.add_new(0x02, "SQ", Sequence([inner]))
    # --- overlays 60xx (two planes) and curves 50xx -------------------------------------
    for group in (0x6000, 0x6002):
        ds.add_new((group << 16) | 0x0010, "US", size)  # OverlayRows
        ds.add_new((group << 16) | 0x0011, "US", size)  # OverlayColumns
        ds.add_new((group << 16) | 0x0022, "LO", t(f"OVERLAY DESC {group:04x} John Doe"))
        ds.add_new((group << 16) | 0x0040, "CS", "G")  # OverlayType
        ds.add_new((group << 16) | 0x0050, "SS", [1, 1])  # OverlayOrigin
        ds.add_new((group << 16) | 0x0100, "US", 1)  # OverlayBitsAllocated
        ds.add_new((group << 16) | 0x0102, "US", 0)  # OverlayBitPosition
        ds.add_new((group << 16) | 0x1500, "LO", t(f"OVERLAY LABEL {group:04x} Doe"))
        ds.add_new((group << 16) | 0x4000, "LT", t(f"OVERLAY COMMENT {group:04x} Doe"))
        text = t(f"OVERLAYDATA{group:04x}DOB19510723").encode("ascii")
        ds.add_new((group << 16) | 0x3000, "OW", text.ljust(size * size // 8, b"\0"))
    ds.add_new(0x50000005, "US", 2)  # CurveDimensions
    ds.add_new(0x50000010, "US", 4)  # NumberOfPoints
    ds.add_new(0x50000020, "CS", "POLY")  # TypeOfData
    ds.add_new(0x50000022, "LO", t("CURVE DESC John Doe"))
    ds.add_new(0x50003000, "OB", t("CURVEDATA-JOHNDOE").encode("ascii").ljust(32, b"\0"))
    # --- file meta: PrivateInformation and the sender's AE title ----------------------
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = t(UID_ROOT + "9.1")
    meta.ImplementationVersionName = t("DOEIMPL4471")
    meta.SourceApplicationEntityTitle = t("DOEAE4471")
    meta.PrivateInformationCreatorUID = t(UID_ROOT + "8.1")
    meta.PrivateInformation = t("FILEMETA PRIVATE John Doe").encode("ascii") + b"\0"
    ds.file_meta = meta
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return PhiFilm(buf.getvalue(), ds, planted, retained)


def element_texts(ds: Dataset) -> list[str]:
    """Every element value of ``ds`` (file meta included), as text, recursively."""
    out: list[str] = []

    def walk(d: Dataset) -> None:
        for element in d:
            if element.VR == "SQ":
                for item in element.value:
                    walk(item)
            elif isinstance(element.value, bytes):
                out.append(element.value.decode("latin-1"))
            else:
                out.append(str(element.value))

    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        walk(meta)
    walk(ds)
    return out


def surviving(planted: list[str], data: bytes, ds: Dataset | None = None) -> list[str]:
    """The planted tokens found in ``data`` (raw bytes) or in any element value of ``ds``.
    PN tokens are also looked for with their caret as a space and parts alone."""
    texts = element_texts(ds) if ds is not None else []
    found = []
    for token in planted:
        needles = {token, *(p for p in token.split("^") if len(p) >= 5)}
        if any(n.encode("ascii") in data or any(n in v for v in texts) for n in needles):
            found.append(token)
    return found
