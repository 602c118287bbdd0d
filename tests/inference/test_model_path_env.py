"""Which model file the inference core loads when none is given: the one MEDSEGTEXT_MODEL_PATH
names (the name the backend's settings and the SageMaker server read too), or the shipped one.
MEDSEGTEXT_MODEL, the core's old name, still works with a deprecation warning."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from inference.manifest import manifest_path_for
from inference.model_files import DEFAULT_MODEL
from inference.session import ModelRunner


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped model and its manifest under another folder, so the file loaded is told
    apart from the default; neither variable set to begin with."""
    monkeypatch.delenv("MEDSEGTEXT_MODEL_PATH", raising=False)
    monkeypatch.delenv("MEDSEGTEXT_MODEL", raising=False)
    target = tmp_path / DEFAULT_MODEL.name
    shutil.copy(DEFAULT_MODEL, target)
    shutil.copy(manifest_path_for(DEFAULT_MODEL), manifest_path_for(target))
    return target


def test_the_runner_loads_the_file_model_path_names(copy: Path, monkeypatch) -> None:
    assert ModelRunner(device="cpu").path == DEFAULT_MODEL
    monkeypatch.setenv("MEDSEGTEXT_MODEL_PATH", str(copy))
    assert ModelRunner(device="cpu").path == copy
    assert ModelRunner(DEFAULT_MODEL, device="cpu").path == DEFAULT_MODEL  # a given path wins


def test_the_old_name_still_works_with_a_warning(copy: Path, monkeypatch, caplog) -> None:
    monkeypatch.setenv("MEDSEGTEXT_MODEL", str(copy))
    with caplog.at_level(logging.WARNING, logger="inference.model_files"):
        assert ModelRunner(device="cpu").path == copy
    assert "MEDSEGTEXT_MODEL is deprecated: set MEDSEGTEXT_MODEL_PATH instead" in caplog.text
    monkeypatch.setenv("MEDSEGTEXT_MODEL_PATH", str(DEFAULT_MODEL))  # the new name wins
    assert ModelRunner(device="cpu").path == DEFAULT_MODEL
