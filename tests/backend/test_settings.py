"""Settings read from the environment: names, defaults, types and the errors that name the
variable (backend/settings/)."""

import logging
import re

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from backend.cases.enums import Priority
from backend.settings import (
    DEV_SECRET,
    DicomSettings,
    Settings,
    SettingsError,
    load_settings,
)


@pytest.mark.parametrize("secret", [None, DEV_SECRET, "", "short-secret"])
def test_production_refuses_default_empty_or_short_secrets(monkeypatch, secret):
    monkeypatch.setenv("MEDSEGTEXT_ENVIRONMENT", "production")
    if secret is None:
        monkeypatch.delenv("MEDSEGTEXT_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("MEDSEGTEXT_SECRET_KEY", secret)
    with pytest.raises(SettingsError, match="MEDSEGTEXT_SECRET_KEY"):
        load_settings()


def test_production_accepts_a_real_secret_and_reads_typed_values(monkeypatch):
    monkeypatch.setenv("MEDSEGTEXT_ENVIRONMENT", "production")
    monkeypatch.setenv("MEDSEGTEXT_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("MEDSEGTEXT_MAX_UPLOAD_BYTES", "1234")
    monkeypatch.setenv("MEDSEGTEXT_COOKIE_SECURE", "true")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://db/x")
    s = load_settings()
    assert s.max_upload_bytes == 1234 and s.cookie_secure is True
    assert s.database_url == "postgresql+asyncpg://db/x"


def test_development_allows_the_default_secret(monkeypatch):
    monkeypatch.delenv("MEDSEGTEXT_ENVIRONMENT", raising=False)
    monkeypatch.delenv("MEDSEGTEXT_SECRET_KEY", raising=False)
    assert load_settings().secret_key == DEV_SECRET


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("MEDSEGTEXT_UPLOADS_PER_MINUTE", "thirty", "MEDSEGTEXT_UPLOADS_PER_MINUTE: 'thirty'"),
        ("MEDSEGTEXT_JOB_RETRY_BASE_SECONDS", "2s", "MEDSEGTEXT_JOB_RETRY_BASE_SECONDS: '2s'"),
        # a typo no longer reads as false
        ("MEDSEGTEXT_COOKIE_SECURE", "ture", "MEDSEGTEXT_COOKIE_SECURE: 'ture'"),
    ],
)
def test_a_value_of_the_wrong_type_names_its_variable(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=re.escape(says)):
        load_settings()


def test_the_prefixed_name_wins_over_the_conventional_one(monkeypatch):
    monkeypatch.delenv("MEDSEGTEXT_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://db/conventional")
    monkeypatch.setenv("REDIS_URL", "redis://conventional:6379/0")
    monkeypatch.setenv("MEDSEGTEXT_REDIS_URL", "redis://prefixed:6379/0")
    s = load_settings()
    assert s.database_url == "postgresql+asyncpg://db/conventional"
    assert s.redis_url == "redis://prefixed:6379/0"


def test_keyword_arguments_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("MEDSEGTEXT_S3_BUCKET", "from-env")
    monkeypatch.setenv("MEDSEGTEXT_S3_PREFIX", "env/")
    s = Settings(s3_bucket="given")
    assert (s.s3_bucket, s.s3_prefix) == ("given", "env/")


def test_a_concern_reads_alone_and_every_concern_is_in_settings(monkeypatch):
    monkeypatch.setenv("MEDSEGTEXT_DICOM_PORT", "11113")
    assert DicomSettings().dicom_port == 11113
    assert "database_url" not in DicomSettings.model_fields
    concerns: list[type[BaseSettings]] = list(Settings.__bases__)
    assert DicomSettings in concerns and all(issubclass(c, BaseSettings) for c in concerns)
    fields = [name for concern in concerns for name in concern.model_fields]
    assert len(fields) == len(set(fields)) and set(fields) == set(Settings.model_fields)
    # Settings inherits them all: a check named like another concern's would replace it
    checks = [
        name
        for concern in concerns
        for kind in ("field_validators", "model_validators")
        for name in getattr(concern.__pydantic_decorators__, kind)
    ]
    assert len(checks) == len(set(checks))


def test_settings_are_immutable_and_copied_with_changes():
    s = Settings(environment="test")
    with pytest.raises(ValidationError):
        s.environment = "production"
    assert s.model_copy(update={"s3_bucket": "other"}).s3_bucket == "other"
    assert s.s3_bucket == "medsegtext"


def test_another_process_reads_the_same_settings(monkeypatch):
    given = Settings(
        environment="test",
        cors_origins=("https://a.example", "https://b.example"),
        s3_endpoint_url="http://127.0.0.1:9000",
        uploads_per_minute=0,
        cookie_secure=True,
        job_retry_base_seconds=0.5,
        dicom_priority=Priority.STAT,
    )
    for name in Settings.env_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in given.environment_variables().items():
        monkeypatch.setenv(name, value)
    assert load_settings() == given


def test_every_variable_read_is_a_field_or_its_conventional_name():
    names = Settings.env_names()
    assert {f"MEDSEGTEXT_{f.upper()}" for f in Settings.model_fields} <= names
    assert names - {f"MEDSEGTEXT_{f.upper()}" for f in Settings.model_fields} == {
        "DATABASE_URL",
        "REDIS_URL",
        "AWS_REGION",
    }


def test_model_path_has_one_name_and_the_old_one_still_works_with_a_warning(monkeypatch, caplog):
    monkeypatch.delenv("MEDSEGTEXT_MODEL_PATH", raising=False)
    monkeypatch.setenv("MEDSEGTEXT_MODEL", "/models/old-name.onnx")
    with caplog.at_level(logging.WARNING, logger="inference.model_files"):
        assert load_settings().model_path == "/models/old-name.onnx"
    assert "MEDSEGTEXT_MODEL is deprecated: set MEDSEGTEXT_MODEL_PATH" in caplog.text
    caplog.clear()
    monkeypatch.setenv("MEDSEGTEXT_MODEL_PATH", "/models/new-name.onnx")
    with caplog.at_level(logging.WARNING, logger="inference.model_files"):
        assert load_settings().model_path == "/models/new-name.onnx"
    assert "deprecated" not in caplog.text


def _numeric_fields() -> list[str]:
    return sorted(
        name for name, info in Settings.model_fields.items() if info.annotation in (int, float)
    )


@pytest.mark.parametrize("field", _numeric_fields())
def test_every_number_refuses_a_negative_value_naming_its_variable(monkeypatch, field):
    """A timeout, size, count or port below zero is refused when the settings are read."""
    name = f"MEDSEGTEXT_{field.upper()}"
    monkeypatch.setenv(name, "-1")
    with pytest.raises(SettingsError, match=rf"^{name}: '-1': must be (at least [01]|above 0)$"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("MEDSEGTEXT_DB_POOL_SIZE", "0", "must be at least 1"),
        ("MEDSEGTEXT_DB_CONNECT_TIMEOUT_SECONDS", "0", "must be at least 1"),
        ("MEDSEGTEXT_JOB_TIMEOUT_SECONDS", "0", "must be at least 1"),
        ("MEDSEGTEXT_JOB_MAX_TRIES", "0", "must be at least 1"),
        ("MEDSEGTEXT_JOB_RETRY_BASE_SECONDS", "0", "must be above 0"),
        ("MEDSEGTEXT_AWS_READ_TIMEOUT_SECONDS", "0", "must be at least 1"),
        ("MEDSEGTEXT_MAX_UPLOAD_BYTES", "0", "must be at least 1"),
        ("MEDSEGTEXT_INFERENCE_MAX_BATCH", "0", "must be at least 1"),
        ("MEDSEGTEXT_SESSION_TTL_HOURS", "0", "must be at least 1"),
        ("MEDSEGTEXT_DICOM_PORT", "0", "must be at least 1"),
        ("MEDSEGTEXT_DICOM_PORT", "65536", "must be at most 65535"),
        ("MEDSEGTEXT_PACS_PORT", "70000", "must be at most 65535"),
        ("MEDSEGTEXT_TRIAGE_HIGH_BURDEN_PERCENT", "101", "must be at most 100"),
    ],
)
def test_a_number_out_of_its_range_names_its_variable(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=re.escape(f"{name}: '{value}': {says}")):
        load_settings()


@pytest.mark.parametrize(
    ("values", "says"),
    [
        (
            {"MEDSEGTEXT_JOB_RETRY_BASE_SECONDS": "10", "MEDSEGTEXT_JOB_RETRY_CAP_SECONDS": "5"},
            "MEDSEGTEXT_JOB_RETRY_CAP_SECONDS must be at least MEDSEGTEXT_JOB_RETRY_BASE_SECONDS",
        ),
        (
            {
                "MEDSEGTEXT_TRIAGE_HIGH_BURDEN_PERCENT": "10",
                "MEDSEGTEXT_TRIAGE_MODERATE_BURDEN_PERCENT": "20",
            },
            "MEDSEGTEXT_TRIAGE_MODERATE_BURDEN_PERCENT must not be above",
        ),
    ],
)
def test_two_numbers_out_of_order_are_refused(monkeypatch, values, says):
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=re.escape(says)):
        load_settings()


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("MEDSEGTEXT_UPLOADS_PER_MINUTE", "uploads_per_minute"),  # 0: no rate limit
        ("MEDSEGTEXT_STAT_UPLOADS_PER_HOUR", "stat_uploads_per_hour"),
        ("MEDSEGTEXT_INFERENCE_BATCH_WAIT_MS", "inference_batch_wait_ms"),  # 0: no wait
        ("MEDSEGTEXT_DB_MAX_OVERFLOW", "db_max_overflow"),
    ],
)
def test_zero_is_kept_where_it_means_off(monkeypatch, name, field):
    monkeypatch.setenv(name, "0")
    assert getattr(load_settings(), field) == 0
