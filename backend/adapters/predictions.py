"""DynamoDB prediction records: one item per (case, model version), so a re-run of the same job
overwrites its own record instead of adding a second one."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from backend.adapters.aws import aws_session, client_config
from backend.adapters.errors import DependencyUnavailable
from backend.settings import Settings


def _to_dynamo(value: Any) -> Any:
    return json.loads(json.dumps(value), parse_float=Decimal)


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    return value


class PredictionStore:
    def __init__(self, settings: Settings):
        self._settings = settings
        self.table_name = settings.dynamodb_table
        self._stack = AsyncExitStack()
        self._table: Any = None
        self._resource: Any = None

    async def start(self) -> None:
        session = aws_session(self._settings)
        self._resource = await self._stack.enter_async_context(session.resource(
            "dynamodb", endpoint_url=self._settings.dynamodb_endpoint_url,
            config=client_config(self._settings)))
        self._table = await self._resource.Table(self.table_name)

    async def close(self) -> None:
        await self._stack.aclose()

    async def ensure_table(self) -> None:
        client = self._resource.meta.client
        try:
            await client.describe_table(TableName=self.table_name)
        except ClientError:
            await client.create_table(
                TableName=self.table_name,
                KeySchema=[{"AttributeName": "case_id", "KeyType": "HASH"},
                           {"AttributeName": "model_version", "KeyType": "RANGE"}],
                AttributeDefinitions=[{"AttributeName": "case_id", "AttributeType": "S"},
                                      {"AttributeName": "model_version", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST")
            await client.get_waiter("table_exists").wait(TableName=self.table_name)

    async def put(self, record: dict[str, Any]) -> None:
        try:
            await self._table.put_item(Item=_to_dynamo(record))
        except (BotoCoreError, ClientError, OSError) as e:
            raise DependencyUnavailable("dynamodb", str(e)) from e

    async def get(self, case_id: str, model_version: str) -> dict[str, Any] | None:
        try:
            resp = await self._table.get_item(
                Key={"case_id": case_id, "model_version": model_version})
        except (BotoCoreError, ClientError, OSError) as e:
            raise DependencyUnavailable("dynamodb", str(e)) from e
        item = resp.get("Item")
        return _from_dynamo(item) if item else None

    async def for_case(self, case_id: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key  # boto3 itself: only this query needs it

        try:
            resp = await self._table.query(KeyConditionExpression=Key("case_id").eq(case_id))
        except (BotoCoreError, ClientError, OSError) as e:
            raise DependencyUnavailable("dynamodb", str(e)) from e
        return [_from_dynamo(i) for i in resp.get("Items", [])]

    async def ping(self) -> None:
        try:
            await self._resource.meta.client.describe_table(TableName=self.table_name)
        except (BotoCoreError, ClientError, OSError) as e:
            raise DependencyUnavailable("dynamodb", str(e)) from e
