"""Typed settings, read once from the environment by pydantic-settings: ``MEDSEGTEXT_<FIELD>``
for every field, plus the conventional DATABASE_URL, REDIS_URL and AWS_REGION (the
``MEDSEGTEXT_`` name wins where both are set). One class per concern (concerns.py), each with
its own checks; ``Settings`` is all of them, the object the app, worker, CLI and DICOM node are
handed.

``Settings()`` reads the environment (keyword arguments win over it); ``load_settings()`` does
the same for entry points. A bad value is a ``SettingsError`` that names the variable. No client
is created here."""

from __future__ import annotations

from functools import lru_cache

from pydantic import model_validator

from backend.settings.base import PREFIX, ROOT, SettingsError
from backend.settings.concerns import (
    DEV_SECRET,
    AccountSettings,
    AppSettings,
    AwsSettings,
    DatabaseSettings,
    DicomSettings,
    HttpSettings,
    InferenceSettings,
    PacsSettings,
    QueueSettings,
    TriageSettings,
    UploadSettings,
)

__all__ = [
    "DEV_SECRET",
    "PREFIX",
    "ROOT",
    "AccountSettings",
    "AppSettings",
    "AwsSettings",
    "DatabaseSettings",
    "DicomSettings",
    "HttpSettings",
    "InferenceSettings",
    "PacsSettings",
    "QueueSettings",
    "Settings",
    "SettingsError",
    "TriageSettings",
    "UploadSettings",
    "get_settings",
    "load_settings",
]


class Settings(
    AppSettings,
    HttpSettings,
    DatabaseSettings,
    QueueSettings,
    AwsSettings,
    InferenceSettings,
    UploadSettings,
    AccountSettings,
    TriageSettings,
    DicomSettings,
    PacsSettings,
):
    """Every concern's settings in one object, plus the checks that span two concerns."""

    @model_validator(mode="after")
    def _sagemaker_times_out_before_the_job(self) -> Settings:
        if (
            self.inference_backend == "sagemaker"
            and self.sagemaker_timeout_seconds >= self.job_timeout_seconds
        ):
            raise ValueError(
                "MEDSEGTEXT_SAGEMAKER_TIMEOUT_SECONDS must be below "
                "MEDSEGTEXT_JOB_TIMEOUT_SECONDS, so a hung endpoint ends in a retry "
                "and not in the job being killed"
            )
        return self

    @model_validator(mode="after")
    def _identity_key_where_identities_are_kept(self) -> Settings:
        """A production process that may write or read the identity map refuses to start
        without its own key."""
        if (
            not self.identity_key
            and self.environment not in ("development", "test")
            and (self.pacs_ae_title or self.dicom_calling_aets)
        ):
            raise ValueError(
                "MEDSEGTEXT_IDENTITY_KEY must be set outside development when the "
                "DICOM node or a PACS destination is configured: it seals the "
                "patient identifiers kept to send results back"
            )
        return self


def load_settings() -> Settings:
    """The settings the environment names; SettingsError names any bad variable."""
    return Settings()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
