"""Segmentation plus findings loss."""

from __future__ import annotations

import torch
from torch.nn import functional as F

ZONE_WEIGHT = 0.5


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Batch soft Dice: one ratio over the whole batch, matching the accumulated metric."""
    p = torch.sigmoid(logits)
    inter = (p * target).sum()
    return 1 - (2 * inter + 1) / (p.sum() + target.sum() + 1)


def total_loss(
    mask_logits: torch.Tensor, zone_logits: torch.Tensor, masks: torch.Tensor, zones: torch.Tensor
) -> torch.Tensor:
    mask_logits, zone_logits = mask_logits.float(), zone_logits.float()
    bce = F.binary_cross_entropy_with_logits(mask_logits, masks)
    dice = soft_dice_loss(mask_logits, masks)
    zone = F.binary_cross_entropy_with_logits(zone_logits, zones)
    return bce + dice + ZONE_WEIGHT * zone


PRESENCE_WEIGHT = 1.0


def masked_loss(
    mask_logits: torch.Tensor,
    zone_logits: torch.Tensor,
    presence_logit: torch.Tensor,
    masks: torch.Tensor,
    has_mask: torch.Tensor,
    zones: torch.Tensor,
    has_zones: torch.Tensor,
    presence: torch.Tensor,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Issue 13's loss over a mixed batch.

    - presence: BCE on every film;
    - segmentation (BCE + batch soft Dice): only films whose outline is known (QaTa, and normals
      with their empty mask). Films without one are left out by indexing, so they get exactly
      no segmentation gradient, whatever their stored mask holds;
    - zones: only QaTa films (has_zones).
    Returns the total and its parts (for the log).
    """
    mask_logits, zone_logits = mask_logits.float(), zone_logits.float()
    presence_logit = presence_logit.float()
    total = PRESENCE_WEIGHT * F.binary_cross_entropy_with_logits(presence_logit, presence)
    parts = {"presence": float(total.detach())}
    if bool(has_mask.any()):
        ml, mt = mask_logits[has_mask], masks[has_mask]
        seg = F.binary_cross_entropy_with_logits(ml, mt) + soft_dice_loss(ml, mt)
        total = total + seg
        parts["seg"] = float(seg.detach())
    if bool(has_zones.any()):
        zone = F.binary_cross_entropy_with_logits(zone_logits[has_zones], zones[has_zones])
        total = total + ZONE_WEIGHT * zone
        parts["zone"] = float(zone.detach())
    return total, parts
