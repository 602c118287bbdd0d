"""The statuses the node answers a C-STORE with, and the reason the sender reads.

Codes are PS3.4 Annex B.2.3 (Storage SOP Class, SCP statuses) and PS3.7 Annex C (statuses
every DIMSE service may answer). The reason travels in Error Comment (0000,0902), an LO of at
most 64 characters, and is logged in full by the node.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset

from inference.errors import InputError

SUCCESS = 0x0000
# PS3.7 C.5.x "Refused: SOP Class not supported": not a class a chest film comes in (SR, SEG,
# presentation states, CT...).
SOP_CLASS_NOT_SUPPORTED = 0x0122
# PS3.7 C.5.x "Refused: Not authorized": the node's service account may not make cases now
# (deactivated, or no longer a clinician or admin).
NOT_AUTHORIZED = 0x0124
# PS3.7 C.4.1 "Processing failure": an error of the node itself (logged with its traceback).
PROCESSING_FAILURE = 0x0110
# PS3.4 B.2.3 "Refused: Out of Resources" (A7xx): the instance is over the node's byte or pixel
# limit (A700), or a store it needs is down right now (A701: send again later).
OUT_OF_RESOURCES = 0xA700
DEPENDENCY_DOWN = 0xA701
# PS3.4 B.2.3 "Error: Data Set does not match SOP Class" (A9xx): an image class without one
# usable frame of pixel data.
DOES_NOT_MATCH = 0xA900
# PS3.4 B.2.3 "Error: Cannot understand" (Cxxx): the data cannot be read (C000), or it is read
# and is not what the node analyses: not a frontal chest radiograph (other modality or body
# part, a lateral view) or pixels with burned-in patient details (C001).
CANNOT_UNDERSTAND = 0xC000
NOT_ANALYSED = 0xC001

_FOR_INPUT_ERROR = {
    "too_large": OUT_OF_RESOURCES,
    "too_many_pixels": OUT_OF_RESOURCES,
    "no_pixel_data": DOES_NOT_MATCH,
    "multi_frame": DOES_NOT_MATCH,
    "not_an_image": SOP_CLASS_NOT_SUPPORTED,
    "burned_in_annotation": NOT_ANALYSED,
}


class Refused(Exception):
    """An instance the node will not store: `status` for the sender, `reason` for both."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason

    @classmethod
    def of_input_error(cls, error: InputError) -> Refused:
        """The refusal for what the upload checks said (the same InputError an upload gets)."""
        return cls(_FOR_INPUT_ERROR.get(error.code, CANNOT_UNDERSTAND), error.message)


@dataclass(frozen=True)
class Outcome:
    """What became of one instance: the status, and the case made (None when refused)."""

    status: int
    reason: str = ""
    case_id: str | None = None

    def response(self) -> Dataset:
        """The C-STORE response's status elements."""
        ds = Dataset()
        ds.Status = self.status
        if self.reason:
            text = self.reason.replace("\\", "/")  # LO: no backslash, at most 64 characters
            ds.ErrorComment = text if len(text) <= 64 else text[:61] + "..."
        return ds
