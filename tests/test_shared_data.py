"""A missing data set skips a test on a developer's machine and fails it in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shared_data import require


@pytest.mark.parametrize("ci", [None, "", "0", "false"])
def test_missing_data_skips_outside_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str | None
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match=r"the films not found: .*gone\.png"):
        require(tmp_path / "here", tmp_path / "gone.png", what="the films")


@pytest.mark.parametrize("ci", ["true", "1", "yes"])
def test_missing_data_fails_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match=r"gone\.png \(CI needs ../shared/data"):
        require(tmp_path / "gone.png", what="the films")


def test_present_data_passes_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", "true")
    require(tmp_path, what="a folder that exists")
