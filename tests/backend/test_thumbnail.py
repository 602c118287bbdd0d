"""GET /api/cases/{id}/thumbnail: the worklist's small picture of the film (issue 14, item 4).
It is the preview scaled down, so a worklist page loads kilobytes per row rather than whole
films, and it is authorised and audited like every other image of a case."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from backend.cases.service import THUMBNAIL_PX
from tests.backend.backend_testkit import Stack, upload_files


def _film(width: int, height: int) -> bytes:
    """A gradient (so that scaling shows) in a landscape frame."""
    ramp = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, axis=0)
    buf = io.BytesIO()
    Image.fromarray(ramp).save(buf, format="PNG")
    return buf.getvalue()


async def test_thumbnail_is_the_preview_scaled_down(stack: Stack, clinician, admin) -> None:
    r = await stack.client.post(
        "/api/cases", headers=clinician[1], files=upload_files(_film(600, 400))
    )
    assert r.status_code == 202, r.text
    case_id = r.json()["id"]

    thumb = await stack.client.get(f"/api/cases/{case_id}/thumbnail", headers=clinician[1])
    assert thumb.status_code == 200, thumb.text
    assert thumb.headers["content-type"] == "image/png"
    assert "no-store" in thumb.headers["cache-control"]
    small = np.asarray(Image.open(io.BytesIO(thumb.content)))
    assert small.shape == (round(400 * THUMBNAIL_PX / 600), THUMBNAIL_PX)  # aspect kept

    preview = await stack.client.get(f"/api/cases/{case_id}/preview", headers=clinician[1])
    big = np.asarray(Image.open(io.BytesIO(preview.content)).convert("L"))
    assert len(thumb.content) < len(preview.content)
    # the same picture: the gradient's ends and middle survive the scaling
    for col in (0, small.shape[1] // 2, small.shape[1] - 1):
        src = round(col * (big.shape[1] - 1) / (small.shape[1] - 1))
        assert abs(int(small[0, col]) - int(big[0, src])) <= 8, col

    events = await stack.client.get(
        f"/api/admin/audit?case_id={case_id}&action=case.download", headers=admin[1]
    )
    artifacts = [e["detail"].get("artifact") for e in events.json()["items"]]
    assert "thumbnail" in artifacts
