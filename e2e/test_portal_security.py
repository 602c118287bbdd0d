"""Issue 12 against the live portal: media links bound to the browser that signed in, one-time
short-lived tickets, no-store, the deactivated admin's export, the /_upload gate and cap, the
security headers and CORS. Each test failed before the fix (see the security table in
docs/performance-and-security.md).
"""

from __future__ import annotations

import os
import re
import select
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
import pytest
from e2e_pages import TIMEOUT_MS, expect_film, export_dataset, sign_in, sign_out
from e2e_stack import ACCOUNTS, E2E_TICKET_TTL
from playwright.sync_api import Browser, BrowserContext, Page, expect

MIB = 2**20
# Reflex's name for UploadState.send_files (the probe's anonymous 200 MiB POST named it)
SEND_FILES = (
    "reflex___state____state.portal___state___auth____auth_state."
    "portal___state___upload____upload_state.send_files"
)
TICKET_TTL = int(os.environ.get("MEDSEGTEXT_E2E_TICKET_TTL", E2E_TICKET_TTL))


def new_user(api: Any, role: str) -> tuple[str, str]:
    email, password = f"e2e-{role}-{uuid.uuid4().hex[:8]}@example.org", "e2e-user-password-1"
    api.create_user(email, password, role, full_name=f"E2E {role}")
    return email, password


@pytest.fixture()
def other_context(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=base_url)
    yield ctx
    ctx.close()


def open_case(page: Page, case_id: str) -> str:
    """Open a case page; the image's absolute /media URL once the image has loaded."""
    page.goto(f"/cases/{case_id}")
    expect_film(page)
    src = page.locator("#case-viewer").get_attribute("data-film") or ""
    assert "/media/" in src
    return src


def test_media_link_works_only_in_the_browser_that_signed_in(
    page: Page, other_context: BrowserContext, api: Any, done_case: dict[str, Any]
) -> None:
    sign_in(page, *ACCOUNTS["clinician"])
    src = open_case(page, done_case["id"])
    mine = page.request.get(src)
    assert mine.status == 200 and mine.headers["content-type"].startswith("image/")

    anonymous = httpx.get(src, follow_redirects=True, timeout=30)
    print(f"anonymous GET of a case image link: {anonymous.status_code}")
    assert anonymous.status_code in (403, 404), anonymous.status_code
    assert not anonymous.headers.get("content-type", "").startswith("image/")
    assert anonymous.text.strip()  # a message, not an empty refusal

    # another clinician, signed in in another browser, who cannot see this case
    other = other_context.new_page()
    sign_in(other, *new_user(api, "clinician"))
    theirs = other.goto(src)
    assert theirs is not None
    print(f"another signed-in clinician's GET of the link: {theirs.status}")
    assert theirs.status in (403, 404)
    assert not (theirs.headers.get("content-type") or "").startswith("image/")

    # the same link stops working in the browser that signed in once it signs out
    sign_out(page)
    after = page.request.get(src)
    assert after.status in (403, 404), after.status


def test_tickets_are_one_time_and_short_lived_and_images_not_stored(
    page: Page, done_case: dict[str, Any]
) -> None:
    sign_in(page, *ACCOUNTS["clinician"])
    src = open_case(page, done_case["id"])
    first = page.request.get(src, max_redirects=0)
    assert first.status == 303, first.status
    ticket = first.headers["location"]
    assert ticket.startswith("/media/t/")
    assert "no-store" in first.headers.get("cache-control", "")
    url = urlsplit(src)._replace(path=ticket).geturl()
    served = page.request.get(url)
    assert served.status == 200 and served.headers["content-type"].startswith("image/")
    print(f"image Cache-Control: {served.headers.get('cache-control')}")
    assert "no-store" in served.headers.get("cache-control", "")
    again = page.request.get(url)
    assert again.status == 404, again.status  # one-time

    late = page.request.get(src, max_redirects=0).headers["location"]
    time.sleep(TICKET_TTL + 1)
    expired = page.request.get(urlsplit(src)._replace(path=late).geturl())
    print(f"ticket used {TICKET_TTL + 1} s after it was made: {expired.status}")
    assert expired.status == 404

    # the page's links outlive the tickets: a download opened after a while still works
    # (fetched in this browser context; test_portal_downloads.py clicks each link as a person)
    pdf = page.request.get(page.locator("#download-pdf").get_attribute("href") or "")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    assert "no-store" in pdf.headers.get("cache-control", "")
    # and so does an image link (the viewer loads each one once; a new viewer loads it again)
    mask = page.request.get(page.locator("#case-viewer").get_attribute("data-mask") or "")
    assert mask.status == 200 and mask.headers["content-type"].startswith("image/png")


def ensure_reviewed(api: Any, case: dict[str, Any]) -> None:
    current = api.http.get(f"/api/cases/{case['id']}", headers=api.as_role("reviewer")).json()
    if not current.get("reviews"):
        r = api.http.post(
            f"/api/cases/{case['id']}/review",
            headers=api.as_role("reviewer"),
            json={"decision": "accept"},
        )
        assert r.status_code in (200, 201), r.text


def exports_in_tmp() -> set[Path]:
    import tempfile

    return set(Path(tempfile.gettempdir()).glob("medsegtext-export-*.zip"))


def test_deactivated_admins_export_link_is_refused_and_files_go(
    page: Page, api: Any, done_case: dict[str, Any], own_stack: Any, artifacts: Path
) -> None:
    ensure_reviewed(api, done_case)
    email, password = new_user(api, "admin")
    sign_in(page, email, password)
    page.goto("/admin")
    before = exports_in_tmp()
    export_dataset(page, artifacts)
    href = page.locator("#export-link").get_attribute("href") or ""
    ok = page.request.get(href)
    assert ok.status == 200 and ok.body()[:2] == b"PK"
    assert "no-store" in ok.headers.get("cache-control", "")
    made = exports_in_tmp() - before
    if own_stack is not None:  # a portal this session started writes to this machine's /tmp
        assert made, "the export's temporary file was not found in the temp folder"

    users = api.http.get(
        "/api/admin/users", headers=api.as_role("admin"), params={"limit": 100}
    ).json()["items"]
    uid = next(u["id"] for u in users if u["email"] == email)
    r = api.http.patch(
        f"/api/admin/users/{uid}", headers=api.as_role("admin"), json={"is_active": False}
    )
    assert r.status_code == 200, r.text
    refused = page.request.get(href)
    print(f"export link after its admin was deactivated: {refused.status}")
    assert refused.status in (401, 403, 404), refused.status
    assert refused.body()[:2] != b"PK"

    # signing out (here: the session the backend ended) removes the export's file
    page.goto("/admin")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=TIMEOUT_MS)
    if own_stack is not None:
        assert not any(p.exists() for p in made), "the export file outlived the session"


def portal_rss(port: int) -> int:
    """Resident memory of the processes listening on the portal's port (bytes)."""
    total = 0
    for proc in psutil.process_iter():
        try:
            if any(
                c.status == psutil.CONN_LISTEN and c.laddr.port == port
                for c in proc.net_connections(kind="tcp")
            ):
                total += proc.memory_info().rss
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return total


class PeakRss:
    def __init__(self, port: int) -> None:
        self.port, self.peak, self._stop = port, 0, threading.Event()
        self.start = portal_rss(port)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, portal_rss(self.port))
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, portal_rss(self.port))


def raw_upload(
    base_url: str, headers: dict[str, str], size: int, chunked: bool = False
) -> tuple[int, int, float]:
    """POST /_upload with a body of `size` bytes sent as fast as the portal takes it;
    (status, bytes it took, seconds). Stops sending once the portal answers."""
    url = urlsplit(base_url)
    head = [
        "POST /_upload HTTP/1.1",
        f"Host: {url.netloc}",
        "Content-Type: multipart/form-data; boundary=xx",
        "Connection: close",
    ]
    head += [f"{k}: {v}" for k, v in headers.items()]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}")
    # one well-formed file part: its header, zeros, the closing boundary
    first = (
        b'--xx\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n"
    ).ljust(MIB, b"\0")
    last = b"\r\n--xx--\r\n".rjust(MIB, b"\0")
    zeros = bytes(MIB)
    sent, answer = 0, b""
    t0 = time.monotonic()
    with socket.create_connection((url.hostname, url.port), timeout=60) as s:
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            while sent < size:
                if select.select([s], [], [], 0)[0]:
                    break  # the portal answered before the body was all sent
                left = size - sent
                block = first if sent == 0 else last if left <= MIB else zeros
                piece = block[-min(MIB, left) :] if block is last else block[: min(MIB, left)]
                s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if chunked and sent >= size:
                s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        s.settimeout(60)
        try:
            while chunk := s.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer:
                    break
        except (ConnectionResetError, TimeoutError):
            pass
    elapsed = time.monotonic() - t0
    m = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    return (int(m.group(1)) if m else 0), sent, elapsed


def test_anonymous_upload_is_refused_before_the_body_is_read(base_url: str) -> None:
    port = urlsplit(base_url).port or 80
    headers = {"reflex-client-token": str(uuid.uuid4()), "reflex-event-handler": SEND_FILES}
    with PeakRss(port) as rss:
        status, sent, elapsed = raw_upload(base_url, headers, 200 * MIB)
    grew = (rss.peak - rss.start) / MIB
    print(
        f"anonymous 200 MiB POST /_upload: {status} after {sent / MIB:.0f} MiB sent in "
        f"{elapsed:.2f} s; portal RSS {rss.start / MIB:.0f} MiB -> peak "
        f"{rss.peak / MIB:.0f} MiB (+{grew:.0f} MiB)"
    )
    assert status == 403, status
    assert grew < 40, f"the portal's memory grew by {grew:.0f} MiB"
    assert sent < 100 * MIB


def test_signed_in_upload_is_capped_even_when_chunked(page: Page, base_url: str) -> None:
    sign_in(page, *ACCOUNTS["clinician"])
    page.goto("/upload")
    token = page.evaluate("window.sessionStorage.getItem('token')")
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
    headers = {
        "reflex-client-token": token,
        "reflex-event-handler": SEND_FILES,
        "Cookie": cookies,
        "Sec-Fetch-Site": "same-origin",
    }
    port = urlsplit(base_url).port or 80
    status, sent, elapsed = raw_upload(base_url, headers, 200 * MIB)
    print(
        f"signed-in 200 MiB upload with Content-Length: {status} after "
        f"{sent / MIB:.0f} MiB in {elapsed:.2f} s"
    )
    assert status == 413 and sent < 100 * MIB
    with PeakRss(port) as rss:
        status, sent, elapsed = raw_upload(base_url, headers, 200 * MIB, chunked=True)
    grew = (rss.peak - rss.start) / MIB
    print(
        f"signed-in 200 MiB chunked upload: {status} after {sent / MIB:.0f} MiB in "
        f"{elapsed:.2f} s; portal RSS {rss.start / MIB:.0f} -> {rss.peak / MIB:.0f} MiB"
    )
    assert status == 413, status
    assert grew < 100, f"the portal's memory grew by {grew:.0f} MiB"
    assert sent < 150 * MIB
    # the same tab's cookie with another tab's client token is no signed-in session
    other = {**headers, "reflex-client-token": str(uuid.uuid4())}
    status, _, _ = raw_upload(base_url, other, MIB)
    assert status == 403, status


def test_security_headers_and_no_csp_violations(
    page: Page, base_url: str, done_case: dict[str, Any]
) -> None:
    r = httpx.get(f"{base_url}/login/", timeout=30)
    assert r.status_code == 200
    policy = r.headers.get("content-security-policy", "")
    print(f"CSP: {policy[:160]}…")
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert r.headers.get("x-frame-options") == "DENY"
    assert r.headers.get("referrer-policy") == "no-referrer"
    assert r.headers.get("x-content-type-options") == "nosniff"
    cookie = r.headers.get("set-cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie

    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    sign_in(page, *ACCOUNTS["clinician"])  # needs the websocket
    open_case(page, done_case["id"])
    assert violations == [], violations


def test_cors_does_not_reflect_a_foreign_origin(base_url: str) -> None:
    evil = "http://evil.example"
    r = httpx.get(f"{base_url}/ping", headers={"Origin": evil, "Cookie": "a=b"}, timeout=30)
    print(
        f"/ping with Origin {evil}: Access-Control-Allow-Origin="
        f"{r.headers.get('access-control-allow-origin')}"
    )
    assert r.headers.get("access-control-allow-origin") not in (evil, "*")
    pre = httpx.options(
        f"{base_url}/_upload",
        headers={"Origin": evil, "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert pre.headers.get("access-control-allow-origin") not in (evil, "*")

    def websocket_status(origin: str) -> int:
        url = urlsplit(base_url)
        with socket.create_connection((url.hostname, url.port), timeout=30) as s:
            s.sendall(
                (
                    f"GET /_event/?EIO=4&transport=websocket HTTP/1.1\r\n"
                    f"Host: {url.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
                ).encode()
            )
            answer = s.recv(4096)
        m = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
        return int(m.group(1)) if m else 0

    assert websocket_status(base_url) == 101
    foreign = websocket_status(evil)
    print(f"websocket from {evil}: {foreign}")
    assert foreign != 101
