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


def total_loss(mask_logits: torch.Tensor, zone_logits: torch.Tensor, masks: torch.Tensor,
               zones: torch.Tensor) -> torch.Tensor:
    mask_logits, zone_logits = mask_logits.float(), zone_logits.float()
    bce = F.binary_cross_entropy_with_logits(mask_logits, masks)
    dice = soft_dice_loss(mask_logits, masks)
    zone = F.binary_cross_entropy_with_logits(zone_logits, zones)
    return bce + dice + ZONE_WEIGHT * zone
