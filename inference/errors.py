"""Errors the inference core raises for bad input.

One exception type with a machine-readable ``code`` lets the API map every refusal to a 4xx
response and the CLI name the reason, while ``message`` is written for a clinician or an API
client reading it ("PNG is truncated: image data ends early"), not for a developer.
"""

from __future__ import annotations

from typing import Final

#: Every code :class:`InputError` may carry; callers may switch on these.
INPUT_ERROR_CODES: Final[frozenset[str]] = frozenset(
    {
        "empty",  # no bytes at all
        "too_large",  # the file is over the byte limit
        "too_many_pixels",  # the declared image size is over the pixel or side limit
        "unsupported_format",  # not a PNG, JPEG or DICOM file, or a variant we cannot read
        "corrupt",  # truncated or undecodable
        "multi_frame",  # more than one frame (cine, tomosynthesis, animated PNG)
        "no_pixel_data",  # a DICOM image header without its pixels
        "not_an_image",  # a DICOM object that is not an image (SR, SEG, PDF, PR, KO...)
        "burned_in_annotation",  # DICOM says its pixels carry burned-in text (names, dates)
    }
)


class InputError(ValueError):
    """An uploaded file cannot be used as a chest image; ``code`` says why, ``message`` explains."""

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        if code not in INPUT_ERROR_CODES:
            raise ValueError(f"unknown InputError code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"InputError(code={self.code!r}, message={self.message!r})"
