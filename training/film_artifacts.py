"""Augmentation against shortcut learning: the traces an archive leaves on a film.

A CNN told "QaTa film = lesion, other archive = no lesion" learns the archive (DeGrave et al.
2021; shared/data/README.md measured it here). What differs between archives is not the lungs but
how the film was made and stored: exposure and processing curve, sharpening or smoothing,
resolution before resizing, JPEG history, framing and collimation borders, and burned-in
markers ("L", "R", "PORTABLE"). This module puts all of these on every film with the same
probabilities whatever its source, so none of them carries the label any more.

Per image, on the CPU (numpy + PIL), in the order a real film acquires them:
crop / zoom -> processing (blur or sharpen, window) -> burned-in text -> borders / letterbox ->
resampling from another size -> JPEG re-encoding. The mask follows the geometric steps (crop,
letterbox) only. After this, training.augment adds the affine jitter, gamma, contrast and noise
on the training device. No horizontal flip (training/augment.py says why).

Deterministic: the same numpy Generator state gives the same output.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from training.augment import augment

IGNORE_VALUE = 255  # training.mixed.IGNORE: an unknown outline stays unknown
MARKER_TEXTS = (
    "L",
    "R",
    "L",
    "R",
    "LT",
    "RT",
    "PA",
    "AP",
    "AP SUPINE",
    "PORTABLE",
    "ERECT",
    "SEMI-ERECT",
    "1",
    "2",
    "12:04",
    "A",
    "B",
    "P",
)


@dataclass(frozen=True)
class ArtifactConfig:
    p_crop: float = 0.5
    crop_min_side: float = 0.8  # of the film's side
    p_letterbox: float = 0.25
    letterbox_min: float = 0.75  # the film shrunk to this share of one or both sides
    p_blur: float = 0.2
    p_sharpen: float = 0.2
    p_window: float = 0.3
    p_marker: float = 0.5
    p_border: float = 0.25
    p_resample: float = 0.4
    resample_range: tuple[int, int] = (72, 200)
    p_jpeg: float = 0.5
    jpeg_quality: tuple[int, int] = (25, 95)


DEFAULT = ArtifactConfig()


def film_artifacts(
    image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, cfg: ArtifactConfig = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    """image (H, W) uint8, mask (H, W) uint8 -> both (H, W) uint8, same size."""
    h, w = image.shape
    img = Image.fromarray(image)
    msk = Image.fromarray(mask)
    if rng.random() < cfg.p_crop:
        side = rng.uniform(cfg.crop_min_side, 1.0, size=2)
        ch, cw = int(h * side[0]), int(w * side[1])
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        box = (x, y, x + cw, y + ch)
        img = img.resize((w, h), Image.Resampling.BILINEAR, box=box)
        msk = msk.resize((w, h), Image.Resampling.NEAREST, box=box)
    if rng.random() < cfg.p_blur:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.4, 1.6))))
    elif rng.random() < cfg.p_sharpen / (1 - cfg.p_blur):
        img = img.filter(
            ImageFilter.UnsharpMask(
                radius=float(rng.uniform(1, 4)), percent=int(rng.integers(50, 200)), threshold=0
            )
        )
    arr = np.asarray(img, dtype=np.float32)
    if rng.random() < cfg.p_window:
        lo, hi = np.percentile(arr, [rng.uniform(0, 8), rng.uniform(92, 100)])
        arr = np.clip((arr - lo) / max(hi - lo, 1.0), 0, 1) * 255
    img = Image.fromarray(arr.round().astype(np.uint8))
    if rng.random() < cfg.p_marker:
        img = _burn_markers(img, rng)
    if rng.random() < cfg.p_letterbox:
        img, msk = _letterbox(img, msk, rng, cfg.letterbox_min)
    if rng.random() < cfg.p_border:
        img, msk = _borders(img, msk, rng)
    if rng.random() < cfg.p_resample:
        s = int(rng.integers(*cfg.resample_range))
        down = [
            Image.Resampling.BILINEAR,
            Image.Resampling.BOX,
            Image.Resampling.NEAREST,
            Image.Resampling.LANCZOS,
        ][int(rng.integers(4))]
        up = [Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.LANCZOS][
            int(rng.integers(3))
        ]
        img = img.resize((s, s), down).resize((w, h), up)
    if rng.random() < cfg.p_jpeg:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=int(rng.integers(*cfg.jpeg_quality)))
        img = Image.open(io.BytesIO(buf.getvalue())).convert("L")
    return np.asarray(img, dtype=np.uint8), np.asarray(msk, dtype=np.uint8)


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _burn_markers(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """1-3 markers; most near an edge or corner as on real films, some anywhere."""
    draw = ImageDraw.Draw(img)
    w, h = img.size
    for _ in range(int(rng.integers(1, 4))):
        text = MARKER_TEXTS[int(rng.integers(len(MARKER_TEXTS)))]
        font = _font(int(rng.integers(9, 30)))
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        tw, th = int(right - left), int(bottom - top)
        top = int(top)
        if rng.random() < 0.7:  # near an edge
            x = int(
                rng.choice(
                    [
                        rng.integers(0, max(1, w // 6)),
                        rng.integers(max(0, w - w // 6 - tw), max(1, w - tw)),
                    ]
                )
            )
            y = int(rng.integers(0, max(1, h - th)))
        else:
            x, y = int(rng.integers(0, max(1, w - tw))), int(rng.integers(0, max(1, h - th)))
        fill = int(rng.integers(200, 256)) if rng.random() < 0.8 else int(rng.integers(0, 40))
        if rng.random() < 0.25:  # a box behind the letters, as on many digital films
            draw.rectangle(
                (x - 2, y - 2 + top, x + tw + 2, y + th + 2 + top),
                fill=255 - fill if rng.random() < 0.5 else None,
                outline=fill,
            )
        draw.text((x, y), text, fill=fill, font=font)
    return img


def _letterbox(
    img: Image.Image,
    msk: Image.Image,
    rng: np.random.Generator,
    smallest: float,
) -> tuple[Image.Image, Image.Image]:
    """The film shrunk on one or both axes and padded, as when a non-square film is fitted."""
    w, h = img.size
    sx, sy = (
        rng.uniform(smallest, 1.0, size=2)
        if rng.random() < 0.5
        else (rng.uniform(smallest, 1.0), 1.0)
        if rng.random() < 0.5
        else (1.0, rng.uniform(smallest, 1.0))
    )
    nw, nh = max(8, int(w * sx)), max(8, int(h * sy))
    ox, oy = int(rng.integers(0, w - nw + 1)), int(rng.integers(0, h - nh + 1))
    fill = [0, 255, int(np.asarray(img).mean())][int(rng.integers(3))]
    canvas = Image.new("L", (w, h), fill)
    canvas.paste(img.resize((nw, nh), Image.Resampling.BILINEAR), (ox, oy))
    mcanvas = Image.new("L", (w, h), 0)
    mcanvas.paste(msk.resize((nw, nh), Image.Resampling.NEAREST), (ox, oy))
    return canvas, mcanvas


def _borders(
    img: Image.Image,
    msk: Image.Image,
    rng: np.random.Generator,
) -> tuple[Image.Image, Image.Image]:
    """Collimation or scanner bands of constant grey on random sides. Nothing is visible under
    a band, so the mask is cleared there too."""
    arr, marr = np.asarray(img).copy(), np.asarray(msk).copy()
    h, w = arr.shape
    for side in range(4):
        if rng.random() < 0.5:
            continue
        width = int(rng.integers(1, max(2, int(0.1 * (h if side < 2 else w)))))
        value = [0, 255, int(rng.integers(0, 256))][int(rng.integers(3))]
        band = (
            (slice(0, width), slice(None)),
            (slice(h - width, h), slice(None)),
            (slice(None), slice(0, width)),
            (slice(None), slice(w - width, w)),
        )[side]
        arr[band] = value
        marr[band] = np.where(marr[band] == IGNORE_VALUE, IGNORE_VALUE, 0)
    return Image.fromarray(arr), Image.fromarray(marr)


def artifacts_batch(
    images: np.ndarray, masks: np.ndarray, rng: np.random.Generator, cfg: ArtifactConfig = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    """(B, H, W) uint8 pairs through film_artifacts, one after another from one generator."""
    out = [film_artifacts(i, m, rng, cfg) for i, m in zip(images, masks, strict=True)]
    return np.stack([o[0] for o in out]), np.stack([o[1] for o in out])


def augmented_films(
    images: np.ndarray,
    masks: np.ndarray | None,
    seed: int,
    offset: int,
) -> torch.Tensor:
    """(B, H, W) uint8 -> (B, 1, H, W) in [0, 1], through film artifacts then the training
    augmentation, seeded by (seed, offset) so a cache of augmented features is reproducible."""
    m = masks if masks is not None else np.zeros_like(images)
    x, m = artifacts_batch(images, m, np.random.default_rng([seed, offset]))
    gen = torch.Generator().manual_seed(seed * 1_000_003 + offset)
    out, _ = augment(
        torch.from_numpy(x).unsqueeze(1).float() / 255.0,
        torch.from_numpy(m).unsqueeze(1).float(),
        gen,
    )
    return out
