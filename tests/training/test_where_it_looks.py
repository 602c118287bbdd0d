"""The occlusion check finds evidence where a model's decision really comes from."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is missing: it comes with the training extra")

from training.model import SegFindNet, SegFindOutput  # noqa: E402
from training.where_it_looks import border_share, occlusion_map, picture  # noqa: E402


class CornerModel(SegFindNet):
    """A shortcut model: its presence logit is the mean of the top-left 32x32 corner."""

    def forward(self, x):  # type: ignore[override]
        p = x[:, 0, :32, :32].mean(dim=(1, 2))
        z = torch.zeros(len(x))
        return SegFindOutput(x, torch.zeros(len(x), 6), p, z[:, None])


def test_a_corner_shortcut_shows_up_in_the_border_band():
    film = np.full((224, 224), 60, np.uint8)
    film[:32, :32] = 250  # a bright marker in the corner drives the decision
    base, heat = occlusion_map(CornerModel((8, 8, 8, 8, 8)), film)
    assert base > 0
    assert heat[:32, :32].mean() > 0 and np.abs(heat[100:124, 100:124]).max() == 0
    assert border_share(heat) > 0.9
    centre = np.zeros((224, 224))
    centre[80:140, 80:140] = 1
    assert border_share(centre) == 0.0
    img = picture(film, heat, "corner")
    assert img.size == (448, 240)
