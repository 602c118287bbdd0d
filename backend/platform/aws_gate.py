"""The embedded S3 + DynamoDB (moto) with its credentials checked (issue 12: the embedded store
accepted any credentials from any local process).

moto's server takes any signature, and its own IAM mode can be switched off by anyone through
its unauthenticated ``/moto-api/`` endpoints, so the check sits in front of it, in the same
WSGI server: every request must carry an AWS Signature Version 4 (header or presigned query)
made with this install's key, or it is refused with 403 before moto sees it. ``/moto-api/``
is never reachable. The key is random per install, kept 0600 in the data directory (var/),
and handed to the API and worker by the dev stack. With a data directory, what moto holds is
also kept on disk under it (backend.platform.aws_persist), so a restart loses nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import posixpath
import secrets
import string
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from backend.platform.aws_persist import SCOPE_KEY, PersistentStore

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)  # AWS's own limit on a signed request's age
UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING_PREFIX = "STREAMING-"  # aws-chunked uploads: each chunk has its own signature
CREDENTIALS_FILE = "embedded-aws.json"

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }


def load_or_create_credentials(data_dir: Path) -> Credentials:
    """This install's key: read from <data_dir>/embedded-aws.json, made (0600) on first use."""
    path = data_dir / CREDENTIALS_FILE
    if not path.exists():
        alphabet = string.ascii_uppercase + string.digits
        fresh = {
            "access_key_id": "MSTX" + "".join(secrets.choice(alphabet) for _ in range(16)),
            "secret_access_key": secrets.token_urlsafe(30),
        }
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another start made it a moment ago
            pass
        else:
            with os.fdopen(fd, "w") as f:
                json.dump(fresh, f)
    os.chmod(path, 0o600)
    data = json.loads(path.read_text())
    return Credentials(str(data["access_key_id"]), str(data["secret_access_key"]))


class Refused(Exception):
    pass


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def _canonical_query(raw: str, drop: str | None = None) -> str:
    pairs = []
    for item in raw.split("&") if raw else []:
        key, _, value = item.partition("=")
        key, value = unquote(key.replace("+", " ")), unquote(value.replace("+", " "))
        if key != drop:
            pairs.append((quote(key, safe="-_.~"), quote(value, safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _canonical_path(raw_path: str, service: str) -> str:
    """S3 signs the path as sent; the other services sign it normalised and encoded again."""
    if service == "s3":
        return raw_path or "/"
    path = posixpath.normpath(raw_path) if raw_path not in ("", "/") else "/"
    if raw_path.endswith("/") and path != "/":
        path += "/"
    return quote(path, safe="/~")


def _header(environ: Environ, name: str) -> str | None:
    key = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}.get(
        name, "HTTP_" + name.upper().replace("-", "_")
    )
    value = environ.get(key)
    return None if value is None else " ".join(str(value).split())


def _read_body(environ: Environ) -> bytes:
    """The whole body, put back for moto to read again."""
    length = environ.get("CONTENT_LENGTH")
    stream = environ["wsgi.input"]
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    return bytes(body)


def _parse_authorization(value: str) -> dict[str, str]:
    if not value.startswith(ALGORITHM + " "):
        raise Refused("not signed with AWS Signature Version 4")
    parts = {}
    for item in value[len(ALGORITHM) + 1 :].split(","):
        key, _, val = item.strip().partition("=")
        parts[key] = val
    if not {"Credential", "SignedHeaders", "Signature"} <= parts.keys():
        raise Refused("incomplete Authorization header")
    return parts


def _when(amz_date: str | None) -> datetime:
    try:
        return datetime.strptime(amz_date or "", "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise Refused("missing or malformed X-Amz-Date") from None


def verify(environ: Environ, creds: Credentials, now: datetime | None = None) -> tuple[str, str]:
    """Raise Refused unless the request is signed (SigV4) with `creds`, recently enough;
    returns the (service, region) it was signed for."""
    now = now or datetime.now(UTC)
    raw_uri = str(environ.get("RAW_URI") or environ.get("PATH_INFO") or "/")
    raw_path, _, raw_query = raw_uri.partition("?")
    raw_query = raw_query or str(environ.get("QUERY_STRING") or "")
    query = {
        unquote(k): unquote(v) for k, _, v in (p.partition("=") for p in raw_query.split("&") if p)
    }
    presigned = "X-Amz-Signature" in query
    if presigned:
        if query.get("X-Amz-Algorithm") != ALGORITHM:
            raise Refused("not signed with AWS Signature Version 4")
        credential, signed_headers = (
            query.get("X-Amz-Credential", ""),
            query.get("X-Amz-SignedHeaders", ""),
        )
        signature, amz_date = query["X-Amz-Signature"], query.get("X-Amz-Date")
        when = _when(amz_date)
        try:
            expires = timedelta(seconds=int(query.get("X-Amz-Expires", "0")))
        except ValueError:
            raise Refused("malformed X-Amz-Expires") from None
        if not when - MAX_SKEW <= now <= when + expires:
            raise Refused("the presigned URL has expired")
    else:
        auth = _parse_authorization(str(environ.get("HTTP_AUTHORIZATION") or ""))
        credential, signed_headers = auth["Credential"], auth["SignedHeaders"]
        signature = auth["Signature"]
        amz_date = _header(environ, "x-amz-date")
        when = _when(amz_date)
        if abs(now - when) > MAX_SKEW:
            raise Refused("the request's X-Amz-Date is more than 15 minutes away")
    key_id, _, scope = credential.partition("/")
    scope_parts = scope.split("/")
    if len(scope_parts) != 4 or scope_parts[3] != "aws4_request":
        raise Refused("malformed credential scope")
    if not hmac.compare_digest(key_id, creds.access_key_id):
        raise Refused("unknown access key")
    date, region, service, _ = scope_parts
    names = signed_headers.split(";")
    if "host" not in names:
        raise Refused("the Host header is not signed")
    header_lines = []
    for name in names:
        value = _header(environ, name)
        if value is None:
            raise Refused(f"signed header {name} is missing")
        header_lines.append(f"{name}:{value}\n")
    declared = _header(environ, "x-amz-content-sha256")
    body = _read_body(environ)
    if presigned and service == "s3":
        payload = UNSIGNED
    elif declared and (declared == UNSIGNED or declared.startswith(STREAMING_PREFIX)):
        payload = declared
    else:
        payload = hashlib.sha256(body).hexdigest()
        if declared is not None and not hmac.compare_digest(declared, payload):
            raise Refused("the body does not match its signed hash")
    canonical = "\n".join(
        [
            str(environ.get("REQUEST_METHOD", "GET")).upper(),
            _canonical_path(raw_path, service),
            _canonical_query(raw_query, "X-Amz-Signature" if presigned else None),
            "".join(header_lines),
            signed_headers,
            payload,
        ]
    )
    to_sign = "\n".join(
        [ALGORITHM, amz_date or "", scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    expected = hmac.new(
        _signing_key(creds.secret_access_key, date, region, service),
        to_sign.encode("utf-8"),
        hashlib.sha256,
    ).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Refused("the signature does not match (wrong secret key?)")
    return service, region


class CredentialGate:
    """WSGI middleware: only requests signed with this install's key reach the app."""

    def __init__(self, app: WsgiApp, creds: Credentials):
        self.app, self.creds = app, creds

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            if str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
                raise Refused("the emulator's control API is not served")
            environ[SCOPE_KEY] = verify(environ, self.creds)
        except Refused as e:
            return self._refuse(environ, start_response, str(e))
        return self.app(environ, start_response)

    @staticmethod
    def _refuse(environ: Environ, start_response: StartResponse, why: str) -> list[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
        if target:  # DynamoDB speaks JSON
            body = json.dumps(
                {"__type": "com.amazon.coral.service#UnrecognizedClientException", "message": why}
            ).encode()
            content_type = "application/x-amz-json-1.0"
        else:
            body = (
                "<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code>"
                f"<Message>{why}</Message></Error>"
            ).encode()
            content_type = "application/xml"
        start_response(
            "403 Forbidden", [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        )
        return [body]


class GatedMotoServer:
    """moto's server app behind CredentialGate, served by werkzeug in a daemon thread (as
    moto's ThreadedMotoServer does). With `data_dir`, S3 objects and DynamoDB items are kept
    under <data_dir>/embedded-aws and played back at start. ``stop()`` shuts it down."""

    def __init__(
        self, creds: Credentials, port: int, host: str = "127.0.0.1", data_dir: Path | None = None
    ):
        self.creds, self.host, self.port, self.data_dir = creds, host, port, data_dir
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._store: PersistentStore | None = None
        self.restored: Any = None  # aws_persist.Restored when there is a data directory

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> GatedMotoServer:
        # moto is a development dependency: loaded by the embedded stack only
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        moto: WsgiApp = DomainDispatcherApplication(create_backend_app)
        if self.data_dir is not None:
            self._store = PersistentStore(
                moto, self.data_dir, self.creds.access_key_id, f"{self.host}:{self.port}"
            )
            self.restored = self._store.restore()
            moto = self._store
        app = CredentialGate(moto, self.creds)
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        if self._store is not None:
            self._store.close()
