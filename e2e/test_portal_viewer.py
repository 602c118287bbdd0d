"""The case viewer as a radiologist uses it (issue 14): wheel zoom at the pointer, drag to pan,
fit and 1:1, window/level by right-drag, by the W/L tool and by presets, invert, a contour-only
outline and a fill with an opacity each, all by mouse and keyboard. Each step is checked on the
canvas: its view transform, and its pixels read back against the stored film and mask. None of
these display steps may send an event to the portal's server (the old opacity slider dropped
key presses because every step was a websocket round trip).
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from e2e_pages import expect_film, shot_of, sign_in
from e2e_stack import ACCOUNTS
from PIL import Image
from playwright.sync_api import Page, WebSocket, expect

OUTLINE_RGB = (255, 220, 0)  # assets/viewer.js, as inference/overlay.py's contour
FILL_RGB = (255, 48, 48)
FILL_ALPHA = 0.30  # the fill slider's default
PRESETS = {"Default": (256, 128), "Lung": (160, 96)}  # components/viewer.py


def stored(api: Any, case_id: str, kind: str) -> np.ndarray:
    """A case's film or mask as the API stores it, one grey level per pixel."""
    r = api.http.get(
        f"/api/cases/{case_id}/{kind}", headers=api.as_role("reviewer"), follow_redirects=True
    )
    assert r.status_code == 200, r.text
    return np.asarray(Image.open(io.BytesIO(r.content)).convert("L")).astype(int)


def pick_points(mask: np.ndarray, film: np.ndarray) -> dict[str, tuple[int, int]]:
    """(x, y) of: a lesion pixel deep inside the mask; a contour pixel (in the mask, with a
    4-neighbour outside it, not on the image border); a mid-grey pixel away from the lesion."""
    m = np.pad(mask, 3)
    deep = np.ones_like(mask)
    for dy in range(-3, 4):
        for dx in range(-3, 4):
            deep &= m[3 + dy : 3 + dy + mask.shape[0], 3 + dx : 3 + dx + mask.shape[1]]
    four = m[2:-4, 3:-3] & m[4:-2, 3:-3] & m[3:-3, 2:-4] & m[3:-3, 4:-2]
    edge = mask & ~four
    edge[[0, -1], :] = edge[:, [0, -1]] = False
    near = np.zeros_like(mask)
    for dy in range(-8, 9):
        for dx in range(-8, 9):
            near |= np.roll(np.roll(mask, dy, 0), dx, 1)
    grey = ~near & (film > 70) & (film < 180)
    points = {}
    for name, where in (("inside", deep), ("edge", edge), ("grey", grey)):
        ys, xs = np.nonzero(where)
        assert len(xs), f"the model's mask of this film has no {name} pixel to check"
        i = len(xs) // 2
        points[name] = (int(xs[i]), int(ys[i]))
    return points


def windowed(v: int, ww: int, wc: int) -> int:
    """DICOM PS3.3 C.11.2.1.2 linear VOI on 0..255, rounded as JavaScript's Math.round."""
    if v <= wc - 0.5 - (ww - 1) / 2:
        return 0
    if v > wc - 0.5 + (ww - 1) / 2:
        return 255
    return math.floor(((v - (wc - 0.5)) / (ww - 1) + 0.5) * 255 + 0.5)


class Canvas:
    """The viewer's canvas, read as the test's eyes: its view numbers and its pixels."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.el = page.locator("#case-image")

    def settle(self) -> None:
        """Two animation frames: the viewer draws once per frame."""
        self.page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )

    def view(self) -> dict[str, float]:
        self.settle()
        d = self.page.evaluate(
            "() => ({...document.getElementById('case-image').dataset, "
            "w: document.getElementById('case-image').width, "
            "h: document.getElementById('case-image').height, "
            "ratio: window.devicePixelRatio})"
        )
        return {
            k: float(v)
            for k, v in d.items()
            if k in ("scale", "tx", "ty", "ww", "wc", "w", "h", "ratio")
        } | {"invert": d["invert"] == "true"}

    def at(self, point: tuple[int, int]) -> tuple[int, int, int]:
        """The RGB drawn for the centre of film pixel (x, y)."""
        v = self.view()
        x = math.floor(v["tx"] + (point[0] + 0.5) * v["scale"])
        y = math.floor(v["ty"] + (point[1] + 0.5) * v["scale"])
        rgba = self.page.evaluate(
            "([x, y]) => Array.from(document.getElementById('case-image')"
            ".getContext('2d').getImageData(x, y, 1, 1).data)",
            [x, y],
        )
        return tuple(rgba[:3])

    def client(self, point: tuple[float, float]) -> tuple[float, float]:
        """Page coordinates of a film point (for the mouse)."""
        v, box = self.view(), self.el.bounding_box()
        assert box is not None
        return (
            box["x"] + (v["tx"] + point[0] * v["scale"]) / v["ratio"],
            box["y"] + (v["ty"] + point[1] * v["scale"]) / v["ratio"],
        )

    def film_point(self, client: tuple[float, float]) -> tuple[float, float]:
        v, box = self.view(), self.el.bounding_box()
        assert box is not None
        return (
            ((client[0] - box["x"]) * v["ratio"] - v["tx"]) / v["scale"],
            ((client[1] - box["y"]) * v["ratio"] - v["ty"]) / v["scale"],
        )


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 2) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def test_reviewer_reads_a_film_with_mouse_and_keyboard(
    page: Page, api: Any, done_case: dict[str, Any], artifacts: Path
) -> None:
    film, mask = stored(api, done_case["id"], "image"), stored(api, done_case["id"], "mask") > 127
    assert film.shape == mask.shape
    points = pick_points(mask, film)
    events: list[str] = []  # Reflex events the page sends (Socket.IO "42…" frames)
    media: list[str] = []

    def watch(ws: WebSocket) -> None:
        ws.on("framesent", lambda f: events.append(f) if str(f).startswith("42") else None)

    page.on("websocket", watch)
    page.on("request", lambda r: media.append(r.url) if "/media/" in r.url else None)
    sign_in(page, *ACCOUNTS["reviewer"])
    page.goto(f"/cases/{done_case['id']}")
    expect_film(page)
    viewer = page.locator("#case-viewer")
    film_link = viewer.get_attribute("data-film") or ""
    assert events, "the page's own events (sign-in, page load) are seen on the websocket"
    sent_before = len(events)
    canvas = Canvas(page)
    zoom = page.locator("#zoom-level")
    window_level = page.locator("#window-level")
    v = canvas.view()
    fit = min(v["w"] / film.shape[1], v["h"] / film.shape[0])
    assert v["scale"] == pytest.approx(fit, abs=1e-3)
    expect(zoom).to_have_text(f"{round(fit * 100)}%")
    expect(window_level).to_have_text("W 256 · L 128 (Default)")

    # wheel zoom about the pointer: the film point under it stays there
    # (whole CSS pixels: a wheel event's clientX/Y are whole numbers)
    pointer = tuple(map(round, canvas.client(points["inside"])))
    page.mouse.move(*pointer)
    under = canvas.film_point(pointer)
    page.mouse.wheel(0, -400)
    zoomed = canvas.view()
    assert zoomed["scale"] > fit * 1.5
    expect(zoom).to_have_text(f"{round(zoomed['scale'] * 100)}%")
    assert canvas.film_point(pointer) == pytest.approx(under, abs=0.05)
    shot_of(page, "#case-viewer", artifacts, "viewer-zoomed")

    # drag to pan (left button, the Pan tool)
    page.mouse.down()
    page.mouse.move(pointer[0] + 80, pointer[1] + 40, steps=8)
    page.mouse.up()
    panned = canvas.view()
    assert panned["tx"] - zoomed["tx"] == pytest.approx(80 * v["ratio"], abs=0.5)
    assert panned["ty"] - zoomed["ty"] == pytest.approx(40 * v["ratio"], abs=0.5)
    assert panned["scale"] == zoomed["scale"]

    page.keyboard.press("f")
    fitted = canvas.view()
    assert fitted["scale"] == pytest.approx(fit, abs=1e-3)
    assert fitted["tx"] == pytest.approx((v["w"] - film.shape[1] * fit) / 2, abs=0.5)
    page.keyboard.press("1")
    expect(zoom).to_have_text("100%")
    one = canvas.view()
    assert one["scale"] == 1 and one["tx"] == int(one["tx"]) and one["ty"] == int(one["ty"])

    # at 1:1 with both layers off (keys L and O) the canvas shows the stored film exactly
    fill_box, outline_box = (
        page.get_by_label("Fill", exact=True),
        page.get_by_label("Outline", exact=True),
    )
    expect(fill_box).to_be_checked()
    expect(outline_box).to_be_checked()
    page.keyboard.press("l")
    page.keyboard.press("o")
    expect(fill_box).not_to_be_checked()
    expect(outline_box).not_to_be_checked()
    grey = {name: int(film[y, x]) for name, (x, y) in points.items()}
    for name, point in points.items():
        assert canvas.at(point) == (grey[name],) * 3, name

    # outline only: the lesion's inside is the film, its edge is the contour colour
    page.keyboard.press("o")
    assert canvas.at(points["inside"]) == (grey["inside"],) * 3
    assert canvas.at(points["edge"]) == OUTLINE_RGB
    page.keyboard.press("f")
    shot_of(page, "#case-viewer", artifacts, "viewer-outline-only")
    page.keyboard.press("1")
    # ten quick arrow presses on the outline opacity: every one counts, and it is drawn
    slider = page.get_by_label("Outline opacity")
    slider.focus()
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    expect(slider).to_have_value("50")
    expect(page.locator("output[data-out=outline]")).to_have_text("50 %")
    half = tuple(round(0.5 * c + 0.5 * grey["edge"]) for c in OUTLINE_RGB)
    assert close(canvas.at(points["edge"]), half), (canvas.at(points["edge"]), half)

    # fill only: the inside is tinted red at the fill's opacity
    page.keyboard.press("o")
    page.keyboard.press("l")
    tinted = tuple(round((1 - FILL_ALPHA) * grey["inside"] + FILL_ALPHA * c) for c in FILL_RGB)
    assert close(canvas.at(points["inside"]), tinted), (canvas.at(points["inside"]), tinted)
    page.keyboard.press("f")
    shot_of(page, "#case-viewer", artifacts, "viewer-fill")
    page.keyboard.press("1")

    # window/level by right-drag: down raises the level, so the film gets darker
    x0, y0 = canvas.client((film.shape[1] / 2, film.shape[0] / 2))
    page.mouse.move(x0, y0)
    page.mouse.down(button="right")
    page.mouse.move(x0, y0 + 40, steps=8)
    page.mouse.up(button="right")
    after = canvas.view()
    assert (after["ww"], after["wc"]) == (256, 168)
    expect(window_level).to_have_text("W 256 · L 168")
    darker = canvas.at(points["grey"])[0]
    assert darker == windowed(grey["grey"], 256, 168) < grey["grey"]
    # the W/L tool (key W) on the left button: right widens the window, towards mid-grey
    page.keyboard.press("w")
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 60, y0, steps=8)
    page.mouse.up()
    wider = canvas.view()
    assert (wider["ww"], wider["wc"]) == (316, 168)
    assert wider["tx"] == after["tx"]  # the W/L tool does not pan
    flatter = canvas.at(points["grey"])[0]
    assert flatter == windowed(grey["grey"], 316, 168)
    assert abs(flatter - 127.5) < abs(darker - 127.5)
    page.keyboard.press("p")

    # the Lung preset by its number key
    page.keyboard.press("3")
    lung = PRESETS["Lung"]
    expect(window_level).to_have_text(f"W {lung[0]} · L {lung[1]} (Lung)")
    expected = {name: windowed(grey[name], *lung) for name in ("inside", "grey")}
    assert canvas.at(points["grey"]) == (expected["grey"],) * 3
    page.keyboard.press("f")
    shot_of(page, "#case-viewer", artifacts, "viewer-lung-window")
    page.keyboard.press("1")

    # invert (key I): every value becomes 255 minus itself
    page.keyboard.press("l")  # the film alone
    before = {name: canvas.at(point) for name, point in points.items()}
    page.keyboard.press("i")
    expect(page.get_by_role("button", name="Invert")).to_have_attribute("aria-pressed", "true")
    expect(window_level).to_contain_text("inverted")
    for name, point in points.items():
        assert canvas.at(point) == tuple(255 - c for c in before[name]), name
    page.keyboard.press("l")
    page.keyboard.press("o")
    page.keyboard.press("f")
    shot_of(page, "#case-viewer", artifacts, "viewer-inverted")

    # R resets window, invert and view
    page.keyboard.press("r")
    reset = canvas.view()
    assert (reset["ww"], reset["wc"], reset["invert"]) == (256, 128, False)
    assert reset["scale"] == pytest.approx(fit, abs=1e-3)

    assert len(events) == sent_before, f"display steps sent events: {events[sent_before:]}"

    # typing in the review form is typing: no shortcut fires
    page.get_by_label("Comment (optional)").press_sequentially("I1 fir3")
    expect(page.get_by_label("Comment (optional)")).to_have_value("I1 fir3")
    assert canvas.view() == reset
    # the film was fetched once (every fetch of a /media link is a one-time ticket and an
    # audited download), not per redraw
    assert media.count(film_link) == 1, media
