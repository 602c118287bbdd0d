"""The PDF report (fpdf2, blocking: run it in a thread). One A4 page: the decision-support
notice, the case, the overlay, the findings, the zone map, burden, model and review."""

from __future__ import annotations

import io

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from PIL import Image

from backend.reports.context import (
    DISCLAIMER,
    REJECTED_NOTE,
    SIDE_NOTE,
    ReportData,
    zone_label,
)
from backend.reviews.enums import ReviewState
from inference.sides import PATIENT_ZONES

IMAGE_MM = 85.0  # the overlay's longer side on the page
_DASHES = str.maketrans({"\u2014": "-", "\u2013": "-"})
REJECTED_RGB = (180, 20, 20)


def latin1(text: object) -> str:
    """The core PDF fonts cover Latin-1 only: dashes become '-', anything else '?' rather
    than failing."""
    text = str(text).translate(_DASHES)
    return text.encode("latin-1", "replace").decode("latin-1")


class _Report(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "I", 7)
        self.cell(0, 5, latin1(f"MedSegText - {DISCLAIMER}"), align="C")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 6, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 9)


def _pairs(pdf: FPDF, rows: list[tuple[str, str]], label_mm: float = 38) -> None:
    for label, value in rows:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(label_mm, 5, latin1(label))
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(0, 5, latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _fmt(value: object, missing: str = "-") -> str:
    if value is None or value == "":
        return missing
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _overlay(pdf: FPDF, png: bytes) -> None:
    with Image.open(io.BytesIO(png)) as im:
        w, h = im.size
    scale = IMAGE_MM / max(w, h)
    x = (pdf.w - w * scale) / 2
    pdf.image(io.BytesIO(png), x=x, w=w * scale, h=h * scale)
    pdf.set_font("Helvetica", "I", 7)
    pdf.cell(
        0,
        4,
        "Overlay: model lesion outline (red fill, yellow contour).",
        align="C",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )


def _zone_table(pdf: FPDF, data: ReportData) -> None:
    probs = data.case.zone_probabilities or {}
    model, reviewed = data.model_flags, data.outcome.zone_flags
    pdf.set_font("Helvetica", "", 9)
    with pdf.table(
        col_widths=(45, 35, 30, 30), text_align=("LEFT", "RIGHT", "CENTER", "CENTER")
    ) as table:
        header = table.row()
        for title in ("Zone", "Model probability", "Model flag", "Reviewer flag"):
            header.cell(title)
        for zone in PATIENT_ZONES:
            row = table.row()
            p = probs.get(zone)
            row.cell(zone_label(zone))
            row.cell("-" if p is None else f"{float(p):.2f}")
            row.cell("lesion" if model[zone] else "clear")
            row.cell("-" if reviewed is None else ("lesion" if reviewed[zone] else "clear"))
    pdf.set_font("Helvetica", "I", 7)
    pdf.multi_cell(0, 4, latin1(SIDE_NOTE), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _findings(pdf: FPDF, data: ReportData) -> None:
    """The signed-off findings first; a rejection as a red "do not use" heading with the
    model's text struck through; the model's own text always kept under its own label."""
    c, o = data.case, data.outcome
    rejected = o.state == ReviewState.REJECTED
    if rejected:
        pdf.set_text_color(*REJECTED_RGB)
    _heading(pdf, data.findings_heading)
    pdf.set_font("Helvetica", "B" if rejected else "", 10)
    main = data.signed_off_text or (REJECTED_NOTE if rejected else c.findings_text)
    pdf.multi_cell(0, 5, latin1(main or "-"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    if o.state == ReviewState.UNREVIEWED or not c.findings_text:
        return  # the model's text is the one above
    pdf.ln(1)
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(0, 4, latin1(f"{data.model_output_label}:"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "S" if rejected else "", 8)
    pdf.multi_cell(0, 4, latin1(c.findings_text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_pdf(data: ReportData, overlay_png: bytes) -> bytes:
    c = data.case
    pdf = _Report(format="A4")
    pdf.set_title(f"MedSegText report {c.id}")
    pdf.set_creator("MedSegText")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_margins(15, 12, 15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 8, "Chest X-ray findings report", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_fill_color(255, 240, 200)
    pdf.set_font("Helvetica", "B", 9)
    pdf.multi_cell(
        0,
        5,
        latin1(DISCLAIMER),
        border=1,
        fill=True,
        padding=2,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_fill_color(255, 255, 255)
    _heading(pdf, "Case")
    sex_age = " / ".join(v for v in (_fmt(c.age, ""), c.sex or "") if v) or "-"
    _pairs(
        pdf,
        [
            ("Case", c.id),
            ("Patient reference", _fmt(c.patient_ref)),
            ("Age / sex", sex_age),
            ("Acquired", _fmt(c.acquired_at)),
            ("Uploaded", _fmt(c.created_at)),
            ("Priority", c.priority),
            ("Image", f"{c.source_format.upper()} {c.width}x{c.height} px"),
        ],
    )
    _heading(pdf, "Image")
    _overlay(pdf, overlay_png)
    _findings(pdf, data)
    _heading(pdf, "Zone map")
    _zone_table(pdf, data)
    _heading(pdf, "Measurements, model and review")
    burden = c.lesion_burden_percent
    _pairs(
        pdf,
        [
            ("Lesion burden", "-" if burden is None else f"{burden:.1f}% of image area"),
            ("Laterality", _fmt(c.laterality)),
            ("Model", data.model_label),
            ("Review", data.review_line),
            ("Generated", _fmt(data.generated_at)),
        ],
    )
    return bytes(pdf.output())
