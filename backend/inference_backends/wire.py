"""The JSON that the SageMaker-compatible server returns and the SageMaker backend reads: the
prediction summary plus the mask and overlay PNGs in base64. One module, so both ends agree."""

from __future__ import annotations

import base64
import json
from typing import Any

from backend.inference_backends.base import InferenceResult
from inference.errors import INPUT_ERROR_CODES, InputError
from inference.result import PredictionSummary

RESULT_CONTENT_TYPE = "application/json"
MASK_FIELD = "mask_png_b64"
OVERLAY_FIELD = "overlay_png_b64"


def sniff_content_type(data: bytes) -> str:
    """The MIME type a SageMaker client sends as ContentType (the server decodes by content)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[128:132] == b"DICM":
        return "application/dicom"
    return "application/octet-stream"


# SageMaker CustomAttributes value that asks the server to skip the scope gate (an override).
SCOPE_OVERRIDE_ATTRIBUTE = "scope-check=off"
CUSTOM_ATTRIBUTES_HEADER = "x-amzn-sagemaker-custom-attributes"


def encode_result(result: InferenceResult) -> bytes:
    body = result.summary.to_dict()
    body[MASK_FIELD] = base64.b64encode(result.mask_png).decode("ascii")
    body[OVERLAY_FIELD] = base64.b64encode(result.overlay_png).decode("ascii")
    return json.dumps(body).encode()


def decode_result(payload: bytes) -> InferenceResult:
    """Raises ValueError when the payload is not a result this project's server writes."""
    body: dict[str, Any] = json.loads(payload)
    try:
        mask = base64.b64decode(body.pop(MASK_FIELD), validate=True)
        overlay = base64.b64decode(body.pop(OVERLAY_FIELD), validate=True)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"inference response lacks its PNGs: {e}") from e
    return InferenceResult(PredictionSummary.from_dict(body), mask, overlay)


def encode_input_error(error: InputError) -> bytes:
    return json.dumps({"code": error.code, "message": error.message}).encode()


def decode_input_error(payload: str | bytes | None, status: int) -> InputError:
    """Rebuild the model's InputError from its 4xx body; unknown shapes keep the raw text."""
    try:
        body = json.loads(payload or b"")
        code, message = str(body.get("code", "")), str(body.get("message", ""))
    except (ValueError, AttributeError):
        code, message = "", ""
    if not message:
        text = payload.decode(errors="replace") if isinstance(payload, bytes) else payload
        message = (text or f"the model refused the image (HTTP {status})")[:300]
    if code not in INPUT_ERROR_CODES:
        code = "unsupported_format" if status == 415 else "corrupt"
    return InputError(code, message)
