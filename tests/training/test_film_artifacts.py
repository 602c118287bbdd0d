"""Archive-trace augmentation: seeded, and the mask follows only the geometric steps."""

import numpy as np

from training.film_artifacts import ArtifactConfig, artifacts_batch, film_artifacts
from training.mixed import IGNORE

NONE = ArtifactConfig(
    p_crop=0,
    p_letterbox=0,
    p_blur=0,
    p_sharpen=0,
    p_window=0,
    p_marker=0,
    p_border=0,
    p_resample=0,
    p_jpeg=0,
)


def _film(seed: int = 0):
    rng = np.random.default_rng(seed)
    img = (rng.random((224, 224)) * 60 + np.linspace(40, 200, 224)[None, :]).astype(np.uint8)
    mask = np.zeros((224, 224), np.uint8)
    mask[80:140, 40:90] = 1
    return img, mask


def test_same_seed_same_output_other_seed_other_output():
    imgs = np.stack([_film(i)[0] for i in range(6)])
    masks = np.stack([_film(i)[1] for i in range(6)])
    a = artifacts_batch(imgs, masks, np.random.default_rng(11))
    b = artifacts_batch(imgs, masks, np.random.default_rng(11))
    c = artifacts_batch(imgs, masks, np.random.default_rng(12))
    assert (a[0] == b[0]).all() and (a[1] == b[1]).all()
    assert not (a[0] == c[0]).all()
    assert a[0].dtype == np.uint8 and a[0].shape == imgs.shape


def test_nothing_enabled_is_the_identity():
    img, mask = _film()
    out, m = film_artifacts(img, mask, np.random.default_rng(0), NONE)
    assert (out == img).all() and (m == mask).all()


def test_photometric_steps_and_markers_change_pixels_not_the_mask():
    img, mask = _film()
    cfg = ArtifactConfig(
        p_crop=0,
        p_letterbox=0,
        p_border=0,
        p_blur=1,
        p_sharpen=0,
        p_window=1,
        p_marker=1,
        p_resample=1,
        p_jpeg=1,
    )
    for seed in range(5):
        out, m = film_artifacts(img, mask, np.random.default_rng(seed), cfg)
        assert (m == mask).all()
        assert np.abs(out.astype(int) - img).mean() > 1


def test_markers_burn_in_bright_or_dark_text():
    flat = np.full((224, 224), 128, np.uint8)
    cfg = ArtifactConfig(**{**NONE.__dict__, "p_marker": 1.0})
    changed = [
        (film_artifacts(flat, flat * 0, np.random.default_rng(s), cfg)[0] != 128).sum()
        for s in range(10)
    ]
    assert min(changed) > 10


def test_crops_move_the_mask_with_the_film_and_keep_unknown_outlines_unknown():
    img, mask = _film()
    cfg = ArtifactConfig(**{**NONE.__dict__, "p_crop": 1.0, "p_letterbox": 1.0})
    _, m = film_artifacts(img, mask, np.random.default_rng(4), cfg)
    assert set(np.unique(m)) <= {0, 1} and m.sum() > 0 and not (m == mask).all()
    unknown = np.full_like(mask, IGNORE)
    cfg = ArtifactConfig(**{**NONE.__dict__, "p_border": 1.0})
    _, m2 = film_artifacts(img, unknown, np.random.default_rng(4), cfg)
    assert (m2 == IGNORE).all()
