"""Out-of-scope images made here, to measure (never to tune on) the scope gate.

No photographs or other modalities can be downloaded on this machine, so they are synthesised,
each kind standing for something a user may upload instead of a frontal chest film:
- `text_page`: a scanned or photographed page of text (a referral letter);
- `photo_like`: 1/f ("natural image") noise with objects: sky, ground, shapes (a pet, a rocket);
- `ct_slice`: an axial CT-like slice: round field of view, body ellipse, dark lungs, spine;
- `mr_head`: an axial MR-like head slice: skull ring, grey and white matter blobs;
- `screenshot`: flat panels, bars and text, as in a screenshot of a report or a chart;
- `flat`: a nearly uniform frame (blank scan, lens cap), gradient and sensor noise.
All are 224x224 uint8 grayscale, seeded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

KINDS = ("text_page", "photo_like", "ct_slice", "mr_head", "screenshot", "flat")
SIZE = 224
WORDS = (
    "patient",
    "referral",
    "chest",
    "clinic",
    "history",
    "dose",
    "the",
    "of",
    "and",
    "report",
    "cough",
    "fever",
    "date",
    "signed",
    "ward",
    "review",
    "no",
    "known",
    "allergies",
    "plan",
)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def pink_noise(rng: np.random.Generator, size: int = SIZE, power: float = 2.0) -> np.ndarray:
    """Noise with a 1/f^(power/2) amplitude spectrum, scaled to [0, 1]."""
    f = np.fft.fftfreq(size)
    r = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    r[0, 0] = 1
    spec = rng.standard_normal((size, size)) + 1j * rng.standard_normal((size, size))
    img = np.real(np.fft.ifft2(spec / r ** (power / 2)))
    return (img - img.min()) / (np.ptp(img) + 1e-9)


def text_page(rng: np.random.Generator) -> Image.Image:
    bg = int(rng.integers(200, 256))
    img = Image.new("L", (SIZE, SIZE), bg)
    d = ImageDraw.Draw(img)
    size = int(rng.integers(8, 16))
    y = int(rng.integers(2, 20))
    while y < SIZE - size:
        line = " ".join(WORDS[int(i)] for i in rng.integers(0, len(WORDS), 12))
        d.text((int(rng.integers(2, 20)), y), line, fill=int(rng.integers(0, 80)), font=_font(size))
        y += size + int(rng.integers(2, 8))
    if rng.random() < 0.5:  # photographed: tilted and unevenly lit
        img = img.rotate(float(rng.uniform(-12, 12)), fillcolor=int(rng.integers(0, 120)))
        light = np.linspace(rng.uniform(0.6, 1), rng.uniform(0.8, 1.1), SIZE)[None, :]
        img = Image.fromarray(np.clip(np.asarray(img) * light, 0, 255).astype(np.uint8))
    return img


def photo_like(rng: np.random.Generator) -> Image.Image:
    base = pink_noise(rng) * rng.uniform(60, 140) + rng.uniform(40, 120)
    horizon = int(rng.integers(60, 170))
    base[:horizon] += np.linspace(rng.uniform(40, 100), 0, horizon)[:, None]
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(1, 5))):
        x, y = (int(v) for v in rng.integers(10, SIZE - 60, 2))
        w, h = (int(v) for v in rng.integers(20, 90, 2))
        fill = int(rng.integers(0, 256))
        shape = int(rng.integers(3))
        if shape == 0:  # a body and a head: an animal
            d.ellipse((x, y, x + w, y + h // 2 + 10), fill=fill)
            d.ellipse((x + w - 10, y - 15, x + w + 15, y + 10), fill=fill)
        elif shape == 1:  # a rocket
            d.rectangle((x, y, x + 14, y + h), fill=fill)
            d.polygon([(x - 2, y), (x + 16, y), (x + 7, y - 20)], fill=255 - fill)
        else:
            d.rectangle((x, y, x + w, y + h), fill=fill)
    return img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 1.2))))


def ct_slice(rng: np.random.Generator) -> Image.Image:
    img = Image.new("L", (SIZE, SIZE), 0)
    d = ImageDraw.Draw(img)
    c = SIZE // 2
    d.ellipse((4, 4, SIZE - 4, SIZE - 4), fill=int(rng.integers(10, 40)))  # field of view
    bw, bh = int(rng.integers(80, 105)), int(rng.integers(55, 80))
    d.ellipse((c - bw, c - bh, c + bw, c + bh), fill=int(rng.integers(110, 150)))  # body
    for side in (-1, 1):  # lungs
        lx = c + side * int(rng.integers(30, 50))
        d.ellipse((lx - 28, c - 45, lx + 28, c + 35), fill=int(rng.integers(5, 30)))
    d.ellipse((c - 12, c + 30, c + 12, c + 54), fill=int(rng.integers(200, 255)))  # vertebra
    d.ellipse((c - 20, c - 20, c + 15, c + 15), fill=int(rng.integers(120, 170)))  # heart
    arr = np.asarray(img, np.float32) + rng.normal(0, rng.uniform(2, 10), (SIZE, SIZE))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2)))
    )


def mr_head(rng: np.random.Generator) -> Image.Image:
    img = Image.new("L", (SIZE, SIZE), 0)
    d = ImageDraw.Draw(img)
    c = SIZE // 2
    a, b = int(rng.integers(70, 95)), int(rng.integers(85, 105))
    d.ellipse((c - a, c - b, c + a, c + b), fill=int(rng.integers(180, 240)))  # scalp/skull
    d.ellipse((c - a + 8, c - b + 8, c + a - 8, c + b - 8), fill=int(rng.integers(20, 50)))
    d.ellipse((c - a + 12, c - b + 12, c + a - 12, c + b - 12), fill=int(rng.integers(90, 130)))
    tex = pink_noise(rng, power=2.5) * 60
    arr = np.asarray(img, np.float32)
    inner = arr > 80
    arr[inner] += tex[inner] - 30
    d2 = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    dd = ImageDraw.Draw(d2)
    for side in (-1, 1):  # ventricles
        dd.ellipse(
            (c + side * 10 - 6, c - 25, c + side * 10 + 6, c + 15), fill=int(rng.integers(10, 40))
        )
    return d2.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 1.5))))


def screenshot(rng: np.random.Generator) -> Image.Image:
    img = Image.new("L", (SIZE, SIZE), int(rng.integers(220, 256)))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, SIZE, int(rng.integers(14, 30))), fill=int(rng.integers(40, 120)))
    for i in range(int(rng.integers(3, 9))):  # a bar chart
        h = int(rng.integers(10, 120))
        x = 20 + i * 22
        d.rectangle((x, 200 - h, x + 14, 200), fill=int(rng.integers(0, 180)))
    for y in range(40, 90, 12):
        d.text(
            (10, y),
            " ".join(WORDS[int(i)] for i in rng.integers(0, len(WORDS), 5)),
            fill=0,
            font=_font(10),
        )
    return img


def flat(rng: np.random.Generator) -> Image.Image:
    g = np.linspace(0, rng.uniform(-60, 60), SIZE)
    arr = rng.uniform(20, 230) + (g[:, None] if rng.random() < 0.5 else g[None, :])
    arr = arr + rng.normal(0, rng.uniform(1, 8), (SIZE, SIZE))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


MAKERS = {
    "text_page": text_page,
    "photo_like": photo_like,
    "ct_slice": ct_slice,
    "mr_head": mr_head,
    "screenshot": screenshot,
    "flat": flat,
}


def make(per_kind: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """(N, 224, 224) uint8 images and their kinds, `per_kind` of each kind."""
    rng = np.random.default_rng(seed)
    images, kinds = [], []
    for kind in KINDS:
        for _ in range(per_kind):
            images.append(np.asarray(MAKERS[kind](rng).convert("L"), np.uint8))
            kinds.append(kind)
    return np.stack(images), kinds


def photographs(size: int = SIZE) -> tuple[np.ndarray, list[str]]:
    """The real photographs and micrographs bundled with scikit-image (a cat, a rocket, a page
    of text, coffee, coins, a retina, ...), grey and resized: measured on, never fitted to.
    Empty when scikit-image (training extra) is not installed."""
    try:
        import skimage.data
    except ImportError:
        return np.zeros((0, size, size), np.uint8), []
    images, names = [], []
    for path in sorted(Path(skimage.data.__file__).parent.iterdir()):
        if path.suffix.lower() not in (".png", ".jpg", ".gif", ".tif"):
            continue
        try:
            with Image.open(path) as img:
                images.append(np.asarray(img.convert("L").resize((size, size)), np.uint8))
        except (OSError, ValueError):  # formats Pillow cannot read (a multi-page RGB TIFF)
            continue
        names.append(path.stem)
    return np.stack(images), names
