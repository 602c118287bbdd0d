"""The settings of each concern, each read alone or as part of Settings (backend.settings),
with the checks that concern makes of its own values."""

from __future__ import annotations

import base64
import binascii
import ipaddress

from pydantic import Field, field_validator, model_validator

from backend.cases.enums import Priority
from backend.settings.base import (
    ROOT,
    AtLeastOne,
    CommaList,
    NotNegative,
    Percent,
    Port,
    PositiveSeconds,
    Section,
    prefixed_or,
)
from inference.model_files import model_path_from_environment

DEV_SECRET = "dev-insecure-secret-change-me"


class AppSettings(Section):
    """Which deployment this is, and its signing secret."""

    environment: str = "development"  # development | test | production
    secret_key: str = DEV_SECRET

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @model_validator(mode="after")
    def _real_secret_outside_development(self) -> AppSettings:
        if self.environment not in ("development", "test") and (
            self.secret_key == DEV_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "MEDSEGTEXT_SECRET_KEY must be set to a random value of at least 32 "
                "characters outside development"
            )
        return self


class HttpSettings(Section):
    """The HTTP edge (backend.http.proxies, backend.http.csrf)."""

    cookie_secure: bool = False
    # The origins, besides the API's own, whose pages may call the API and write with the
    # session cookie.
    cors_origins: CommaList = ()
    # The proxies whose X-Forwarded-For and X-Forwarded-Proto count (addresses or CIDR
    # networks; empty = trust none, the client is the TCP peer).
    trusted_proxies: CommaList = ()

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, proxies: tuple[str, ...]) -> tuple[str, ...]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"MEDSEGTEXT_TRUSTED_PROXIES: {proxy!r} is not an IP address "
                    "or network (e.g. 127.0.0.1 or 10.0.0.0/16)"
                ) from None
        return proxies


class DatabaseSettings(Section):
    """SQL: SQLite by default, PostgreSQL in production."""

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{ROOT / 'var' / 'medsegtext.db'}",
        validation_alias=prefixed_or("DATABASE_URL", "database_url"),
    )
    db_connect_timeout_seconds: AtLeastOne = 5  # PostgreSQL only
    # PostgreSQL only: a statement that runs longer fails
    db_command_timeout_seconds: AtLeastOne = 30
    db_pool_timeout_seconds: AtLeastOne = 10  # waiting for a pooled connection
    # PostgreSQL connections per process, plus db_max_overflow at peaks
    db_pool_size: AtLeastOne = 5
    db_max_overflow: NotNegative = 5


class QueueSettings(Section):
    """Redis and the jobs on it. Dependency outages (S3, DynamoDB, SQL, Redis, SageMaker) end
    in a retry, never a hang: a job waits 2, 4, 8, 16, 30 s between its 6 tries (about a
    minute, so a 30 s outage is ridden out)."""

    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0", validation_alias=prefixed_or("REDIS_URL", "redis_url")
    )
    redis_connect_timeout_seconds: AtLeastOne = 2
    worker_redis_outage_seconds: NotNegative = 60  # the worker rides out a Redis restart this long
    job_max_tries: AtLeastOne = 6
    job_timeout_seconds: AtLeastOne = 120
    job_retry_base_seconds: PositiveSeconds = 2.0
    job_retry_cap_seconds: PositiveSeconds = 30.0
    # a queued case with no job after this is re-enqueued
    sweep_queued_grace_seconds: AtLeastOne = 15

    @model_validator(mode="after")
    def _job_retry_cap_at_least_base(self) -> QueueSettings:
        if self.job_retry_cap_seconds < self.job_retry_base_seconds:
            raise ValueError(
                "MEDSEGTEXT_JOB_RETRY_CAP_SECONDS must be at least "
                "MEDSEGTEXT_JOB_RETRY_BASE_SECONDS"
            )
        return self


class AwsSettings(Section):
    """S3 (images, masks, reports) and DynamoDB (prediction records); the API answers 503 once
    the timeouts have passed."""

    aws_region: str = Field(
        default="eu-west-1", validation_alias=prefixed_or("AWS_REGION", "aws_region")
    )
    s3_endpoint_url: str | None = None  # None = AWS
    s3_bucket: str = "medsegtext"
    s3_prefix: str = "cases/"
    dynamodb_endpoint_url: str | None = None
    dynamodb_table: str = "medsegtext-predictions"
    aws_connect_timeout_seconds: AtLeastOne = 3
    aws_read_timeout_seconds: AtLeastOne = 10  # per attempt, S3 and DynamoDB
    aws_max_attempts: AtLeastOne = 2


class InferenceSettings(Section):
    """Where the model runs (backend.inference_backends) and which model file."""

    inference_backend: str = "local"  # local | sagemaker
    sagemaker_endpoint: str = "medsegtext"
    sagemaker_endpoint_url: str | None = None  # None = AWS sagemaker-runtime
    # invoke_endpoint read timeout; < job_timeout_seconds
    sagemaker_timeout_seconds: AtLeastOne = 60
    # None = the shipped model; when MEDSEGTEXT_MODEL_PATH is unset, the inference core's rule
    # (MEDSEGTEXT_MODEL, deprecated, with a warning) so the API and the workers agree
    model_path: str | None = Field(default_factory=model_path_from_environment)
    model_cache_dir: str | None = None  # where registered models from S3 are kept; None = var/
    # Micro-batching in the local backend (backend.inference_backends.local): concurrent jobs'
    # images go to the model together, up to this many per call, waiting at most this long for
    # company while a thread is free. 1 = one model call per case.
    inference_max_batch: AtLeastOne = 1
    inference_batch_wait_ms: NotNegative = 5


class UploadSettings(Section):
    """Uploads (backend.cases.limits): the size cap and per-user rates, counted from the cases
    table so that every API process sees the same numbers; 0 turns a rate off. STAT uploads
    also need a reason."""

    max_upload_bytes: AtLeastOne = 64 * 2**20
    uploads_per_minute: NotNegative = 30
    stat_uploads_per_hour: NotNegative = 10


class AccountSettings(Section):
    """Sign-in sessions, personal API tokens and sign-in throttling (backend.accounts).

    A token never outlives its kind's maximum (tokens stored without an expiry count from their
    creation); past the session cap a new sign-in ends the user's oldest session; past the token
    cap a new personal token is refused until one is revoked.

    Throttling is counted in the database per window of login_lockout_seconds:
    login_max_failures wrong answers for one account from one client address lock that pair;
    login_client_max_failures from one address lock the address; login_account_max_failures for
    one account from all addresses back the account off for login_account_lockout_seconds. The
    last two spare an address the account has signed in from within login_known_client_days, so
    nobody can lock an owner out from elsewhere."""

    session_ttl_hours: AtLeastOne = 12
    personal_token_max_days: AtLeastOne = 90
    personal_tokens_per_user: AtLeastOne = 20
    # a shift on many workstations, bench/idle_budgets.py's 20 at once
    sessions_per_user: AtLeastOne = 30
    login_max_failures: AtLeastOne = 5
    login_lockout_seconds: AtLeastOne = 300
    login_client_max_failures: AtLeastOne = 100
    login_account_max_failures: AtLeastOne = 50
    login_account_lockout_seconds: AtLeastOne = 60
    login_known_client_days: NotNegative = 30


class TriageSettings(Section):
    """Triage (backend.triage.policy): unreviewed cases rise one priority level after waiting
    this long (routine -> urgent after the first, -> stat after both), so no case waits
    forever."""

    triage_routine_escalation_hours: AtLeastOne = 24
    triage_urgent_escalation_hours: AtLeastOne = 4
    triage_high_burden_percent: Percent = 20  # lesion burden (% of image) that adds urgency
    triage_moderate_burden_percent: Percent = 10

    @model_validator(mode="after")
    def _moderate_burden_below_high(self) -> TriageSettings:
        if self.triage_moderate_burden_percent > self.triage_high_burden_percent:
            raise ValueError(
                "MEDSEGTEXT_TRIAGE_MODERATE_BURDEN_PERCENT must not be above "
                "MEDSEGTEXT_TRIAGE_HIGH_BURDEN_PERCENT"
            )
        return self


def _check_ae_title(variable: str, title: str) -> None:
    if (
        not title
        or len(title) > 16
        or "\\" in title
        or not title.isprintable()
        or title != title.strip()
    ):
        raise ValueError(
            f"{variable}: {title!r} is not a DICOM AE title (1-16 printable "
            "characters, no backslash, no leading or trailing space)"
        )


class DicomSettings(Section):
    """The DICOM node (backend.dicom_node, `python -m backend.dicom_node`): a C-STORE receiver
    that turns each frontal CR/DX film a PACS sends into a case owned by the service account.
    Only calling AE titles on the allowlist may associate (empty: the node refuses to start);
    at most dicom_max_associations at once (the next is rejected, transient: local limit); an
    instance over dicom_max_instance_bytes is answered 0xA700 and not kept. Checked when read
    (every process reads them), so a typo shows at start and not at the first association."""

    dicom_ae_title: str = "MEDSEGTEXT"
    dicom_host: str = "127.0.0.1"
    dicom_port: Port = 11112
    dicom_calling_aets: CommaList = ()
    dicom_service_account: str = "dicom-node@example.org"
    dicom_priority: Priority = Priority.ROUTINE
    dicom_max_associations: AtLeastOne = 4
    dicom_max_instance_bytes: AtLeastOne = 64 * 2**20
    # where arriving data sets are spooled (empty: <system temp>/medsegtext-dicom-<port>), and
    # how long a spooled file nobody handles may sit unchanged before it is removed
    dicom_spool_dir: str = ""
    dicom_spool_max_idle_seconds: AtLeastOne = 120

    @field_validator("dicom_ae_title")
    @classmethod
    def _dicom_ae_title(cls, title: str) -> str:
        _check_ae_title("MEDSEGTEXT_DICOM_AE_TITLE", title)
        return title

    @field_validator("dicom_calling_aets")
    @classmethod
    def _calling_ae_titles(cls, titles: tuple[str, ...]) -> tuple[str, ...]:
        for title in titles:
            _check_ae_title("MEDSEGTEXT_DICOM_CALLING_AETS", title)
        return titles

    @field_validator("dicom_priority", mode="before")
    @classmethod
    def _priority(cls, priority: object) -> object:
        if priority not in tuple(Priority):
            raise ValueError(
                f"MEDSEGTEXT_DICOM_PRIORITY: {priority!r} is not one of {', '.join(Priority)}"
            )
        return priority


class PacsSettings(Section):
    """Results back to the PACS (backend.pacs_outbox): the PACS that receives a PACS case's SEG,
    SR and overlay (secondary capture) by C-STORE, calling as dicom_ae_title. Empty
    pacs_ae_title: nothing is sent. A send that fails waits pacs_retry_base_seconds, doubling per
    try up to pacs_retry_cap_seconds, and is tried again until it is delivered.

    identity_key seals the identity map (backend.identity_map.sealing): 32 bytes, base64.
    Required in production once the DICOM node or the PACS destination is configured (checked
    in Settings); in development and tests a key is derived from secret_key."""

    pacs_ae_title: str = ""
    pacs_host: str = "127.0.0.1"
    pacs_port: Port = 104
    pacs_timeout_seconds: AtLeastOne = 30  # connect, association and each C-STORE response
    pacs_retry_base_seconds: PositiveSeconds = 5.0
    pacs_retry_cap_seconds: PositiveSeconds = 300.0
    pacs_send_preliminary: bool = False  # also send the model's result before review
    identity_key: str = ""

    @field_validator("pacs_ae_title")
    @classmethod
    def _pacs_ae_title(cls, title: str) -> str:
        if title:
            _check_ae_title("MEDSEGTEXT_PACS_AE_TITLE", title)
        return title

    @model_validator(mode="after")
    def _pacs_retry_cap_at_least_base(self) -> PacsSettings:
        if self.pacs_retry_cap_seconds < self.pacs_retry_base_seconds:
            raise ValueError(
                "MEDSEGTEXT_PACS_RETRY_CAP_SECONDS must be at least "
                "MEDSEGTEXT_PACS_RETRY_BASE_SECONDS (the retry cap at least the base)"
            )
        return self

    @field_validator("identity_key")
    @classmethod
    def _32_bytes_in_base64(cls, key: str) -> str:
        if key:
            try:
                raw = base64.b64decode(key, validate=True)
            except binascii.Error:
                raw = b""
            if len(raw) != 32:
                raise ValueError(
                    "MEDSEGTEXT_IDENTITY_KEY must be 32 random bytes in base64, "
                    "e.g. from: openssl rand -base64 32"
                )
        return key
