"""The fault bench's traffic (bench/faults.py): uploads and reads at a steady rate through each
fault, every answer recorded with when it started, so the report can pick those sent while the
dependency was down."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field

import httpx

UPLOADS_PER_S, READS_PER_S = 1.0, 4.0


@dataclass
class Sample:
    started: float
    kind: str  # upload | read
    status: str  # HTTP status, or "timeout" / "error"
    seconds: float


@dataclass
class Traffic:
    """Uploads and reads at a steady rate; a slow answer never holds the stream back."""

    client: httpx.AsyncClient
    images: list[bytes]
    samples: list[Sample] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def _one(self, kind: str, call: Awaitable[httpx.Response]) -> None:
        t0 = time.monotonic()
        try:
            r = await call
            status = str(r.status_code)
            if kind == "upload" and r.status_code == 202:
                self.accepted.append(r.json()["id"])
        except httpx.TimeoutException:
            status = "timeout"
        except httpx.HTTPError as e:
            status = type(e).__name__
        self.samples.append(Sample(t0, kind, status, time.monotonic() - t0))

    async def run(self) -> None:
        tasks: set[asyncio.Task[None]] = set()
        pictures = itertools.cycle(self.images)
        t0, n_up, n_read = time.monotonic(), 0, 0
        while not self.stop.is_set():
            elapsed = time.monotonic() - t0
            if n_up <= elapsed * UPLOADS_PER_S:
                data = next(pictures)
                tasks.add(
                    asyncio.create_task(
                        self._one(
                            "upload",
                            self.client.post(
                                "/api/cases", files={"file": ("chest.png", data, "image/png")}
                            ),
                        )
                    )
                )
                n_up += 1
            if n_read <= elapsed * READS_PER_S:
                path = (
                    f"/api/cases/{self.accepted[-1]}"
                    if self.accepted and n_read % 2
                    else "/api/cases?limit=20"
                )
                tasks.add(asyncio.create_task(self._one("read", self.client.get(path))))
                n_read += 1
            tasks = {t for t in tasks if not t.done()}
            await asyncio.sleep(0.05)
        await asyncio.gather(*tasks)
