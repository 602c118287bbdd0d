"""The load test's simulated portal users (bench/load_test.py): what one person does between
think times (worklist, case view, /api/me, an upload or a review), the latencies and errors they
record, and the run of all of them until the deadline."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

KEEPALIVE_S = 4.0  # below uvicorn's 5 s keep-alive, so no request races a closing connection
SEARCH_TERMS = ("bilateral", "lower left", "P-01", "covid_1", "right lung")
WORKLIST_FILTERS: tuple[dict[str, Any], ...] = (
    {},
    {"status": "done"},
    {"status": "done", "review_state": "unreviewed"},
    {"sort": "newest"},
    {"priority": "urgent"},
    {"sort": "oldest", "status": "done"},
)


@dataclass
class Stats:
    """Latencies and failures per route template, shared by all users."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)  # one error message per route

    def add(self, route: str, ms: float, error: str | None) -> None:
        self.latencies[route].append(ms)
        if error:
            self.errors[route] += 1
            self.samples.setdefault(route, error)


@dataclass
class User:
    """One simulated person: a signed-in client and the cases it last saw. Its client is
    aiohttp: the load generator shares the stack's 2 cores, and aiohttp spends about a third of
    httpx's CPU per request, leaving more of them to the API being measured."""

    role: str
    client: aiohttp.ClientSession
    stats: Stats
    rng: random.Random
    cases: list[dict[str, Any]] = field(default_factory=list)

    async def call(self, route: str, method: str, url: str, **kw: Any) -> bytes | None:
        """The body of a 2xx/3xx answer, else None; latency and any error recorded."""
        t0 = time.perf_counter()
        try:
            async with self.client.request(method, url, **kw) as r:
                body = await r.read()
        except (aiohttp.ClientError, TimeoutError) as e:
            self.stats.add(route, (time.perf_counter() - t0) * 1000, f"{type(e).__name__}: {e}")
            return None
        ms = (time.perf_counter() - t0) * 1000
        failed = r.status >= 400
        self.stats.add(route, ms, f"{r.status} {body[:200]!r}" if failed else None)
        return None if failed else body

    async def worklist(self) -> None:
        params: dict[str, Any] = dict(self.rng.choice(WORKLIST_FILTERS))
        if self.rng.random() < 0.2:
            params["q"] = self.rng.choice(SEARCH_TERMS)
        if self.rng.random() < 0.3:
            params["offset"] = self.rng.choice((20, 40))
        body = await self.call("GET /api/cases", "GET", "/api/cases", params=params)
        if body is not None and (items := json.loads(body)["items"]):
            self.cases = items

    async def case_view(self) -> None:
        if not self.cases:
            return await self.worklist()
        cid = self.rng.choice(self.cases)["id"]
        body = await self.call("GET /api/cases/{id}", "GET", f"/api/cases/{cid}")
        if body is None or json.loads(body)["status"] != "done":
            return None
        base = "preview" if self.rng.random() < 0.3 else "image"
        await asyncio.gather(
            *(
                self.call(f"GET /api/cases/{{id}}/{kind}", "GET", f"/api/cases/{cid}/{kind}")
                for kind in (base, "mask", "overlay")
            )
        )
        return None

    async def me(self) -> None:
        await self.call("GET /api/me", "GET", "/api/me")

    async def upload(self, images: list[Path]) -> None:
        path = self.rng.choice(images)
        form = aiohttp.FormData()
        form.add_field("file", path.read_bytes(), filename=path.name, content_type="image/png")
        form.add_field("patient_ref", f"P-{self.rng.randrange(10000):04d}")
        priority = self.rng.choice(("routine", "routine", "urgent", "stat"))
        form.add_field("priority", priority)
        if priority == "stat":  # STAT needs a reason
            form.add_field("priority_reason", "load test: simulated emergency")
        await self.call("POST /api/cases", "POST", "/api/cases", data=form)

    async def review(self) -> None:
        done = [c for c in self.cases if c["status"] == "done"]
        if not done:
            return await self.worklist()
        cid = self.rng.choice(done)["id"]
        decision = self.rng.choice(("accept", "accept", "reject"))
        await self.call(
            "POST /api/cases/{id}/review",
            "POST",
            f"/api/cases/{cid}/review",
            json={"decision": decision, "comment": "load test"},
        )
        return None

    async def run(
        self, deadline: float, think_s: float, upload_share: float, images: list[Path]
    ) -> None:
        await asyncio.sleep(self.rng.uniform(0, think_s))  # users arrive spread out
        await self.worklist()
        while time.monotonic() < deadline:
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * think_s)
            if time.monotonic() >= deadline:
                break
            x = self.rng.random()
            if x < upload_share:
                await (self.upload(images) if self.role == "clinician" else self.review())
            elif x < 0.05 + upload_share:
                await self.me()
            elif x < 0.50:
                await self.worklist()
            else:
                await self.case_view()


async def run_users(
    api: str, people: list[tuple[str, str]], tokens: list[str], args: Any, images: list[Path]
) -> tuple[Stats, float]:
    stats = Stats()
    users = [
        User(
            role,
            aiohttp.ClientSession(
                base_url=api,
                timeout=aiohttp.ClientTimeout(total=args.timeout),
                headers={"Authorization": f"Bearer {token}"},
                connector=aiohttp.TCPConnector(limit=4, keepalive_timeout=KEEPALIVE_S),
            ),
            stats,
            random.Random(1000 + i),
        )
        for i, ((role, _), token) in enumerate(zip(people, tokens, strict=True))
    ]
    t0 = time.monotonic()
    try:
        await asyncio.gather(
            *(u.run(t0 + args.duration, args.think, args.upload_share, images) for u in users)
        )
    finally:
        for u in users:
            await u.client.close()
    return stats, time.monotonic() - t0
