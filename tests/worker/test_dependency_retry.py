"""S3 unreachable during a job: the job retries with backoff, then either completes once S3 is
back (one result) or fails with a readable reason after the last try (no result at all).

S3 is reached through a real TCP proxy in front of moto that drops connections while "down"."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlparse

import pytest_asyncio

from backend.platform.retry import backoff_seconds
from backend.platform.services import Services


class FlakyProxy:
    """Forwards 127.0.0.1:<port> to the target; while ``down`` it resets every connection."""

    def __init__(self, target_url: str):
        target = urlparse(target_url)
        self.host, self.port_to = target.hostname or "127.0.0.1", target.port or 80
        self.down = True
        self.refused = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            self.refused += 1
            writer.transport.abort()  # RST: the client sees the connection dropped
            return
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port_to)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest_asyncio.fixture(loop_scope="session")
async def proxy_factory(moto_url: str):
    proxies: list[FlakyProxy] = []

    async def make() -> tuple[FlakyProxy, str]:
        proxy = FlakyProxy(moto_url)
        proxies.append(proxy)
        return proxy, await proxy.start()

    yield make
    for proxy in proxies:
        await proxy.close()


async def test_s3_down_for_good_fails_with_reason_after_max_tries(
    kit, services: Services, xray: bytes, new_case, proxy_factory
) -> None:
    case_id = await new_case(xray)
    proxy, s3_url = await proxy_factory()
    await services.queue.enqueue_inference(case_id, services.manifest.version)

    worker = await kit.run_burst_worker(kit.settings_with(s3_endpoint_url=s3_url))

    tries = kit.settings.job_max_tries
    assert worker.jobs_retried == tries - 1 and worker.jobs_complete == 1
    case = await kit.load_case(case_id)
    assert case.status == "failed" and case.attempts == tries
    assert case.error and case.error.startswith(f"s3 unavailable after {tries} tries: ")
    assert proxy.refused >= tries
    assert await services.predictions.for_case(case_id) == []
    assert await kit.list_keys(case_id) == [case.image_key]  # the upload is kept, nothing added


async def test_s3_back_after_a_retry_completes_once(
    kit, services: Services, xray: bytes, new_case, proxy_factory
) -> None:
    case_id = await new_case(xray)
    proxy, s3_url = await proxy_factory()
    await services.queue.enqueue_inference(case_id, services.manifest.version)

    async def s3_back(ctx: dict[str, Any]) -> None:  # arq's on_job_end: after the first try
        proxy.down = False

    worker = await kit.run_burst_worker(
        kit.settings_with(s3_endpoint_url=s3_url), on_job_end=s3_back
    )

    assert (worker.jobs_retried, worker.jobs_complete, worker.jobs_failed) == (1, 1, 0)
    case = await kit.load_case(case_id)
    assert case.status == "done" and case.attempts == 2 and case.error is None
    assert proxy.refused >= 1
    assert len(await services.predictions.for_case(case_id)) == 1
    assert len(await kit.list_keys(case_id)) == 3


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_seconds(t) for t in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_seconds(10, base_s=1.0, cap_s=30.0) == 30.0
    assert backoff_seconds(2, base_s=0.05) == 0.1
