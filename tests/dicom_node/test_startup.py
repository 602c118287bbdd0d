"""The node refuses to start, with one line naming the reason, rather than run misconfigured;
its settings are checked when read, like every other setting."""

from __future__ import annotations

import subprocess
import sys

import pytest

from backend.platform.embedded import free_port
from backend.settings import ROOT, SettingsError, load_settings
from tests.backend.backend_testkit import Stack
from tests.dicom_node.dicom_testkit import node_env


def start(stack: Stack, **extra: str) -> subprocess.CompletedProcess[str]:
    env = node_env(stack.settings, free_port(), {"MEDSEGTEXT_DICOM_CALLING_AETS": "PACS", **extra})
    return subprocess.run(
        [sys.executable, "-m", "backend.dicom_node"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"MEDSEGTEXT_DICOM_CALLING_AETS": ""}, "MEDSEGTEXT_DICOM_CALLING_AETS is empty"),
        (
            {"MEDSEGTEXT_DICOM_SERVICE_ACCOUNT": "nobody@example.org"},
            "nobody@example.org does not exist (create it: medsegtext users create",
        ),
        ({"MEDSEGTEXT_DICOM_AE_TITLE": "MED\\SEG"}, "is not a DICOM AE title"),
    ],
)
def test_a_misconfigured_node_does_not_start(
    stack: Stack, changes: dict[str, str], says: str
) -> None:
    out = start(stack, **changes)
    assert out.returncode == 2, out.stderr
    assert says in out.stderr


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("MEDSEGTEXT_DICOM_CALLING_AETS", "PACS,WAY-TOO-LONG-AE-TITLE", "is not a DICOM AE title"),
        ("MEDSEGTEXT_DICOM_AE_TITLE", " PADDED", "is not a DICOM AE title"),
        ("MEDSEGTEXT_DICOM_PRIORITY", "asap", "is not one of routine, urgent, stat"),
        ("MEDSEGTEXT_DICOM_MAX_ASSOCIATIONS", "0", "ASSOCIATIONS: .0.: must be at least 1"),
    ],
)
def test_bad_dicom_settings_are_refused_when_read(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=says):
        load_settings()


def test_the_allowlist_is_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDSEGTEXT_DICOM_CALLING_AETS", "ORTHANC, STORESCU,")
    assert load_settings().dicom_calling_aets == ("ORTHANC", "STORESCU")
