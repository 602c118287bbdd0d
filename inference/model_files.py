"""Which model file to load when none is given: the one MEDSEGTEXT_MODEL_PATH names, read alike
by the API, the workers, the SageMaker server and the command line, else the shipped one.
Standard library only, so the API can read it without loading ONNX Runtime."""

from __future__ import annotations

import logging
import os

MODEL_PATH_ENV = "MEDSEGTEXT_MODEL_PATH"
#: The inference core's old name for it, still read (with a warning) when the new one is unset.
DEPRECATED_MODEL_ENV = "MEDSEGTEXT_MODEL"

log = logging.getLogger(__name__)


def model_path_from_environment() -> str | None:
    """MEDSEGTEXT_MODEL_PATH; else MEDSEGTEXT_MODEL, deprecated; else None (the shipped model)."""
    path = os.environ.get(MODEL_PATH_ENV)
    if path:
        return path
    old = os.environ.get(DEPRECATED_MODEL_ENV)
    if old:
        log.warning("%s is deprecated: set %s instead", DEPRECATED_MODEL_ENV, MODEL_PATH_ENV)
    return old or None
