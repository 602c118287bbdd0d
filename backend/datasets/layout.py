"""The QaTa-COV19 layout of ../shared/data/qata-cov19, written from reviewed cases (pure and
blocking helpers; backend.datasets.service drives them).

images/<case>.png  8-bit grayscale 224x224, decoded by the inference core from the stored upload
masks/mask_<case>.png  the model's mask (1-bit), resized with nearest neighbour
annotations.csv  split,image,mask,description,laterality,infected_zones,zones (+ case_id,
                 review_state, model_version); a cell a spreadsheet would run as a formula
                 is written as text (backend.platform.csv_cells)
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
from backend.reviews.outcome import ReviewOutcome
from inference.decode import decode
from inference.findings import ZONE_ORDER, Findings
from inference.sides import FindingsParseError, parse_patient, to_image

SIZE = 224
VALID_PERCENT = 20


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


def annotation_row(case: Case, outcome: ReviewOutcome) -> AnnotationRow | None:
    """The reviewed annotation of a case, or None when its zones are unknown (an edited
    sentence naming no zone, with no corrected flags)."""
    flags = outcome.zone_flags
    if flags is None or not outcome.is_final:
        return None
    # Training keeps the data set's image-side convention: the patient-side flags a person
    # confirmed are turned back into image sides (standard display) and the data set's sentence.
    image_flags = to_image(flags)
    zones = tuple(image_flags[z] for z in ZONE_ORDER)
    findings = Findings(zones=zones)  # type: ignore[arg-type]
    return AnnotationRow(
        split=split_for(case.id), image=f"{case.id}.png", mask=f"mask_{case.id}.png",
        description=_description(outcome, findings),
        laterality={"bilateral": 2, "unilateral": 1}.get(findings.laterality, 0),
        infected_zones=findings.count, zones=" ".join("1" if z else "0" for z in zones),
        case_id=case.id, review_state=outcome.state, model_version=case.model_version or "")


def image_png(stored: bytes) -> bytes:
    """The stored upload as the model sees it: decoded (DICOM windowing, MONOCHROME1 ...),
    8-bit, resized bilinear to 224x224 (as inference.preprocess does)."""
    pixels = decode(stored).pixels
    img = Image.fromarray(np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8), mode="L")
    if img.size != (SIZE, SIZE):
        img = img.resize((SIZE, SIZE), Image.Resampling.BILINEAR)
    return _png(img)


def mask_png(stored: bytes) -> bytes:
    mask = Image.open(io.BytesIO(stored)).convert("L")
    if mask.size != (SIZE, SIZE):
        mask = mask.resize((SIZE, SIZE), Image.Resampling.NEAREST)
    return _png(Image.fromarray(np.asarray(mask) > 127).convert("1"))


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


def readme(*, created: str, by: str, rows: list[AnnotationRow], skipped: dict[str, str]
           ) -> str:
    train = sum(r.split == "train" for r in rows)
    left_out = "".join(f"  {case_id}: {why}\n" for case_id, why in sorted(skipped.items()))
    return f"""MedSegText reviewed-case export
created {created} by {by}

{len(rows)} cases: {train} train, {len(rows) - train} valid (split fixed by a hash of the case
id: {VALID_PERCENT}% valid). Rejected cases are excluded. {len(skipped)} reviewed cases were
left out:
{left_out or "  none"}

Layout: as QaTa-COV19 - images/, masks/, annotations.csv (split, image, mask, description,
laterality, infected_zones, zones, then case_id, review_state, model_version). Read it with
training.data.read_records / load_arrays; fine-tune with
  medsegtext train --data <this folder> --init-from <checkpoint.pt>

images/: each stored upload decoded by the inference core (DICOM rescale, window, MONOCHROME1
inverted), 8-bit grayscale, resized to {SIZE}x{SIZE} (bilinear).

masks/: the MODEL's lesion masks, resized to {SIZE}x{SIZE} (nearest). Reviewers did NOT redraw
them: they reviewed the findings and zone flags only. Treat the masks as pseudo-labels.

SIDES: this export keeps the DATA SET's IMAGE-SIDE convention, for training, unlike the
portal, reports and API (which name the patient's side). "left" in zones and description is
the IMAGE's left, as in QaTa-COV19: the patient's RIGHT on a standard PA/AP film. The
reviewer-confirmed patient-side flags were converted assuming standard display.

description / zones: what the reviewer confirmed (accepted: the model's flags; edited: the
reviewer's corrected flags, else the flags parsed from the reviewer's sentence), with the
description rendered from those zones in the data set's sentence template (image sides); a
reviewer's edited text is kept as written only when it names no lung zone.
laterality: 0 none, 1 unilateral, 2 bilateral. Zone order: {', '.join(ZONE_ORDER)}.
A cell that starts with one of {' '.join(repr(c) for c in FORMULA_START)} is written with a
leading ' so that a spreadsheet shows it as text instead of running it as a formula.

Privacy: the images come from de-identified uploads and carry no DICOM header; patient
references are not exported. Text burned into the pixels is not removed.
"""
