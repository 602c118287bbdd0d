"""Start the second model from the weights of the shipped one, which exist only as ONNX.

The shipped 1.1.0 model was trained on a GPU and only its ONNX file was kept. Its export folded
every BatchNorm into the convolution before it (W' = W * g / s, b' = beta - g * mu / s), so the
graph holds one weight and bias per conv. We put W' back into the conv and rebuild an equivalent
BatchNorm whose running statistics are the measured per-channel mean m and variance v of W'x on a
few real films: gamma = sqrt(v + eps), beta = m + b'. In eval mode that BatchNorm gives exactly
W'x + b'; in train mode the batch statistics are close to (m, v), so fine-tuning starts where the
shipped model was instead of from a scrambled normalisation. Heads that v1 did not have (presence)
keep their fresh initialisation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from training.model import SegFindNet


def _conv_bn_pairs(model: SegFindNet) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
    """Each bias-free conv with its BatchNorm, in forward order (stem, encoder, decoder)."""
    pairs: list[tuple[nn.Conv2d, nn.BatchNorm2d]] = []
    for seq in [model.stem, *model.enc, *model.dec]:
        mods = list(seq)
        for a, b in itertools.pairwise(mods):
            if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                pairs.append((a, b))
    return pairs


def load_onnx_weights(
    model: SegFindNet, onnx_path: str | Path, calibration_images: torch.Tensor
) -> dict[str, int]:
    """Copy the ONNX file's weights into `model` (in place). calibration_images: (N,1,H,W)
    normalised. Returns counts of what was copied; raises ValueError on a shape mismatch."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    # v2 files are exported through training.export.ExportNet, whose names start with "net."
    inits = {i.name.removeprefix("net."): numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:  # equal tensors are stored once and aliased by Identity nodes
        src = node.input[0].removeprefix("net.") if node.input else ""
        if node.op_type == "Identity" and src in inits:
            inits[node.output[0].removeprefix("net.")] = inits[src]
    named = dict(model.named_parameters())
    state = model.state_dict()
    copied = 0
    for name, value in inits.items():
        if name in state:
            if tuple(state[name].shape) != value.shape:
                raise ValueError(
                    f"{onnx_path}: {name} has shape {value.shape}, "
                    f"model wants {tuple(state[name].shape)}"
                )
            state[name].copy_(torch.from_numpy(np.array(value)))
            copied += 1
    folded = [
        n
        for n in graph.node
        if n.op_type == "Conv" and n.input[1].removeprefix("net.") not in named
    ]
    pairs = _conv_bn_pairs(model)
    if len(folded) != len(pairs):
        raise ValueError(f"{onnx_path}: {len(folded)} folded convs, model has {len(pairs)}")
    biases: list[torch.Tensor] = []
    for node, (conv, bn) in zip(folded, pairs, strict=True):
        w = torch.from_numpy(np.array(inits[node.input[1].removeprefix("net.")]))
        if tuple(w.shape) != tuple(conv.weight.shape):
            raise ValueError(
                f"{onnx_path}: conv {node.input[1]} shape {tuple(w.shape)} "
                f"vs {tuple(conv.weight.shape)}"
            )
        b = torch.from_numpy(np.array(inits[node.input[2].removeprefix("net.")]))
        with torch.no_grad():
            conv.weight.copy_(w)
            bn.weight.fill_(1.0)
            bn.bias.copy_(b)
            _buffer(bn.running_mean).zero_()
            _buffer(bn.running_var).fill_(1.0 - bn.eps)
        biases.append(b)
    _refit_batchnorm(model, pairs, biases, calibration_images)
    return {"named_tensors": copied, "folded_convs": len(pairs)}


@torch.no_grad()
def _refit_batchnorm(
    model: SegFindNet,
    pairs: list[tuple[nn.Conv2d, nn.BatchNorm2d]],
    biases: list[torch.Tensor],
    images: torch.Tensor,
) -> None:
    sums: dict[int, list[torch.Tensor]] = {i: [] for i in range(len(pairs))}

    def hook(i: int) -> Callable[[nn.Module, tuple[torch.Tensor, ...], torch.Tensor], None]:
        def record(mod: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            y = out.double()
            sums[i].append(
                torch.stack(
                    [
                        y.sum((0, 2, 3)),
                        (y * y).sum((0, 2, 3)),
                        torch.full_like(y[0, :, 0, 0], y[:, 0].numel()),
                    ]
                )
            )

        return record

    handles = [conv.register_forward_hook(hook(i)) for i, (conv, _) in enumerate(pairs)]
    was_training = model.training
    model.eval()
    for chunk in images.split(32):
        model(chunk)
    for h in handles:
        h.remove()
    for i, (_, bn) in enumerate(pairs):
        s, s2, n = torch.stack(sums[i]).sum(0)
        mean = s / n
        var = (s2 / n - mean * mean).clamp_min(1e-6)
        _buffer(bn.running_mean).copy_(mean.float())
        _buffer(bn.running_var).copy_(var.float())
        bn.weight.copy_(torch.sqrt(var + bn.eps).float())
        bn.bias.copy_((mean + biases[i].double()).float())
    model.train(was_training)


def _buffer(t: torch.Tensor | None) -> torch.Tensor:
    if t is None:
        raise ValueError("BatchNorm without running statistics")
    return t
