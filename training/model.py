"""SegFindNet: a compact UNet whose encoder starts at half resolution, with a findings head and
an image-level presence head.

Why this shape: on 2 CPU cores a full-resolution UNet of the same widths trains ~6x slower
(shared/notes/cpu-training-calibration.md); starting at 112x112 keeps inference well inside the
30 ms budget. The findings head reads the bottleneck and a coarse grid of the lesion map, so zone
flags are predicted from where the lesions are, not from text.

The presence head (issue 13) gives one logit per image, "is there a lesion on this film", from
the pooled bottleneck (what the film looks like) and a summary of the lesion map (how much and how
strongly the segmentation fires). Reading the lesion map ties the decision to the outline, so a
normal film is pushed towards an empty map and no presence at once. It adds ~37 k parameters and
a few k FLOPs. The pooled bottleneck is also returned as `features`: the export measures a film's
distance from the training distribution on it (the scope gate, training/scope.py).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

DEFAULT_WIDTHS = (16, 32, 64, 128, 256)
GRID = (8, 4)  # rows x columns of the lesion-map summary fed to the findings head
PRESENCE_STATS = 2  # mean lesion probability and peak lesion logit over the whole map
PRESENCE_HIDDEN = 128
OUTPUT_NAMES = ("mask_logits", "zone_logits", "presence_logit", "features")


class SegFindOutput(NamedTuple):
    """mask (B,1,H,W) and zone (B,6) logits, presence logit (B,), pooled bottleneck (B,C)."""

    mask_logits: torch.Tensor
    zone_logits: torch.Tensor
    presence_logit: torch.Tensor
    features: torch.Tensor


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SegFindNet(nn.Module):
    def __init__(self, widths: tuple[int, ...] = DEFAULT_WIDTHS, n_zones: int = 6):
        super().__init__()
        w = widths
        self.stem = nn.Sequential(
            nn.Conv2d(1, w[0], 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(w[0]),
            nn.ReLU(inplace=True),
        )
        self.enc = nn.ModuleList(
            [_block(w[0], w[0])] + [_block(w[i - 1], w[i]) for i in range(1, len(w))]
        )
        self.up = nn.ModuleList(
            [nn.ConvTranspose2d(w[i], w[i - 1], 2, stride=2) for i in range(len(w) - 1, 0, -1)]
        )
        self.dec = nn.ModuleList([_block(2 * w[i - 1], w[i - 1]) for i in range(len(w) - 1, 0, -1)])
        self.seg_head = nn.Conv2d(w[0], 1, 1)
        cells = GRID[0] * GRID[1]
        self.zone_head = nn.Sequential(
            nn.Linear(w[-1] + 2 * cells, 128),
            nn.ReLU(inplace=True),
            nn.Dropout(0.2),
            nn.Linear(128, n_zones),
        )
        self.presence_head = nn.Sequential(
            nn.Linear(2 * w[-1] + 2 * cells + PRESENCE_STATS, PRESENCE_HIDDEN),
            nn.ReLU(inplace=True),
            nn.Dropout(0.2),
            nn.Linear(PRESENCE_HIDDEN, 1),
        )

    def forward(self, x: torch.Tensor) -> SegFindOutput:
        return self.heads(self.encode(x))

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each encoder level's output, the bottleneck last (the scope gate reads them all)."""
        h = self.stem(x)
        levels = []
        for i, block in enumerate(self.enc):
            if i > 0:
                h = F.max_pool2d(h, 2)
            h = block(h)
            levels.append(h)
        return levels

    def heads(self, levels: list[torch.Tensor]) -> SegFindOutput:
        h = bottleneck = levels[-1]
        for up, dec, skip in zip(self.up, self.dec, reversed(levels[:-1]), strict=True):
            h = dec(torch.cat([up(h), skip], dim=1))
        half = self.seg_head(h)
        mask_logits = F.interpolate(half, scale_factor=2.0, mode="bilinear", align_corners=False)
        features = bottleneck.mean(dim=(2, 3))
        prob = torch.sigmoid(half)
        grid = torch.cat(
            [
                F.adaptive_avg_pool2d(prob, GRID).flatten(1),
                F.adaptive_max_pool2d(half, GRID).flatten(1),
            ],
            dim=1,
        )
        zone_logits = self.zone_head(torch.cat([features, grid], dim=1))
        lesion_stats = torch.cat(
            [
                prob.mean(dim=(1, 2, 3)).unsqueeze(1),
                half.amax(dim=(1, 2, 3)).unsqueeze(1),
            ],
            dim=1,
        )
        presence_logit = self.presence_head(
            torch.cat([features, bottleneck.amax(dim=(2, 3)), grid, lesion_stats], dim=1)
        ).squeeze(1)
        return SegFindOutput(mask_logits, zone_logits, presence_logit, features)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, size: int = 224) -> int:
    """Forward FLOPs per image (2 x multiply-accumulates) of the convolutions and linears."""
    macs = 0

    def hook(mod: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal macs
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            macs += out.numel() * k
        elif isinstance(mod, nn.ConvTranspose2d):
            macs += inp[0].numel() * mod.out_channels * mod.kernel_size[0] * mod.kernel_size[1]
        elif isinstance(mod, nn.Linear):
            macs += mod.in_features * mod.out_features

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear)
    ]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, size, size))
    model.train(was_training)
    for h in handles:
        h.remove()
    return 2 * macs
