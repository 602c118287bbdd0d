"""The rules of portal/browser_session.py and portal/return_path.py, one by one, in the portal's
own environment (frontend/.venv: the module is the portal's). The browser tests in
test_portal_browser_session.py walk the same rules through Chromium; this file names each rule
and its edge (an expired code, an idle session, a replaced cookie) without a running stack.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PORTAL_PYTHON = ROOT / "frontend" / ".venv" / "bin" / "python"

SCRIPT = r"""
import json, time
from portal import browser_session as bs, return_path as rp

def cookie(secret):
    return f"other=1; {bs.COOKIE}={secret}"

out = {}
user = {"id": 7, "email": "c@example.org", "full_name": "C", "role": "clinician"}
c0 = bs.new_secret()

# a sign-in without the portal cookie is the tab's alone: no code, nothing to adopt
out["no_cookie_code"] = bs.start("t-alone", "tab-0", None, user, "/")
out["no_cookie_check"] = bs.check("t-alone", None)
out["no_cookie_adopt"] = bs.adopt(None, "tab-x") is None

# sign-in in tab 1 of browser c0; until the navigation nothing opens by cookie
code = bs.start("t1", "tab-1", cookie(c0), user, "/cases/abc?x=1")
out["pending_adopt"] = bs.adopt(cookie(c0), "tab-x") is None
out["pending_bound"] = bs.bound("t1", cookie(c0))
stranger = bs.new_secret()
out["stranger_rotate"] = bs.rotate(code, cookie(stranger))
out["bad_code"] = bs.rotate("nope", cookie(c0))
secret1, target, replaced = bs.rotate(code, cookie(c0))
out["target"], out["replaced"] = target, replaced
out["new_value"] = secret1 != c0 and bs.is_secret(secret1)
out["code_once"] = bs.rotate(code, cookie(c0))
c1 = secret1

# tabs of browser c1 adopt; the value planted before sign-in (c0) and other browsers do not
s = bs.adopt(cookie(c1), "tab-2")
out["adopted"] = (s.token, s.user["role"]) if s else None
out["old_value_adopt"] = bs.adopt(cookie(c0), "tab-3") is None
out["stranger_adopt"] = bs.adopt(cookie(stranger), "tab-4") is None
out["checks"] = [bs.check("t1", cookie(c1)), bs.check("t1", cookie(c0)),
                 bs.check("t1", None)]
out["bound"] = [bs.bound("t1", cookie(c1)), bs.bound("t1", cookie(c0))]
out["upload"] = [bs.signed_in(cookie(c1), "tab-1"), bs.signed_in(cookie(c1), "tab-2"),
                 bs.signed_in(cookie(c1), "tab-9"), bs.signed_in(cookie(c0), "tab-1")]
out["retired"] = [bs.retired(cookie(c0)), bs.retired(cookie(c1))]

# a tab whose websocket still has c0 signs in again: the browser (now sending c1) finishes it,
# and the session it had is replaced; the holder of c0 alone cannot finish it
code2 = bs.start("t2", "tab-5", cookie(c0), user, "/")
out["old_value_alone"] = bs.rotate(code2, cookie(c0)) is None
secret2, _, replaced2 = bs.rotate(code2, cookie(c1))
out["replaced2"] = replaced2
out["t1_after"] = bs.check("t1", cookie(c1))
out["t2_after"] = bs.check("t2", cookie(secret2))

# sign-out (forget) ends it for every tab and every cookie
bs.forget("t2")
out["after_forget"] = [bs.check("t2", cookie(secret2)), bs.adopt(cookie(secret2), "tab-6") is None,
                       bs.signed_in(cookie(secret2), "tab-5")]

# a rotation code expires; a session idle past IDLE_SECONDS ends
c3 = bs.new_secret()
code3 = bs.start("t3", "tab-7", cookie(c3), user, "/")
bs._rotations[code3] = bs._rotations[code3].__class__(
    "t3", bs._rotations[code3].browser, "/", time.monotonic() - 1)
out["expired_code"] = bs.rotate(code3, cookie(c3))
c4 = bs.new_secret()
code4 = bs.start("t4", "tab-8", cookie(c4), user, "/")
secret4, _, _ = bs.rotate(code4, cookie(c4))
bs._sessions["t4"].used -= bs.IDLE_SECONDS + 1
out["idle"] = [bs.adopt(cookie(secret4), "tab-9") is None, bs.check("t4", cookie(secret4))]

out["safe"] = {raw: rp.safe(raw) for raw in (
    "//evil.example", "https://evil.example", "/\\evil.example", "javascript:alert(1)",
    "/\t/evil.example", " /cases/a", "/login?next=/x", "/media/abc", "/_portal/signed-in",
    "/cases/abc?x=1", "/account", "/%2F%2Fevil.example", "", "/" + "a" * 3000)}
out["login_path"] = [rp.login_path("/cases/a", "x=1"), rp.login_path("/"),
                     rp.login_path("/login", "next=/cases/a")]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def rules() -> dict:
    if not PORTAL_PYTHON.exists():
        pytest.skip(f"{PORTAL_PYTHON} is missing: run frontend/run.sh --setup-only")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "frontend")}
    done = subprocess.run(
        [str(PORTAL_PYTHON), "-c", SCRIPT],
        cwd=ROOT / "frontend",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_sign_in_without_the_cookie_is_the_tabs_alone(rules: dict) -> None:
    assert rules["no_cookie_code"] is None
    assert rules["no_cookie_check"] == "live"
    assert rules["no_cookie_adopt"] is True


def test_sign_in_finishes_only_in_its_browser_once_with_a_new_value(rules: dict) -> None:
    assert rules["pending_adopt"] is True and rules["pending_bound"] is False
    assert rules["stranger_rotate"] is None and rules["bad_code"] is None
    assert rules["target"] == "/cases/abc?x=1" and rules["replaced"] is None
    assert rules["new_value"] is True
    assert rules["code_once"] is None


def test_only_the_browsers_current_cookie_adopts(rules: dict) -> None:
    assert rules["adopted"] == ["t1", "clinician"]
    assert rules["old_value_adopt"] is True and rules["stranger_adopt"] is True
    assert rules["checks"] == ["live", "other browser", "other browser"]
    assert rules["bound"] == [True, False]
    # /_upload: the cookie and one of the session's tabs (the signing one or an adopted one)
    assert rules["upload"] == [True, True, False, False]
    assert rules["retired"] == [True, False]


def test_a_stale_tab_signs_in_with_its_browser_and_replaces_its_session(rules: dict) -> None:
    assert rules["old_value_alone"] is True
    assert rules["replaced2"] == "t1"
    assert rules["t1_after"] == "ended"
    assert rules["t2_after"] == "live"


def test_forget_expiry_and_idle_end_the_session(rules: dict) -> None:
    assert rules["after_forget"] == ["ended", True, False]
    assert rules["expired_code"] is None
    assert rules["idle"] == [True, "ended"]


def test_next_keeps_only_portal_pages(rules: dict) -> None:
    safe = rules["safe"]
    for raw in (
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        " /cases/a",
        "/login?next=/x",
        "/media/abc",
        "/_portal/signed-in",
        "",
        "/" + "a" * 3000,
    ):
        assert safe[raw] == "/", raw
    for raw in ("/cases/abc?x=1", "/account", "/%2F%2Fevil.example"):  # paths on this origin
        assert safe[raw] == raw
    assert rules["login_path"] == ["/login?next=%2Fcases%2Fa%3Fx%3D1", "/login", "/login"]
