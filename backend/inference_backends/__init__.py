"""Where the worker's inference runs: in-process ONNX Runtime (``local``) or a SageMaker endpoint
(``sagemaker``). Both give the job the same :class:`InferenceResult`."""

from backend.inference_backends.base import InferenceBackend, InferenceResult
from backend.inference_backends.factory import make_backend

__all__ = ["InferenceBackend", "InferenceResult", "make_backend"]
