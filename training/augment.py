"""X-ray augmentation on whole batches, on the training device.

Small affine jitter (patient position), contrast, brightness and gamma (exposure), and noise.
No horizontal flip: it would move the heart to the other side and swap the zone labels' sides,
which real frontal films never do.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def augment(
    images: torch.Tensor,
    masks: torch.Tensor,
    gen: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """images in [0, 1], masks 0/1, both (B, 1, H, W) float on the same device."""
    b, dev = images.shape[0], images.device

    def u(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(b, generator=gen, device=dev) * (hi - lo) + lo

    scale, angle = u(0.9, 1.1), u(-7, 7) * math.pi / 180
    tx, ty = u(-0.05, 0.05), u(-0.05, 0.05)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    images = F.grid_sample(
        images, grid, mode="bilinear", padding_mode="border", align_corners=False
    )
    masks = (
        F.grid_sample(masks, grid, mode="bilinear", padding_mode="zeros", align_corners=False) > 0.5
    ).float()
    gamma = torch.exp(u(-0.3, 0.3)).view(b, 1, 1, 1)
    images = images.clamp(1e-4, 1).pow(gamma)
    contrast, bright = u(0.8, 1.2).view(b, 1, 1, 1), u(-0.08, 0.08).view(b, 1, 1, 1)
    mean = images.mean(dim=(2, 3), keepdim=True)
    images = (images - mean) * contrast + mean + bright
    noise = torch.randn(images.shape, generator=gen, device=dev) * u(0, 0.02).view(b, 1, 1, 1)
    return (images + noise).clamp(0, 1), masks
