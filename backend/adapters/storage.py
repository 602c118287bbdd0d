"""S3 object store for images, masks and overlays."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.handlers import add_expect_header

from backend.adapters.aws import aws_session, client_config
from backend.adapters.errors import DependencyUnavailable, ObjectMissing
from backend.settings import Settings


class ObjectStore:
    def __init__(self, settings: Settings):
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix
        self._settings = settings
        self._stack = AsyncExitStack()
        self._client: Any = None

    async def start(self) -> None:
        session = aws_session(self._settings)
        self._client = await self._stack.enter_async_context(
            session.client(
                "s3",
                endpoint_url=self._settings.s3_endpoint_url,
                config=client_config(self._settings),
            )
        )
        # aiohttp waits for "100 Continue" with no timeout at all, so an S3 endpoint that
        # accepts and hangs would hang every upload; without the header read_timeout applies.
        self._client.meta.events.unregister("before-call.s3", add_expect_header)

    async def close(self) -> None:
        await self._stack.aclose()

    def key(self, case_id: str, name: str) -> str:
        return f"{self.prefix}{case_id}/{name}"

    async def ensure_bucket(self) -> None:
        try:
            await self._client.head_bucket(Bucket=self.bucket)
        except ClientError:
            await self._client.create_bucket(
                Bucket=self.bucket,
                CreateBucketConfiguration={"LocationConstraint": self._settings.aws_region},
            )

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            await self._client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
            )
        except (BotoCoreError, ClientError, OSError) as e:
            raise DependencyUnavailable("s3", str(e)) from e

    async def get(self, key: str) -> bytes:
        try:
            resp = await self._client.get_object(Bucket=self.bucket, Key=key)
            async with resp["Body"] as body:
                return bytes(await body.read())
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise ObjectMissing(key) from e
            raise DependencyUnavailable("s3", str(e)) from e
        except (BotoCoreError, OSError) as e:
            raise DependencyUnavailable("s3", str(e)) from e

    async def exists(self, key: str) -> bool:
        """Whether the object is stored (a HEAD: no bytes move)."""
        try:
            await self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise DependencyUnavailable("s3", str(e)) from e
        except (BotoCoreError, OSError) as e:
            raise DependencyUnavailable("s3", str(e)) from e
        return True

    async def delete(self, key: str) -> None:
        try:
            await self._client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError, OSError) as e:
            raise DependencyUnavailable("s3", str(e)) from e

    async def ping(self) -> None:
        try:
            await self._client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError, OSError) as e:
            raise DependencyUnavailable("s3", str(e)) from e
