"""The identity map's key and cipher (backend.identity_map.sealing): a production process that
may write or read the map will not start without a key of its own; a sealed row opens only
with the key that sealed it and only for its own case; the PACS destination is checked when
the settings are read."""

from __future__ import annotations

import base64
import os

import pytest

from backend.identity_map.identifiers import Identity
from backend.identity_map.sealing import KeyMismatch, key_of, seal, unseal
from backend.settings import Settings, SettingsError, load_settings

KEY = base64.b64encode(os.urandom(32)).decode()


def _production(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    monkeypatch.setenv("MEDSEGTEXT_ENVIRONMENT", "production")
    monkeypatch.setenv("MEDSEGTEXT_SECRET_KEY", "x" * 40)
    for name in ("IDENTITY_KEY", "PACS_AE_TITLE", "DICOM_CALLING_AETS"):
        monkeypatch.delenv(f"MEDSEGTEXT_{name}", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(f"MEDSEGTEXT_{name}", value)


@pytest.mark.parametrize(
    "configured", [{"PACS_AE_TITLE": "PACS"}, {"DICOM_CALLING_AETS": "ORTHANC"}]
)
def test_production_needs_its_own_key_once_the_map_is_used(monkeypatch, configured) -> None:
    _production(monkeypatch, **configured)
    with pytest.raises(SettingsError, match="MEDSEGTEXT_IDENTITY_KEY must be set"):
        load_settings()
    monkeypatch.setenv("MEDSEGTEXT_IDENTITY_KEY", KEY)
    assert key_of(load_settings()) == base64.b64decode(KEY)


def test_production_without_pacs_needs_no_key(monkeypatch) -> None:
    _production(monkeypatch)
    assert load_settings().identity_key == ""


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_key_that_is_not_32_bytes_of_base64_is_refused(monkeypatch, bad: str) -> None:
    _production(monkeypatch, IDENTITY_KEY=bad)
    with pytest.raises(SettingsError, match="32 random bytes"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PACS_AE_TITLE", "A" * 17, "not a DICOM AE title"),
        ("PACS_PORT", "0", "MEDSEGTEXT_PACS_PORT: .0.: must be at least 1"),
        ("PACS_RETRY_CAP_SECONDS", "0.5", "retry cap"),
    ],
)
def test_pacs_destination_settings_are_checked(monkeypatch, name, value, says) -> None:
    _production(monkeypatch, IDENTITY_KEY=KEY, **{name: value})
    with pytest.raises(SettingsError, match=says):
        load_settings()


def test_a_sealed_identity_opens_only_with_its_key_and_for_its_case() -> None:
    identity = Identity(
        study_uid="1.2.3",
        series_uid="1.2.3.4",
        sop_instance_uid="1.2.3.4.5",
        sop_class_uid="1.2.840.10008.5.1.4.1.1.1.1",
        patient_id="MRN-778899",
        patient_name="DOE^JANE",
        accession_number="ACC-4242",
    )
    key = key_of(Settings(identity_key=KEY))
    sealed = seal(key, "a" * 32, identity.to_json())

    assert b"MRN-778899" not in sealed and b"DOE" not in sealed and b"1.2.3" not in sealed
    assert Identity.from_json(unseal(key, "a" * 32, sealed)) == identity
    with pytest.raises(KeyMismatch, match="sealed with another key"):
        unseal(key, "b" * 32, sealed)  # the row copied onto another case
    with pytest.raises(KeyMismatch):
        unseal(key_of(Settings()), "a" * 32, sealed)  # the development key
    with pytest.raises(KeyMismatch):
        unseal(key, "a" * 32, sealed[:-1] + bytes([sealed[-1] ^ 1]))  # altered
