"""The QaTa-COV19 layout of ../shared/data/qata-cov19, written from reviewed cases (pure and
blocking helpers; backend.datasets.service drives them).

images/<case>.png  8-bit grayscale 224x224, decoded by the inference core from the stored upload
masks/mask_<case>.png  1-bit: the model's mask, resized with nearest neighbour, or all zeros for a
                 film the reviewer signed off as lesion-free (mask_source says which)
annotations.csv  split,image,mask,description,laterality,infected_zones,zones (+ case_id,
                 review_state, model_version, mask_source); a cell a spreadsheet would run as
                 a formula is written as text (backend.platform.csv_cells)

Which reviewed cases go in (left_out says why one does not): accepted ones, with the model's
mask; edited ones the reviewer corrected to no lesion (ReviewOutcome.no_lesion), with an EMPTY
mask; edited ones whose lesion zones are the model's (the words changed), with the model's mask.
Left out: rejected cases; edits naming no zone (zones unknown); and edits that move the lesion
to other zones, because reviewers do not redraw masks and the model's mask would contradict
the reviewer's zones.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import astuple, dataclass, fields

import numpy as np
from PIL import Image

from backend.cases.models import Case
from backend.platform.csv_cells import FORMULA_START, csv_safe
from backend.reviews.enums import ReviewState
from backend.reviews.outcome import ReviewOutcome, zone_dict
from inference.decode import decode
from inference.findings import ZONE_ORDER, Findings
from inference.sides import FindingsParseError, is_mirrored, parse_patient, to_image

SIZE = 224
VALID_PERCENT = 20
MODEL_MASK, EMPTY_MASK = "model", "empty"  # mask_source: the model's mask, or all zeros
ZONES_UNKNOWN = "zones unknown (edited text names no lung zone, no zone flags)"
ZONES_MOVED = (
    "the reviewer moved the lesion to other zones; the model's mask was not redrawn "
    "and would contradict them"
)


def split_for(case_id: str) -> str:
    """Deterministic 80/20 split by a hash of the case id: a case keeps its split in every
    export, so a later export never moves a validation case into training."""
    bucket = int(hashlib.sha256(case_id.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "valid" if bucket < VALID_PERCENT else "train"


@dataclass(frozen=True)
class AnnotationRow:
    split: str
    image: str
    mask: str
    description: str
    laterality: int  # 0 none, 1 unilateral, 2 bilateral (the data set's coding)
    infected_zones: int
    zones: str  # six 0/1 flags in ZONE_ORDER
    case_id: str
    review_state: str
    model_version: str
    mask_source: str  # MODEL_MASK or EMPTY_MASK (the reviewer signed off no lesion)


COLUMNS = tuple(f.name for f in fields(AnnotationRow))


def _description(outcome: ReviewOutcome, findings: Findings) -> str:
    """The data set's sentence (image sides) for the confirmed zones; a reviewer's edited text
    only when it names no lung side that would need turning (free text is kept as written)."""
    text = (outcome.findings_text or "").strip() if outcome.state == ReviewState.EDITED else ""
    if text:
        try:
            parse_patient(text)
        except FindingsParseError:
            return text
    return findings.sentence()


def left_out(case: Case, outcome: ReviewOutcome) -> str | None:
    """Why a reviewed case is not exported, or None when it is (the module docstring's rules)."""
    if not outcome.is_final:
        return f"{outcome.state}: only accepted and edited cases are exported"
    if outcome.zone_flags is None:
        return ZONES_UNKNOWN
    if (
        outcome.state == ReviewState.EDITED
        and not outcome.no_lesion
        and (outcome.zone_flags != zone_dict(case.zone_flags))
    ):
        return ZONES_MOVED
    return None


def annotation_row(case: Case, outcome: ReviewOutcome) -> AnnotationRow:
    """The reviewed annotation of a case that left_out lets through."""
    flags = outcome.zone_flags
    assert flags is not None and outcome.is_final, "call left_out first"
    # Training keeps the data set's image-side convention: the patient-side flags a person
    # confirmed are turned back into image sides (standard display) and the data set's sentence.
    image_flags = to_image(flags)
    zones = tuple(image_flags[z] for z in ZONE_ORDER)
    findings = Findings(zones=zones)  # type: ignore[arg-type]
    return AnnotationRow(
        split=split_for(case.id),
        image=f"{case.id}.png",
        mask=f"mask_{case.id}.png",
        description=_description(outcome, findings),
        laterality={"bilateral": 2, "unilateral": 1}.get(findings.laterality, 0),
        infected_zones=findings.count,
        zones=" ".join("1" if z else "0" for z in zones),
        case_id=case.id,
        review_state=outcome.state,
        model_version=case.model_version or "",
        mask_source=EMPTY_MASK if outcome.no_lesion else MODEL_MASK,
    )


def image_png(stored: bytes) -> tuple[bytes, bool]:
    """The stored upload as the model sees it (decoded: DICOM windowing, MONOCHROME1 ...;
    8-bit, resized bilinear to 224x224 as inference.preprocess does), in standard display: a
    DICOM film whose PatientOrientation says it is displayed mirrored is flipped left-right, so
    that the patient's right is on the image's left in every exported image. Also returns
    whether it was flipped (its mask must be too)."""
    decoded = decode(stored)
    mirrored = is_mirrored(decoded.meta.get("patient_orientation"))
    img = Image.fromarray(np.round(np.clip(decoded.pixels, 0, 1) * 255).astype(np.uint8), mode="L")
    if img.size != (SIZE, SIZE):
        img = img.resize((SIZE, SIZE), Image.Resampling.BILINEAR)
    return _png(_standard(img, mirrored)), mirrored


def mask_png(stored: bytes, mirrored: bool = False) -> bytes:
    mask = Image.open(io.BytesIO(stored)).convert("L")
    if mask.size != (SIZE, SIZE):
        mask = mask.resize((SIZE, SIZE), Image.Resampling.NEAREST)
    return _png(_standard(Image.fromarray(np.asarray(mask) > 127).convert("1"), mirrored))


def _standard(img: Image.Image, mirrored: bool) -> Image.Image:
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if mirrored else img


def empty_mask_png() -> bytes:
    """The mask of a film the reviewer signed off as lesion-free: all zeros, as training gives
    its normal films (training/mixed.py); no mask file would break the layout's one-per-row."""
    return _png(Image.new("1", (SIZE, SIZE), 0))


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def annotations_csv(rows: list[AnnotationRow]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([csv_safe(v) for v in astuple(r)] for r in rows)
    return buf.getvalue().encode("utf-8")


def readme(*, created: str, by: str, rows: list[AnnotationRow], skipped: dict[str, str]) -> str:
    train = sum(r.split == "train" for r in rows)
    left_out = "".join(f"  {case_id}: {why}\n" for case_id, why in sorted(skipped.items()))
    empty = sum(r.mask_source == EMPTY_MASK for r in rows)
    return f"""MedSegText reviewed-case export
created {created} by {by}

{len(rows)} cases: {train} train, {len(rows) - train} valid (split fixed by a hash of the case
id: {VALID_PERCENT}% valid); {empty} of them signed off as lesion-free (empty mask).
{len(skipped)} reviewed cases were left out:
{left_out or "  none"}

WHICH CASES: the reviewer's truth, from each case's LATEST review.
- accepted: in, with the model's mask and the model's zones.
- edited to no lesion (the reviewer cleared every zone flag, so the sentence reads
  "No focal opacity detected."; the text "Abnormal film; lesion not outlined." does not
  count): in, with an EMPTY mask (all zeros) and no zone. Empty, not absent: every row of
  this layout has a mask file, and an all-zero mask is how training labels a lesion-free film.
- edited, same lesion zones as the model (only the words changed): in, with the model's mask.
- edited to other lesion zones: left out. Reviewers correct zones, not outlines, so the
  model's mask would still outline what the reviewer corrected.
- edited with a sentence that names no lung zone and no zone flags: left out (zones unknown).
- rejected: left out. Rejected cases are excluded.

Layout: as QaTa-COV19 - images/, masks/, annotations.csv (split, image, mask, description,
laterality, infected_zones, zones, then case_id, review_state, model_version, mask_source).
Read it with training.data.read_records / load_arrays; fine-tune with
  medsegtext train --data <this folder> --init-from <checkpoint.pt>

images/: each stored upload decoded by the inference core (DICOM rescale, window, MONOCHROME1
inverted), 8-bit grayscale, resized to {SIZE}x{SIZE} (bilinear), in standard display.

masks/: mask_source "{MODEL_MASK}": the MODEL's lesion mask, resized to {SIZE}x{SIZE}
(nearest); reviewers did NOT redraw it, so treat it as a pseudo-label. mask_source
"{EMPTY_MASK}": all zeros, because the reviewer signed the film off as lesion-free.

SIDES: zones and description use the DATA SET's IMAGE-SIDE convention, for training, unlike
the portal, reports and API, which name the PATIENT's side (zone keys patient_right_upper ...).
Here "left" is the IMAGE's left, as in QaTa-COV19: the patient's RIGHT, because every image
(and its mask) is in standard display: the patient's right on the image's left. A DICOM film
whose PatientOrientation row direction is "R" (displayed mirrored) is flipped left-right, with
its mask, before export; the reviewer-confirmed patient-side flags are turned into image sides
for that standard display.

description / zones: what the reviewer confirmed (accepted: the model's flags; edited: the
reviewer's corrected flags, else the flags parsed from the reviewer's sentence), with the
description rendered from those zones in the data set's sentence template (image sides); a
reviewer's edited text is kept as written only when it names no lung zone.
laterality: 0 none, 1 unilateral, 2 bilateral. Zone order: {", ".join(ZONE_ORDER)}.
A cell that starts with one of {" ".join(repr(c) for c in FORMULA_START)} is written with a
leading ' so that a spreadsheet shows it as text instead of running it as a formula.

Privacy: the images come from de-identified uploads and carry no DICOM header; patient
references are not exported. Text burned into the pixels is not removed.
"""
