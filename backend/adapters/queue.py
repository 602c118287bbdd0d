"""The job queue (arq on Redis). Job ids are derived from the case and model version, so
enqueueing the same work twice is a no-op while the first job is queued or kept as a result."""

from __future__ import annotations

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from backend.adapters.errors import DependencyUnavailable
from backend.settings import Settings

INFERENCE_JOB = "run_inference"


#: The longest wait between the worker's reconnect attempts while Redis is away.
RECONNECT_CAP_S = 2.0


def redis_settings(settings: Settings, *, outage_s: float = 0) -> RedisSettings:
    """Every command retries once at once, so the first one after a Redis restart finds a new
    connection instead of failing on the dead one. ``outage_s`` > 0 (the worker) keeps retrying
    with backoff for at least that long, so a restart does not end the worker's polling loop; the
    API passes 0 and answers at once (503, or a case kept queued for the sweep)."""
    rs = RedisSettings.from_dsn(settings.redis_url)
    rs.conn_timeout = settings.redis_connect_timeout_seconds
    rs.conn_retries = 1
    if outage_s > 0:
        tries = int(outage_s / RECONNECT_CAP_S) + 4
        rs.retry = Retry(ExponentialBackoff(cap=RECONNECT_CAP_S, base=0.1), tries)
    else:
        rs.retry = Retry(NoBackoff(), 1)
    # Each connection adds these to its retry's errors. OSError too: a refused connect reaches
    # the retry as a bare ConnectionRefusedError, and arq takes connections where no command
    # retry covers it (WATCH in enqueue_job, which its cron scheduling runs).
    rs.retry_on_error = [RedisConnectionError, RedisTimeoutError, OSError]
    return rs


def inference_job_id(case_id: str, model_version: str, attempt: int = 0) -> str:
    """attempt > 0 only when a user asks to re-run a finished case."""
    base = f"infer:{case_id}:{model_version}"
    return base if attempt == 0 else f"{base}:{attempt}"


class JobQueue:
    def __init__(self, settings: Settings):
        self._settings = settings
        self.pool: ArqRedis | None = None

    async def start(self) -> None:
        try:
            self.pool = await create_pool(redis_settings(self._settings))
        except (RedisError, OSError) as e:
            # The API still starts: what needs the queue answers 503 until Redis is back.
            self.pool = None
            self._start_error = str(e)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.aclose()

    async def _pool(self) -> ArqRedis:
        if self.pool is None:
            await self.start()
        if self.pool is None:
            raise DependencyUnavailable("redis", getattr(self, "_start_error", "not connected"))
        return self.pool

    async def enqueue_inference(self, case_id: str, model_version: str, attempt: int = 0) -> None:
        pool = await self._pool()
        try:
            await pool.enqueue_job(
                INFERENCE_JOB, case_id, _job_id=inference_job_id(case_id, model_version, attempt)
            )
        except (RedisError, OSError) as e:
            raise DependencyUnavailable("redis", str(e)) from e

    async def enqueue(self, function: str, *args: object, job_id: str) -> None:
        """Queue another domain's job under an id that makes it idempotent."""
        pool = await self._pool()
        try:
            await pool.enqueue_job(function, *args, _job_id=job_id)
        except (RedisError, OSError) as e:
            raise DependencyUnavailable("redis", str(e)) from e

    async def depth(self) -> int:
        pool = await self._pool()
        try:
            return int(await pool.zcard("arq:queue"))
        except (RedisError, OSError) as e:
            raise DependencyUnavailable("redis", str(e)) from e

    async def ping(self) -> None:
        pool = await self._pool()
        try:
            await pool.ping()
        except (RedisError, OSError) as e:
            raise DependencyUnavailable("redis", str(e)) from e
