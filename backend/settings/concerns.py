"""The settings of each concern, each read alone or as part of Settings (backend.settings),
with the checks that concern makes of its own values."""

from __future__ import annotations

import base64
import binascii
import ipaddress

from pydantic import Field, field_validator, model_validator

from backend.cases.enums import Priority
from backend.settings.base import ROOT, CommaList, Section, prefixed_or
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
    db_connect_timeout_seconds: int = 5  # PostgreSQL only
    db_command_timeout_seconds: int = 30  # PostgreSQL only: a statement that runs longer fails
    db_pool_timeout_seconds: int = 10  # waiting for a pooled connection
    db_pool_size: int = 5  # PostgreSQL connections per process, plus db_max_overflow at peaks
    db_max_overflow: int = 5


class QueueSettings(Section):
    """Redis and the jobs on it. Dependency outages (S3, DynamoDB, SQL, Redis, SageMaker) end
    in a retry, never a hang: a job waits 2, 4, 8, 16, 30 s between its 6 tries (about a
    minute, so a 30 s outage is ridden out)."""

    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0", validation_alias=prefixed_or("REDIS_URL", "redis_url")
    )
    redis_connect_timeout_seconds: int = 2
    worker_redis_outage_seconds: int = 60  # the worker rides out a Redis restart this long
    job_max_tries: int = 6
    job_timeout_seconds: int = 120
    job_retry_base_seconds: float = 2.0
    job_retry_cap_seconds: float = 30.0
    sweep_queued_grace_seconds: int = 15  # a queued case with no job after this is re-enqueued


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
    aws_connect_timeout_seconds: int = 3
    aws_read_timeout_seconds: int = 10  # per attempt, S3 and DynamoDB
    aws_max_attempts: int = 2


class InferenceSettings(Section):
    """Where the model runs (backend.inference_backends) and which model file."""

    inference_backend: str = "local"  # local | sagemaker
    sagemaker_endpoint: str = "medsegtext"
    sagemaker_endpoint_url: str | None = None  # None = AWS sagemaker-runtime
    sagemaker_timeout_seconds: int = 60  # invoke_endpoint read timeout; < job_timeout_seconds
    # None = the shipped model; when MEDSEGTEXT_MODEL_PATH is unset, the inference core's rule
    # (MEDSEGTEXT_MODEL, deprecated, with a warning) so the API and the workers agree
    model_path: str | None = Field(default_factory=model_path_from_environment)
    model_cache_dir: str | None = None  # where registered models from S3 are kept; None = var/
    # Micro-batching in the local backend (backend.inference_backends.local): concurrent jobs'
    # images go to the model together, up to this many per call, waiting at most this long for
    # company while a thread is free. 1 = one model call per case.
    inference_max_batch: int = 1
    inference_batch_wait_ms: int = 5


class UploadSettings(Section):
    """Uploads (backend.cases.limits): the size cap and per-user rates, counted from the cases
    table so that every API process sees the same numbers; 0 turns a rate off. STAT uploads
    also need a reason."""

    max_upload_bytes: int = 64 * 2**20
    uploads_per_minute: int = 30
    stat_uploads_per_hour: int = 10


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

    session_ttl_hours: int = 12
    personal_token_max_days: int = 90
    personal_tokens_per_user: int = 20
    sessions_per_user: int = 30  # a shift on many workstations, bench/idle_budgets.py's 20 at once
    login_max_failures: int = 5
    login_lockout_seconds: int = 300
    login_client_max_failures: int = 100
    login_account_max_failures: int = 50
    login_account_lockout_seconds: int = 60
    login_known_client_days: int = 30


class TriageSettings(Section):
    """Triage (backend.triage.policy): unreviewed cases rise one priority level after waiting
    this long (routine -> urgent after the first, -> stat after both), so no case waits
    forever."""

    triage_routine_escalation_hours: int = 24
    triage_urgent_escalation_hours: int = 4
    triage_high_burden_percent: int = 20  # lesion burden (% of image) that adds urgency
    triage_moderate_burden_percent: int = 10


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
    dicom_port: int = 11112
    dicom_calling_aets: CommaList = ()
    dicom_service_account: str = "dicom-node@example.org"
    dicom_priority: Priority = Priority.ROUTINE
    dicom_max_associations: int = 4
    dicom_max_instance_bytes: int = 64 * 2**20
    # where arriving data sets are spooled (empty: <system temp>/medsegtext-dicom-<port>), and
    # how long a spooled file nobody handles may sit unchanged before it is removed
    dicom_spool_dir: str = ""
    dicom_spool_max_idle_seconds: int = 120

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

    @field_validator(
        "dicom_max_associations", "dicom_max_instance_bytes", "dicom_spool_max_idle_seconds"
    )
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError(
                "MEDSEGTEXT_DICOM_MAX_ASSOCIATIONS, "
                "MEDSEGTEXT_DICOM_MAX_INSTANCE_BYTES and "
                "MEDSEGTEXT_DICOM_SPOOL_MAX_IDLE_SECONDS must be at least 1"
            )
        return value


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
    pacs_port: int = 104
    pacs_timeout_seconds: int = 30  # connect, association and each C-STORE response
    pacs_retry_base_seconds: float = 5.0
    pacs_retry_cap_seconds: float = 300.0
    pacs_send_preliminary: bool = False  # also send the model's result before review
    identity_key: str = ""

    @field_validator("pacs_ae_title")
    @classmethod
    def _pacs_ae_title(cls, title: str) -> str:
        if title:
            _check_ae_title("MEDSEGTEXT_PACS_AE_TITLE", title)
        return title

    @field_validator("pacs_port")
    @classmethod
    def _tcp_port(cls, port: int) -> int:
        if not 0 < port < 65536:
            raise ValueError(f"MEDSEGTEXT_PACS_PORT: {port} is not a TCP port")
        return port

    @model_validator(mode="after")
    def _positive_times(self) -> PacsSettings:
        if (
            self.pacs_timeout_seconds < 1
            or self.pacs_retry_base_seconds <= 0
            or self.pacs_retry_cap_seconds < self.pacs_retry_base_seconds
        ):
            raise ValueError(
                "MEDSEGTEXT_PACS_TIMEOUT_SECONDS and MEDSEGTEXT_PACS_RETRY_BASE_"
                "SECONDS must be positive, and the retry cap at least the base"
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
