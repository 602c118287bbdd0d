"""Typed settings, read once from the environment (prefix MEDSEGTEXT_, plus the conventional
DATABASE_URL, REDIS_URL and AWS_* names). No client is created here."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path

from backend.cases.enums import Priority

DEV_SECRET = "dev-insecure-secret-change-me"
ROOT = Path(__file__).resolve().parent.parent


class SettingsError(RuntimeError):
    pass


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    environment: str = "development"  # development | test | production
    secret_key: str = DEV_SECRET
    database_url: str = f"sqlite+aiosqlite:///{ROOT / 'var' / 'medsegtext.db'}"
    redis_url: str = "redis://127.0.0.1:6379/0"
    s3_endpoint_url: str | None = None  # None = AWS
    s3_bucket: str = "medsegtext"
    s3_prefix: str = "cases/"
    dynamodb_endpoint_url: str | None = None
    dynamodb_table: str = "medsegtext-predictions"
    aws_region: str = "eu-west-1"
    inference_backend: str = "local"  # local | sagemaker
    sagemaker_endpoint: str = "medsegtext"
    sagemaker_endpoint_url: str | None = None  # None = AWS sagemaker-runtime
    model_path: str | None = None  # None = the shipped model
    max_upload_bytes: int = 64 * 2**20
    # Per-user upload limits (backend.cases.limits), counted from the cases table so that every
    # API process sees the same numbers; 0 turns a limit off. STAT uploads also need a reason.
    uploads_per_minute: int = 30
    stat_uploads_per_hour: int = 10
    # Sign-in sessions and personal API tokens (backend.accounts.lifecycle): a token never
    # outlives its kind's maximum (tokens stored without an expiry count from their creation);
    # past the session cap a new sign-in ends the user's oldest session; past the token cap a
    # new personal token is refused until one is revoked.
    session_ttl_hours: int = 12
    personal_token_max_days: int = 90
    personal_tokens_per_user: int = 20
    sessions_per_user: int = 30  # a shift on many workstations, bench/idle_budgets.py's 20 at once
    # Sign-in throttling (backend.accounts.throttle), counted in the database per window of
    # login_lockout_seconds: login_max_failures wrong answers for one account from one client
    # address lock that pair; login_client_max_failures from one address lock the address;
    # login_account_max_failures for one account from all addresses back the account off for
    # login_account_lockout_seconds. The last two spare an address the account has signed in
    # from within login_known_client_days, so nobody can lock an owner out from elsewhere.
    login_max_failures: int = 5
    login_lockout_seconds: int = 300
    login_client_max_failures: int = 100
    login_account_max_failures: int = 50
    login_account_lockout_seconds: int = 60
    login_known_client_days: int = 30
    # Dependency outages (S3, DynamoDB, SQL, Redis, SageMaker) end in a retry, never a hang: a job
    # waits 2, 4, 8, 16, 30 s between its 6 tries (about a minute, so a 30 s outage is ridden
    # out); the API answers 503 once the timeouts below have passed.
    job_max_tries: int = 6
    job_timeout_seconds: int = 120
    job_retry_base_seconds: float = 2.0
    job_retry_cap_seconds: float = 30.0
    sweep_queued_grace_seconds: int = 15  # a queued case with no job after this is re-enqueued
    aws_connect_timeout_seconds: int = 3
    aws_read_timeout_seconds: int = 10  # per attempt, S3 and DynamoDB
    aws_max_attempts: int = 2
    db_connect_timeout_seconds: int = 5  # PostgreSQL only
    db_command_timeout_seconds: int = 30  # PostgreSQL only: a statement that runs longer fails
    db_pool_timeout_seconds: int = 10  # waiting for a pooled connection
    redis_connect_timeout_seconds: int = 2
    worker_redis_outage_seconds: int = 60  # the worker rides out a Redis restart this long
    sagemaker_timeout_seconds: int = 60  # invoke_endpoint read timeout; < job_timeout_seconds
    cookie_secure: bool = False
    db_pool_size: int = 5  # PostgreSQL connections per process, plus db_max_overflow at peaks
    db_max_overflow: int = 5
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    # HTTP edge (backend.http.proxies, backend.http.csrf): the proxies whose X-Forwarded-For and
    # X-Forwarded-Proto count (comma-separated addresses or CIDR networks; empty = trust none,
    # the client is the TCP peer). cors_origins above are also the origins, besides the API's
    # own, whose pages may write with the session cookie.
    trusted_proxies: tuple[str, ...] = field(default_factory=tuple)
    # Triage (backend.triage.policy): unreviewed cases rise one priority level after waiting this
    # long (routine -> urgent after the first, -> stat after both), so no case waits forever.
    triage_routine_escalation_hours: int = 24
    triage_urgent_escalation_hours: int = 4
    triage_high_burden_percent: int = 20  # lesion burden (% of image) that adds urgency
    triage_moderate_burden_percent: int = 10
    model_cache_dir: str | None = None  # where registered models from S3 are kept; None = var/
    # Micro-batching in the local backend (backend.inference_backends.local): concurrent jobs'
    # images go to the model together, up to this many per call, waiting at most this long for
    # company while a thread is free. 1 = one model call per case.
    inference_max_batch: int = 1
    inference_batch_wait_ms: int = 5
    # The DICOM node (backend.dicom_node, `python -m backend.dicom_node`): a C-STORE receiver
    # that turns each frontal CR/DX film a PACS sends into a case owned by the service account.
    # Only calling AE titles on the allowlist may associate (empty: the node refuses to start);
    # at most dicom_max_associations at once (the next is rejected, transient: local limit);
    # an instance over dicom_max_instance_bytes is answered 0xA700 and not kept.
    dicom_ae_title: str = "MEDSEGTEXT"
    dicom_host: str = "127.0.0.1"
    dicom_port: int = 11112
    dicom_calling_aets: tuple[str, ...] = field(default_factory=tuple)
    dicom_service_account: str = "dicom-node@example.org"
    dicom_priority: str = "routine"  # routine | urgent | stat
    dicom_max_associations: int = 4
    dicom_max_instance_bytes: int = 64 * 2**20
    # Results back to the PACS (backend.pacs_outbox): the PACS that receives a PACS case's SEG,
    # SR and overlay (secondary capture) by C-STORE, calling as dicom_ae_title. Empty
    # pacs_ae_title: nothing is sent. A send that fails waits pacs_retry_base_seconds, doubling
    # per try up to pacs_retry_cap_seconds, and is tried again until it is delivered.
    pacs_ae_title: str = ""
    pacs_host: str = "127.0.0.1"
    pacs_port: int = 104
    pacs_timeout_seconds: int = 30  # connect, association and each C-STORE response
    pacs_retry_base_seconds: float = 5.0
    pacs_retry_cap_seconds: float = 300.0
    pacs_send_preliminary: bool = False  # also send the model's result before review
    # The identity map's key (backend.identity_map.sealing): 32 bytes, base64. Required in
    # production once the DICOM node or the PACS destination is configured; in development and
    # tests a key is derived from secret_key.
    identity_key: str = ""

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


_ENV_NAMES = {
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
    "aws_region": "AWS_REGION",
}


def load_settings() -> Settings:
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = _env(_ENV_NAMES.get(f.name, ""), None) if f.name in _ENV_NAMES else None
        raw = _env(f"MEDSEGTEXT_{f.name.upper()}", raw)
        if raw is None:
            continue
        if f.type in ("int",):
            values[f.name] = int(raw)
        elif f.type in ("float",):
            values[f.name] = float(raw)
        elif f.type in ("bool",):
            values[f.name] = raw.lower() in ("1", "true", "yes", "on")
        elif f.name in ("cors_origins", "trusted_proxies", "dicom_calling_aets"):
            values[f.name] = tuple(o.strip() for o in raw.split(",") if o.strip())
        else:
            values[f.name] = raw
    s = Settings(**values)  # type: ignore[arg-type]
    if s.environment not in ("development", "test") and (
            s.secret_key == DEV_SECRET or len(s.secret_key) < 32):
        raise SettingsError("MEDSEGTEXT_SECRET_KEY must be set to a random value of at least 32 "
                            "characters outside development")
    for proxy in s.trusted_proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise SettingsError(f"MEDSEGTEXT_TRUSTED_PROXIES: {proxy!r} is not an IP address or "
                                "network (e.g. 127.0.0.1 or 10.0.0.0/16)") from None
    if s.inference_backend == "sagemaker" and s.sagemaker_timeout_seconds >= s.job_timeout_seconds:
        raise SettingsError("MEDSEGTEXT_SAGEMAKER_TIMEOUT_SECONDS must be below "
                            "MEDSEGTEXT_JOB_TIMEOUT_SECONDS, so a hung endpoint ends in a retry "
                            "and not in the job being killed")
    _check_dicom(s)
    _check_pacs(s)
    return s


def _check_ae_title(name: str, title: str) -> None:
    if not title or len(title) > 16 or "\\" in title or not title.isprintable() or \
            title != title.strip():
        raise SettingsError(f"MEDSEGTEXT_{name.upper()}: {title!r} is not a DICOM AE title "
                            "(1-16 printable characters, no backslash, no leading or "
                            "trailing space)")


def _check_dicom(s: Settings) -> None:
    """The DICOM node's settings, checked when they are read (every process reads them, so a
    typo shows at start and not at the first association)."""
    _check_ae_title("dicom_ae_title", s.dicom_ae_title)
    for title in s.dicom_calling_aets:
        _check_ae_title("dicom_calling_aets", title)
    if s.dicom_priority not in tuple(Priority):
        raise SettingsError(f"MEDSEGTEXT_DICOM_PRIORITY: {s.dicom_priority!r} is not one of "
                            f"{', '.join(Priority)}")
    if s.dicom_max_associations < 1 or s.dicom_max_instance_bytes < 1:
        raise SettingsError("MEDSEGTEXT_DICOM_MAX_ASSOCIATIONS and "
                            "MEDSEGTEXT_DICOM_MAX_INSTANCE_BYTES must be at least 1")


def _check_pacs(s: Settings) -> None:
    """The PACS destination, and the identity map's key (backend.identity_map.sealing): a
    production process that may write or read the map refuses to start without its own key."""
    if s.pacs_ae_title:
        _check_ae_title("pacs_ae_title", s.pacs_ae_title)
    if not 0 < s.pacs_port < 65536:
        raise SettingsError(f"MEDSEGTEXT_PACS_PORT: {s.pacs_port} is not a TCP port")
    if s.pacs_timeout_seconds < 1 or s.pacs_retry_base_seconds <= 0 or \
            s.pacs_retry_cap_seconds < s.pacs_retry_base_seconds:
        raise SettingsError("MEDSEGTEXT_PACS_TIMEOUT_SECONDS and MEDSEGTEXT_PACS_RETRY_BASE_"
                            "SECONDS must be positive, and the retry cap at least the base")
    if s.identity_key:
        try:
            key = base64.b64decode(s.identity_key, validate=True)
        except binascii.Error:
            key = b""
        if len(key) != 32:
            raise SettingsError("MEDSEGTEXT_IDENTITY_KEY must be 32 random bytes in base64, e.g. "
                                "from: openssl rand -base64 32")
    elif s.environment not in ("development", "test") and (s.pacs_ae_title
                                                           or s.dicom_calling_aets):
        raise SettingsError("MEDSEGTEXT_IDENTITY_KEY must be set outside development when the "
                            "DICOM node or a PACS destination is configured: it seals the "
                            "patient identifiers kept to send results back")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
