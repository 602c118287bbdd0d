"""``model.tar.gz`` for SageMaker: the ONNX model and its manifest at the archive's root, which
SageMaker unpacks into /opt/ml/model where ``backend.sagemaker_server`` looks for ``*.onnx``.

The archive is reproducible (sorted members, fixed owner, mode and mtime, no gzip timestamp), so
the same model always gives the same bytes and the same S3 key can be trusted. The model's
sha256 is checked against its manifest first: a model that would fail to load on the endpoint
is refused here.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

from inference.model_files import DEFAULT_MODEL

ARCHIVE_NAME = "model.tar.gz"


class PackageError(RuntimeError):
    """The models folder cannot be packaged; the message names the file and the reason."""


@dataclass(frozen=True)
class Packaged:
    path: Path
    name: str  # the model's name from its manifest
    version: str
    sha256: str  # of the ONNX file
    members: tuple[str, ...]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def find_model(model: Path) -> tuple[Path, Path, dict[str, object]]:
    """``model`` with its ``<stem>.manifest.json``, checked."""
    if model.suffix != ".onnx" or not model.is_file():
        raise PackageError(f"{model}: no such .onnx model file")
    manifest_path = model.with_name(model.stem + ".manifest.json")
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise PackageError(f"{manifest_path}: the model's manifest is missing") from None
    except json.JSONDecodeError as e:
        raise PackageError(f"{manifest_path}: not valid JSON: {e}") from None
    for key in ("name", "version", "sha256"):
        if not isinstance(manifest.get(key), str) or not manifest[key]:
            raise PackageError(f"{manifest_path}: field {key!r} is missing")
    onnx_file = manifest.get("onnx_file")
    if onnx_file not in (None, model.name):
        raise PackageError(f"{manifest_path}: describes {onnx_file!r}, not {model.name!r}")
    actual = _sha256(model)
    if actual != manifest["sha256"]:
        raise PackageError(
            f"{model}: sha256 {actual} does not match its manifest "
            f"({manifest['sha256']}); re-export the model"
        )
    return model, manifest_path, manifest


def _add(tar: tarfile.TarFile, path: Path) -> None:
    info = tarfile.TarInfo(path.name)
    info.size = path.stat().st_size
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    with path.open("rb") as f:
        tar.addfile(info, f)


def package(out_dir: str | Path, model_file: str | Path = DEFAULT_MODEL) -> Packaged:
    """Write ``out_dir/model.tar.gz``; returns what went in. The default is the shipped model
    (models/medsegtext-segfind.onnx, FP32), for CPU and GPU endpoints alike."""
    model, manifest_path, manifest = find_model(Path(model_file))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / ARCHIVE_NAME
    members = sorted([model, manifest_path], key=lambda p: p.name)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for member in members:
            _add(tar, member)
    partial = target.with_name(target.name + ".partial")
    with (
        partial.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
    ):
        gz.write(buf.getvalue())
    partial.replace(target)
    return Packaged(
        target,
        str(manifest["name"]),
        str(manifest["version"]),
        str(manifest["sha256"]),
        tuple(m.name for m in members),
    )


def list_archive(path: str | Path) -> list[str]:
    with tarfile.open(path, "r:gz") as tar:
        return tar.getnames()


def inspect_archive(path: str | Path) -> Packaged:
    """Read a model.tar.gz back: its manifest, and the ONNX file's sha256 checked against it."""
    p = Path(path)
    try:
        with tarfile.open(p, "r:gz") as tar:
            names = tar.getnames()
            manifests = [n for n in names if n.endswith(".manifest.json")]
            if len(manifests) != 1:
                raise PackageError(f"{p}: expected one *.manifest.json, found {len(manifests)}")
            manifest = json.load(tar.extractfile(manifests[0]))  # type: ignore[arg-type]
            onnx_name = manifests[0][: -len(".manifest.json")] + ".onnx"
            if onnx_name not in names:
                raise PackageError(f"{p}: {onnx_name} is missing")
            h = hashlib.sha256()
            f = tar.extractfile(onnx_name)
            assert f is not None
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except (OSError, tarfile.TarError, json.JSONDecodeError) as e:
        raise PackageError(f"{p}: not a readable model archive: {e}") from None
    if h.hexdigest() != manifest.get("sha256"):
        raise PackageError(f"{p}: {onnx_name} does not match the sha256 in its manifest")
    return Packaged(p, str(manifest["name"]), str(manifest["version"]), h.hexdigest(), tuple(names))
