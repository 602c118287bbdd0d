"""What the identity map keeps of a received instance: the UIDs its results must reference and
the Patient and General Study attributes they must repeat, so a PACS files them in the same
study under the same patient (PS3.3 C.7.1.1, C.7.2.1: derived objects of a study carry the
study's values). Nothing else of the header is kept: no descriptions, devices or institutions.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from pydicom.dataset import Dataset

# the keyword of each field, in the header and in the objects sent back
KEYWORDS = {
    "study_uid": "StudyInstanceUID",
    "series_uid": "SeriesInstanceUID",
    "sop_instance_uid": "SOPInstanceUID",
    "sop_class_uid": "SOPClassUID",
    "frame_of_reference_uid": "FrameOfReferenceUID",
    "patient_id": "PatientID",
    "issuer_of_patient_id": "IssuerOfPatientID",
    "patient_name": "PatientName",
    "patient_birth_date": "PatientBirthDate",
    "patient_sex": "PatientSex",
    "accession_number": "AccessionNumber",
    "study_id": "StudyID",
    "study_date": "StudyDate",
    "study_time": "StudyTime",
    "referring_physician_name": "ReferringPhysicianName",
}
# Type 2 in the Patient and General Study modules: present, empty when unknown
TYPE_2 = frozenset(
    {
        "PatientID",
        "PatientName",
        "PatientBirthDate",
        "PatientSex",
        "AccessionNumber",
        "StudyID",
        "StudyDate",
        "StudyTime",
        "ReferringPhysicianName",
    }
)


@dataclass(frozen=True)
class Identity:
    """The original identifiers of one instance; "" where the header had none."""

    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    frame_of_reference_uid: str = ""
    patient_id: str = ""
    issuer_of_patient_id: str = ""
    patient_name: str = ""
    patient_birth_date: str = ""
    patient_sex: str = ""
    accession_number: str = ""
    study_id: str = ""
    study_date: str = ""
    study_time: str = ""
    referring_physician_name: str = ""

    @classmethod
    def of_header(cls, ds: Dataset) -> Identity:
        return cls(
            **{name: str(ds.get(keyword, "") or "").strip() for name, keyword in KEYWORDS.items()}
        )

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Identity:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in json.loads(data).items() if k in known})

    def apply(self, ds: Dataset) -> None:
        """Give `ds` (a reference data set for highdicom) the original study, patient and
        instance: the objects built from it then file into the original study."""
        for name, keyword in KEYWORDS.items():
            value = getattr(self, name)
            if value:
                setattr(ds, keyword, value)
            elif keyword in TYPE_2:
                setattr(ds, keyword, None)  # present and empty, as the study had it
            elif keyword in ds:
                del ds[keyword]  # e.g. a frame of reference the original did not have
