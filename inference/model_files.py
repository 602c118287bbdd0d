"""Which model file to load when none is given: the one MEDSEGTEXT_MODEL_PATH names, read alike
by the API, the workers, the SageMaker server and the command line, else the shipped one.
Standard library only, so the API can read these paths without loading ONNX Runtime."""

from __future__ import annotations

import logging
import os
from pathlib import Path

MODEL_PATH_ENV = "MEDSEGTEXT_MODEL_PATH"
#: The inference core's old name for it, still read (with a warning) when the new one is unset.
DEPRECATED_MODEL_ENV = "MEDSEGTEXT_MODEL"

log = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
# The trained export (what training/export.py writes and quantisation starts from).
FP32_MODEL = MODELS_DIR / "medsegtext-segfind.onnx"
# What runs unless told otherwise, on CPU and CUDA. v1 ran an INT8 copy on the CPU (1.7x faster);
# v2's INT8 copy moved the presence decision and the scope gate too far (AUROC 0.958 -> 0.93,
# 3.6% of chest films refused; docs/model.md), so the FP32 file ships alone.
DEFAULT_MODEL = FP32_MODEL


def model_path_from_environment() -> str | None:
    """MEDSEGTEXT_MODEL_PATH; else MEDSEGTEXT_MODEL, deprecated; else None (the shipped model)."""
    path = os.environ.get(MODEL_PATH_ENV)
    if path:
        return path
    old = os.environ.get(DEPRECATED_MODEL_ENV)
    if old:
        log.warning("%s is deprecated: set %s instead", DEPRECATED_MODEL_ENV, MODEL_PATH_ENV)
    return old or None
