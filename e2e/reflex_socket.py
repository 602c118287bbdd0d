"""A Reflex client on the portal's websocket, speaking what the browser's state.js speaks.

The portal's backend is a Socket.IO server at /_event (Engine.IO 4, text frames), in the
Socket.IO namespace "/_event" (socket.io-client takes it from the URL's path). A tab is known
by the client token in the connection's query (state.js keeps it in sessionStorage); anyone can
make one up. Events go out as ``42/_event,["event", {"name", "payload", "router_data"}]``
where name is ``<state full name>.<handler>``; state updates come back as
``42/_event,["event", {"delta": {state: {var: value}}, "events": [...]}]``. Engine.IO pings
("2") are answered ("3") by a reader thread, so a client may sit idle between steps.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Origin

NAMESPACE = "/_event"
# sign-in sends the tab through this portal route, which gives the browser a new cookie value
SIGNED_IN = re.compile(r"/_portal/signed-in\?code=[A-Za-z0-9_-]+")


def browser_cookies(portal_url: str) -> str:
    """The Cookie header a browser would send after loading the sign-in page (whatever
    cookies the portal sets on a page load)."""
    response = httpx.get(f"{portal_url.rstrip('/')}/login", timeout=30, follow_redirects=True)
    return "; ".join(f"{k}={v}" for k, v in response.cookies.items())


class ReflexSocket:
    """One browser tab: its own client token (made up, as state.js makes one) and the cookies
    of a page load of its own, or the Cookie header given (another tab of the same browser;
    "" for none)."""

    def __init__(
        self, portal_url: str, token: str | None = None, cookies: str | None = None
    ) -> None:
        self.token = token or str(uuid.uuid4())
        ws_url = "ws" + portal_url.removeprefix("http").rstrip("/")
        cookies = browser_cookies(portal_url) if cookies is None else cookies
        self.cookies = cookies
        self._exit = contextlib.ExitStack()
        self.ws = self._exit.enter_context(
            connect(
                f"{ws_url}/_event/?EIO=4&transport=websocket&token={self.token}",
                origin=Origin(portal_url.rstrip("/")),
                max_size=None,
                open_timeout=15,
                additional_headers={"Cookie": cookies} if cookies else None,
            )
        )
        opened = self.ws.recv(timeout=15)
        assert isinstance(opened, str) and opened.startswith("0"), opened
        self.ws.send(f"40{NAMESPACE},")
        connected = self.ws.recv(timeout=15)
        assert isinstance(connected, str) and connected.startswith(f"40{NAMESPACE},"), connected
        self.updates: queue.Queue[dict[str, Any]] = queue.Queue()
        self.raw: list[str] = []  # every Socket.IO event frame received, for text checks
        self._reader = threading.Thread(target=self._read, name="reflex-socket", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while True:
                message = self.ws.recv()
                if not isinstance(message, str):
                    continue
                if message == "2":
                    self.ws.send("3")
                elif message.startswith(f"42{NAMESPACE},"):
                    self.raw.append(message)
                    name, *args = json.loads(message.removeprefix(f"42{NAMESPACE},"))
                    if name == "event" and args and isinstance(args[0], dict):
                        self.updates.put(args[0])
        except (ConnectionClosed, OSError):
            return

    def fire(self, name: str, payload: dict[str, Any] | None = None, path: str = "/") -> None:
        """Send the event as the tab at address `path` (its query included) sends it."""
        event = {
            "name": name,
            "payload": payload or {},
            "router_data": {"pathname": path.split("?", 1)[0], "asPath": path},
        }
        self.ws.send(f"42{NAMESPACE}," + json.dumps(["event", event]))

    def collect(
        self,
        quiet: float = 1.0,
        limit: float = 8.0,
        until: Callable[[list[dict[str, Any]]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """The updates that arrive until `until` holds for them, or else until none came for
        `quiet` seconds after the first (at most `limit` seconds in all)."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + limit
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.append(self.updates.get(timeout=min(quiet, left)))
            except queue.Empty:
                if until is None and got:
                    break
                continue
            if until is not None and until(got):
                break
        return got

    def call(
        self, name: str, payload: dict[str, Any] | None = None, path: str = "/", **wait: Any
    ) -> list[dict[str, Any]]:
        self.fire(name, payload, path)
        return self.collect(**wait)

    def close(self) -> None:
        self._exit.close()
        self._reader.join(5)


def redirects(updates: list[dict[str, Any]]) -> list[str]:
    """The paths of the redirects among these updates' frontend events."""
    return [
        str((e.get("payload") or {}).get("path", ""))
        for u in updates
        for e in u.get("events") or []
        if e.get("name") == "_redirect"
    ]


def scripts(updates: list[dict[str, Any]]) -> list[str]:
    """The JavaScript of the rx.call_script events among these updates."""
    return [
        str((e.get("payload") or {}).get("javascript_code", ""))
        for u in updates
        for e in u.get("events") or []
        if e.get("name") == "_call_script"
    ]


def merged(updates: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last value of each var of each state across these updates."""
    out: dict[str, dict[str, Any]] = {}
    for u in updates:
        for state, delta in (u.get("delta") or {}).items():
            out.setdefault(state, {}).update(delta)
    return out


def sign_in_tab(portal: dict[str, Any], tab: ReflexSocket, email: str, password: str) -> str:
    """Sign the tab in through the portal (`portal`: the handlers e2e/portal_handlers.py
    lists); the URL of the sign-in's last step (the navigation that gives the browser its new
    cookie), which a browser would open at once."""
    auth = next(h["state"] for h in portal["handlers"] if h["name"] == "login")
    updates = tab.call(
        f"{auth}.login",
        {"form": {"email": email, "password": password}},
        path="/login",
        limit=30,
        until=lambda got: any(SIGNED_IN.search(js) for js in scripts(got)),
    )
    found = [m.group(0) for js in scripts(updates) if (m := SIGNED_IN.search(js))]
    assert found, f"{email} did not sign in through the portal: {updates}"
    return found[0]
