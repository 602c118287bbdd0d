"""Checking a model before it is registered (blocking: hashing reads the whole file).

A model is its ONNX file and its manifest (inference.manifest); the manifest's sha256 must be
the file's, its zone order the product's, and its version usable as a storage key."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from inference.findings import ZONE_ORDER
from inference.manifest import Manifest, manifest_path_for, sha256_of

_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,49}$")


class ModelCheckError(ValueError):
    """The model cannot be registered; the message names the file and the reason."""


@dataclass(frozen=True)
class CheckedModel:
    manifest: dict[str, Any]
    name: str
    version: str
    sha256: str


def parse_manifest(raw: bytes | str, source: str) -> Manifest:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelCheckError(f"{source}: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ModelCheckError(f"{source}: a manifest is a JSON object")
    missing = [k for k in ("name", "version", "sha256") if not data.get(k)]
    if missing:
        raise ModelCheckError(f"{source}: missing {', '.join(missing)}")
    data["zone_order"] = tuple(data.get("zone_order", ZONE_ORDER))
    data.setdefault("onnx_file", "model.onnx")
    known = set(Manifest.__dataclass_fields__)
    try:
        manifest = Manifest(**{k: v for k, v in data.items() if k in known})
    except TypeError as e:
        raise ModelCheckError(f"{source}: {e}") from None
    if tuple(manifest.zone_order) != ZONE_ORDER:
        raise ModelCheckError(f"{source}: zone_order must be {', '.join(ZONE_ORDER)}")
    if not _VERSION.match(str(manifest.version)):
        raise ModelCheckError(
            f"{source}: version {manifest.version!r} must be 1-50 letters, "
            "digits or . _ + - (it names stored results)"
        )
    if len(str(manifest.name)) > 100:
        raise ModelCheckError(f"{source}: name is longer than 100 characters")
    return manifest


def _checked(manifest: Manifest, digest: str, onnx_name: str) -> CheckedModel:
    if digest != manifest.sha256:
        raise ModelCheckError(
            f"{onnx_name}: sha256 {digest} does not match the manifest's {manifest.sha256}"
        )
    return CheckedModel(asdict(manifest), manifest.name, manifest.version, digest)


def check_files(onnx_path: Path, manifest_path: Path | None = None) -> CheckedModel:
    """An ONNX file on this server and its manifest (default: <stem>.manifest.json beside it)."""
    if not onnx_path.is_absolute():
        raise ModelCheckError(f"{onnx_path}: give an absolute path")
    if onnx_path.suffix != ".onnx" or not onnx_path.is_file():
        raise ModelCheckError(f"{onnx_path}: no such .onnx file")
    manifest_path = manifest_path or manifest_path_for(onnx_path)
    if not manifest_path.is_file():
        raise ModelCheckError(f"{manifest_path}: no manifest beside the model")
    manifest = parse_manifest(manifest_path.read_bytes(), str(manifest_path))
    return _checked(manifest, sha256_of(onnx_path), str(onnx_path))


def check_bytes(onnx: bytes, manifest_raw: bytes, onnx_name: str = "onnx") -> CheckedModel:
    """An uploaded ONNX file and manifest."""
    if not onnx:
        raise ModelCheckError(f"{onnx_name}: the file is empty")
    manifest = parse_manifest(manifest_raw, "manifest")
    return _checked(manifest, hashlib.sha256(onnx).hexdigest(), onnx_name)
