"""The client's address and scheme, from forwarded headers only where a trusted proxy sent them.

MEDSEGTEXT_TRUSTED_PROXIES (settings.trusted_proxies) lists the addresses or networks of the
proxies in front of the API; empty (the default) trusts none, and the client is the TCP peer.
When the peer is one of them, X-Forwarded-For is read from the right, skipping the trusted hops;
the first address no trusted proxy could have added is the client (the left of it is whatever
the client claimed). X-Forwarded-Proto from a trusted peer sets the scheme.

The ASGI server must not rewrite the peer itself: uvicorn runs with --no-proxy-headers wherever
the project starts it (backend/devstack_processes.py, docker/api.Dockerfile), so this is the one
place that decides. Where to trust what: ``make up`` trusts 127.0.0.1 while it runs the portal on
the same host (the portal forwards the browser's address); compose, the portal's fixed address
(172.30.72.10, not the subnet, which the host's own calls come from); ECS, the VPC CIDR (the
load balancer and the portal's tasks). deploy/README.md has the table.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from litestar.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR networks; ValueError names the first that is neither."""
    out: list[Network] = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {value!r}") from None
    return tuple(out)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    addr = _address(address)
    return addr is not None and any(addr in net for net in trusted)


def client_address(peer: str, forwarded_for: list[str], trusted: tuple[Network, ...]) -> str:
    """The client, given the TCP peer and the X-Forwarded-For values (in header order)."""
    if not is_trusted(peer, trusted):
        return peer
    client = peer
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        addr = _address(hop)
        if addr is None:
            break  # not an address: nothing left of it can be believed
        client = str(addr)
        if not any(addr in net for net in trusted):
            break
    return client


def forwarded_headers_middleware(trusted: tuple[Network, ...]) -> Callable[[ASGIApp], ASGIApp]:
    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            peer = scope.get("client")
            if trusted and scope["type"] == "http" and peer and is_trusted(str(peer[0]), trusted):
                forwarded: list[str] = []
                proto: str | None = None
                for name, value in scope.get("headers", []):
                    if name == b"x-forwarded-for":
                        forwarded.append(value.decode("latin-1"))
                    elif name == b"x-forwarded-proto":
                        proto = value.decode("latin-1").split(",")[-1].strip().lower()
                client = client_address(str(peer[0]), forwarded, trusted)
                scope["client"] = (client, peer[1] if client == peer[0] else 0)
                if proto in ("http", "https"):
                    scope["scheme"] = proto
            await app(scope, receive, send)

        return middleware

    return factory
