"""ONNX Runtime session for the model named by a manifest: CUDA when the GPU build and a device
are present, CPU otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from inference.manifest import Manifest, manifest_path_for, sha256_of
from inference.model_files import DEFAULT_MODEL, FP32_MODEL, model_path_from_environment


class ModelError(RuntimeError):
    """The model file is missing, does not match its manifest, or cannot be loaded."""


def choose_providers(device: str = "auto") -> list[str]:
    available = ort.get_available_providers()
    if device in ("auto", "cuda") and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise ModelError("CUDA requested but onnxruntime-gpu with a CUDA device is not available")
    return ["CPUExecutionProvider"]


class ModelRunner:
    def __init__(
        self,
        model_path: str | Path | None = None,
        device: str = "auto",
        threads: int | None = None,
        verify_sha256: bool = True,
    ):
        self.providers = choose_providers(device)
        on_gpu = "CUDAExecutionProvider" in self.providers
        path = Path(
            model_path or model_path_from_environment() or (FP32_MODEL if on_gpu else DEFAULT_MODEL)
        )
        mpath = manifest_path_for(path)
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        if not mpath.is_file():
            raise ModelError(f"model manifest not found: {mpath}")
        self.path = path
        self.manifest = Manifest.load(mpath)
        if verify_sha256:
            digest = sha256_of(path)
            if digest != self.manifest.sha256:
                raise ModelError(f"{path}: sha256 {digest[:12]}… does not match its manifest")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=self.providers)
        except Exception as e:  # onnxruntime raises its own untyped errors
            raise ModelError(f"{path}: cannot load ONNX model ({e})") from e

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """batch: (N, 1, S, S) float32, normalised. Returns mask and zone logits, and the extra
        outputs a v2 manifest names (presence logit, scope distance) by output name."""
        m = self.manifest
        extra = [o for o in (m.presence_output, m.scope_output) if o]
        mask, zones, *rest = self.session.run(
            [m.mask_output, m.zone_output, *extra], {m.input_name: batch}
        )
        return mask, zones, dict(zip(extra, rest, strict=True))
