"""The mixed loss: films without an outline give the segmentation no gradient at all."""

import pytest

torch = pytest.importorskip("torch", reason="torch is missing: it comes with the training extra")

from training.losses import masked_loss  # noqa: E402
from training.mixed import IGNORE  # noqa: E402


def _batch():
    torch.manual_seed(0)
    # 0: QaTa (mask + zones), 1: normal (empty mask), 2: pneumonia (no outline)
    mask_logits = torch.randn(3, 1, 8, 8, requires_grad=True)
    zone_logits = torch.randn(3, 6, requires_grad=True)
    presence_logit = torch.randn(3, requires_grad=True)
    masks = torch.zeros(3, 1, 8, 8)
    masks[0, :, 2:5, 2:5] = 1
    masks[2] = IGNORE
    has_mask = torch.tensor([True, True, False])
    zones = torch.tensor([[1.0, 0, 0, 0, 0, 0], [0] * 6, [0] * 6])
    has_zones = torch.tensor([True, False, False])
    presence = torch.tensor([1.0, 0.0, 1.0])
    return mask_logits, zone_logits, presence_logit, masks, has_mask, zones, has_zones, presence


def test_pneumonia_gets_no_segmentation_or_zone_gradient_but_a_presence_one():
    ml, zl, pl, masks, has_mask, zones, has_zones, presence = _batch()
    loss, parts = masked_loss(ml, zl, pl, masks, has_mask, zones, has_zones, presence)
    loss.backward()
    assert set(parts) == {"presence", "seg", "zone"}
    assert ml.grad[2].abs().max() == 0  # pneumonia: nothing learned about its outline
    assert ml.grad[0].abs().max() > 0 and ml.grad[1].abs().max() > 0  # QaTa and normal do
    assert zl.grad[1:].abs().max() == 0 and zl.grad[0].abs().max() > 0  # zones: QaTa only
    assert (pl.grad != 0).all()  # presence: every film


def test_the_stored_mask_of_a_film_without_outline_does_not_matter():
    ml, zl, pl, masks, has_mask, zones, has_zones, presence = _batch()
    a, _ = masked_loss(ml, zl, pl, masks, has_mask, zones, has_zones, presence)
    other = masks.clone()
    other[2] = 0  # even an (wrong) empty mask stored for the pneumonia changes nothing
    b, _ = masked_loss(ml, zl, pl, other, has_mask, zones, has_zones, presence)
    assert a.item() == b.item()
    has_mask_wrong = torch.tensor([True, True, True])
    c, _ = masked_loss(ml, zl, pl, other, has_mask_wrong, zones, has_zones, presence)
    assert c.item() != a.item()  # the flag is what excludes it


def test_a_batch_with_no_outlines_trains_presence_only():
    ml, zl, pl, masks, _, zones, _, presence = _batch()
    none = torch.tensor([False, False, False])
    loss, parts = masked_loss(ml, zl, pl, masks, none, zones, none, presence)
    loss.backward()
    assert set(parts) == {"presence"}
    assert ml.grad is None or ml.grad.abs().max() == 0
