"""A tab that never signed in gets nothing from the portal, whoever else is signed in (issue 12).

The probe made up a client token on the portal's websocket and fired event handlers: it got a
clinician's worklist, a working API token of the admin who signed in last, and made a new admin.
Here such a client fires every event handler of every portal state (listed from the state
classes by portal_handlers.py, so a new handler is covered without editing this file) while an
admin and a clinician are signed in on other tabs, each of them the last to sign in in turn.
It must receive no data, be sent to /login by every handler that is not the sign-in itself,
and change nothing the API can show afterwards.

Issue 14 lets a new tab of a signed-in browser adopt that browser's session, found by the
browser's HttpOnly cookie on the websocket handshake. So the cases below also hold the session
to its own browser: a tab with another browser's cookie (its own page load), with no cookie, or
with the cookie the browser had before it signed in (sign-in replaces it) gets nothing, while a
tab with the browser's current cookie is signed in (the control).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_stack import ACCOUNTS
from reflex_socket import ReflexSocket, merged, redirects, sign_in_tab

SUFFIX = "_rx_state_"
# Public handlers of AuthState (the sign-in page); every other handler must refuse a tab that
# is not signed in by sending it to /login.
PUBLIC = {"login", "open_login"}
# What a tab that is not signed in may see change: why it is on the sign-in page.
MAY_CHANGE = {"notice", "login_error", "login_busy", "current_page"}
COOKIE = "medsegtext_browser"


@pytest.fixture(scope="module")
def world(api: Any, xray: Path) -> dict[str, Any]:
    """What a stolen identity could reach: a clinician's case, an admin's personal token."""
    marker = f"ISO-{secrets.token_hex(4)}"
    case = api.upload("clinician", xray, patient_ref=marker)
    clinician = api.http.get("/api/me", headers=api.as_role("clinician")).json()
    kept = api.http.post(
        "/api/auth/tokens", headers=api.as_role("admin"), json={"name": "isolation-keep"}
    )
    assert kept.status_code in (200, 201), kept.text
    models = api.http.get("/api/admin/models", headers=api.as_role("admin")).json()
    return {
        "marker": marker,
        "case_id": case["id"],
        "clinician_id": clinician["id"],
        "token_id": kept.json()["id"],
        "model_id": models[0]["id"] if models else 1,
    }


@pytest.fixture
def sockets(base_url: str) -> Iterator[list[ReflexSocket]]:
    opened: list[ReflexSocket] = []
    yield opened
    for s in opened:
        s.close()


def test_every_handler_but_the_sign_in_pages_is_guarded(portal: dict[str, Any], api: Any) -> None:
    """Structure: portal.state.auth wrapped every handler in its sign-in and permission check,
    and each admits the roles of its page: the roles whose GET /api/me lists the permission
    the handler needs ("": any signed-in user)."""
    unguarded = [
        f"{h['state'].rsplit('.', 1)[-1]}.{h['name']}"
        for h in portal["handlers"]
        if h["guarded"] is None and h["name"] not in PUBLIC | {"setvar"}
    ]
    assert unguarded == []
    public = {h["name"] for h in portal["handlers"] if h["guarded"] is None} - {"setvar"}
    assert public == PUBLIC
    granted = {
        role: api.http.get("/api/me", headers=api.as_role(role)).json()["permissions"]
        for role in ACCOUNTS
    }
    admin_states = (
        "admin_users_state",
        "dashboard_state",
        "audit_state",
        "models_state",
        "admin_tokens_state",
    )
    wrong = {}
    for h in portal["handlers"]:
        if h["guarded"] is None:
            continue
        name = f"{h['state'].rsplit('.', 1)[-1]}.{h['name']}"
        expected = (
            ["admin"]
            if h["state"].endswith(admin_states)
            else ["admin", "clinician"]
            if h["state"].endswith("upload_state")
            else ["admin", "reviewer"]
            if h["state"].endswith("pacs_state")
            else ["admin", "reviewer"]
            if name.endswith(("case_state.submit_review", "case_state.override_scope"))
            else sorted(ACCOUNTS)
        )
        admitted = sorted(
            role
            for role, permissions in granted.items()
            if h["guarded"] == "" or h["guarded"] in permissions
        )
        if admitted != expected:
            wrong[name] = (h["guarded"], admitted)
    assert wrong == {}, "these handlers admit other roles than their page"


def _is_login(path: str) -> bool:
    return path.split("?", 1)[0] == "/login"


def _new_cookie(base_url: str, step: str, cookies: str) -> str | None:
    """Open the sign-in's last step as the browser would; the new cookie value it sets."""
    r = httpx.get(
        f"{base_url}{step}",
        headers={"Cookie": cookies, "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 303, (r.status_code, r.text)
    return r.cookies.get(COOKIE)


def _value(param: dict[str, str], world: dict[str, Any], form: dict[str, str]) -> Any:
    named = {
        "user_id": world["clinician_id"],
        "token_id": world["token_id"],
        "model_id": world["model_id"],
        "role": "admin",
        "action": "retire",
        "active": False,
        "key": "patient_right_upper",
        "progress": {"loaded": 1, "total": 2},
        "result": None,
    }  # a call_script callback's (UploadState.deliver)
    if param["name"] in named:
        return named[param["name"]]
    by_type = {
        "dict[str, typing.Any]": form,
        "str": "all",
        "bool": False,
        "float": 50.0,
        "int": 1,
        "str | list[str]": "outline",
        "list[str]": ["chest.png"],
        "list[int]": [1024],
    }
    if param["type"] in by_type:
        return by_type[param["type"]]
    if param["type"].startswith("list[") and "UploadFile" in param["type"]:
        return []  # files cannot travel on the websocket (they go to /_upload)
    pytest.fail(
        f"no test value for a parameter of type {param['type']} ({param['name']}): "
        "add one to _value"
    )


def _calls(
    portal: dict[str, Any], world: dict[str, Any], form: dict[str, str]
) -> Iterator[tuple[str, str, dict[str, Any], str]]:
    """(state, handler, payload, page path) for every handler; setvar once per var that has
    a setter, and once with a var that has none (it must not grant a role)."""
    handlers = portal["handlers"]
    for h in handlers:
        path = f"/cases/{world['case_id']}" if "case_state" in h["state"] else "/"
        if h["name"] != "setvar":
            payload = {p["name"]: _value(p, world, form) for p in h["params"]}
            yield h["state"], h["name"], payload, path
            continue
        variables = {k.removesuffix(SUFFIX) for k in portal["defaults"][h["state"]]}
        setters = [
            g
            for g in handlers
            if g["state"] == h["state"]
            and g["name"].startswith("set_")
            and g["name"].removeprefix("set_") in variables
            and len(g["params"]) == 1
        ]
        for g in setters:
            yield (
                h["state"],
                "setvar",
                {
                    "var_name": g["name"].removeprefix("set_"),
                    "value": _value(g["params"][0], world, form),
                },
                path,
            )
        yield h["state"], "setvar", {"var_name": "role", "value": "admin"}, path


def _get(api: Any, role: str, path: str, **params: Any) -> Any:
    r = api.http.get(path, headers=api.as_role(role), params=params)
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
    return r.json()


def _snapshot(api: Any) -> dict[str, Any]:
    """What the intruder could have changed, as the API shows it."""
    return {
        "users": sorted(
            (u["id"], u["email"], u["role"], u["is_active"])
            for u in _get(api, "admin", "/api/admin/users", limit=100)["items"]
        ),
        "cases": _get(api, "admin", "/api/cases", limit=1)["total"],
        "tokens": {
            role: sorted(
                (t["id"], t["name"], t["revoked_at"]) for t in _get(api, role, "/api/auth/tokens")
            )
            for role in ("admin", "clinician")
        },
        "models": sorted((m["id"], m["status"]) for m in _get(api, "admin", "/api/admin/models")),
        "audit_top": max(
            (e["id"] for e in _get(api, "admin", "/api/admin/audit", limit=1)["items"]), default=0
        ),
    }


def _audit_since(api: Any, top: int) -> list[dict[str, Any]]:
    return [e for e in _get(api, "admin", "/api/admin/audit", limit=100)["items"] if e["id"] > top]


@pytest.mark.parametrize("last", ["clinician", "admin"])
def test_a_tab_that_never_signed_in_gets_nothing(
    base_url: str, api: Any, sockets: list, portal: dict[str, Any], world: dict[str, Any], last: str
) -> None:
    first = "admin" if last == "clinician" else "clinician"
    tabs = {}
    for role in (first, last):  # real tabs, signed in through the portal, `last` the latest
        tabs[role] = ReflexSocket(base_url)
        sockets.append(tabs[role])
        sign_in_tab(portal, tabs[role], *ACCOUNTS[role])
    worklist = next(h["state"] for h in portal["handlers"] if h["state"].endswith("worklist_state"))
    seen = tabs["clinician"].call(
        f"{worklist}.load", limit=30, until=lambda got: world["marker"] in json.dumps(got)
    )
    assert world["marker"] in json.dumps(merged(seen)), "control: the signed-in tab sees its case"

    before = _snapshot(api)
    intruder = ReflexSocket(base_url, token=str(uuid.uuid4()))  # a made-up client token
    sockets.append(intruder)
    mallory = f"mallory-{secrets.token_hex(4)}@example.org"
    form = {
        "email": mallory,
        "password": "Mallory-password-2024!",
        "role": "admin",
        "full_name": "Mallory",
        "name": "mallory-token",
        "q": "",
        "path": "/tmp/x.onnx",
        "manifest_path": "",
        "action": "",
        "user_id": "",
        "case_id": "",
        "since": "",
        "until": "",
        "created_from": "",
        "created_to": "",
        "limit": "",
        "patient_ref": "MALLORY",
        "priority": "stat",
        "notes": "",
    }
    received: list[dict[str, Any]] = []
    not_sent_to_login = []
    for state, handler, payload, path in _calls(portal, world, form):
        updates = intruder.call(f"{state}.{handler}", payload, path=path, limit=5)
        received.extend(updates)
        # setvar runs the guarded set_<var> handler but drops what it returns (the redirect):
        # for it, that nothing changes is checked below with everything else
        if handler not in PUBLIC | {"setvar"} and not any(map(_is_login, redirects(updates))):
            not_sent_to_login.append(f"{state.rsplit('.', 1)[-1]}.{handler}")
    received.extend(intruder.collect(quiet=2.5, limit=5))  # anything late (background tasks)

    changed = {}
    for state, delta in merged(received).items():
        defaults = portal["defaults"].get(state)
        if defaults is None:
            continue  # Reflex's own states (hydration flags, router data)
        for var, value in delta.items():
            if var.removesuffix(SUFFIX) not in MAY_CHANGE and value != defaults.get(var):
                changed[f"{state.rsplit('.', 1)[-1]}.{var.removesuffix(SUFFIX)}"] = value
    assert changed == {}, f"the intruder's state received data: {changed}"
    text = "\n".join(intruder.raw)
    for secret in (
        world["marker"],
        ACCOUNTS["admin"][0],
        ACCOUNTS["clinician"][0],
        "MALLORY",
        "mallory-token",
    ):
        assert secret not in text, f"{secret} reached the intruder"
    assert not_sent_to_login == [], "these handlers did not send the tab to sign in"

    after = _snapshot(api)
    assert after["users"] == before["users"] and mallory not in json.dumps(after["users"])
    assert after["cases"] == before["cases"]
    assert after["tokens"] == before["tokens"]
    assert after["models"] == before["models"]
    made = [
        e
        for e in _audit_since(api, before["audit_top"])
        if not (e["action"] == "auth.sign_in_failed" and e.get("user_id") is None)
    ]
    assert made == [], f"the intruder acted as someone: {made}"


def test_a_browsers_session_reaches_only_its_own_tabs(
    base_url: str, sockets: list, portal: dict[str, Any], world: dict[str, Any]
) -> None:
    """The signed-in browser's cookie is the only thing that lets a new tab in."""
    first = ReflexSocket(base_url)
    sockets.append(first)
    step = sign_in_tab(portal, first, *ACCOUNTS["clinician"])
    before = first.cookies
    stranger = ReflexSocket(base_url)  # another browser's page load: its own cookie
    sockets.append(stranger)
    assert _new_cookie(base_url, step, stranger.cookies) is None  # not its sign-in to finish
    fresh = _new_cookie(base_url, step, before)
    assert fresh and f"{COOKIE}={fresh}" != before, "sign-in gave the browser no new cookie"
    assert _new_cookie(base_url, step, before) is None  # the step works once
    worklist = next(h["state"] for h in portal["handlers"] if h["state"].endswith("worklist_state"))

    def load(tab: ReflexSocket) -> list[dict[str, Any]]:
        return tab.call(
            f"{worklist}.load",
            limit=20,
            until=lambda got: (
                world["marker"] in json.dumps(got) or any(map(_is_login, redirects(got)))
            ),
        )

    same_browser = ReflexSocket(base_url, cookies=f"{COOKIE}={fresh}")
    sockets.append(same_browser)
    assert world["marker"] in json.dumps(merged(load(same_browser))), (
        "control: a new tab of the signed-in browser is signed in"
    )

    for name, cookies in (
        ("another browser", stranger.cookies),
        ("no cookie", ""),
        ("the cookie from before sign-in", before),
    ):
        tab = ReflexSocket(base_url, cookies=cookies)
        sockets.append(tab)
        updates = load(tab)
        assert any(map(_is_login, redirects(updates))), f"{name}: not sent to sign in"
        text = json.dumps(updates)
        assert world["marker"] not in text, f"{name}: saw the clinician's case"
        assert ACCOUNTS["clinician"][0] not in text, f"{name}: saw who is signed in"
