"""DynamoDB prediction records: one item per (case, model version), so a re-run of the same job
overwrites its own record instead of adding a second one. An item is the prediction summary's
fields (inference.result) beside the record's own; records written by earlier versions, before
the presence and scope fields, read the same way."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from backend.adapters.aws import aws_session, client_config
from backend.adapters.errors import DependencyUnavailable
from backend.settings import Settings
from inference.result import PredictionSummary


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


@dataclass(frozen=True)
class PredictionRecord:
    """One model version's answer for one case, and where its image, mask and overlay are
    (the mask and overlay keys are empty when the film was out of scope)."""

    case_id: str
    model_version: str
    summary: PredictionSummary
    image_key: str = ""
    mask_key: str = ""
    overlay_key: str = ""
    created_at: str = ""
    shadow: bool = False  # a shadow version's result: stored, never shown

    def to_item(self) -> dict[str, Any]:
        item = {
            "case_id": self.case_id,
            "model_version": self.model_version,
            "model_name": self.summary.model_name,
            **self.summary.to_dict(),
            "image_key": self.image_key,
            "mask_key": self.mask_key,
            "overlay_key": self.overlay_key,
            "created_at": self.created_at,
        }
        if self.shadow:
            item["shadow"] = True
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> PredictionRecord:
        """Raises ValueError when the item is not a prediction record."""
        return cls(
            case_id=str(item["case_id"]),
            model_version=str(item["model_version"]),
            summary=PredictionSummary.from_dict(item),
            image_key=str(item.get("image_key", "")),
            mask_key=str(item.get("mask_key", "")),
            overlay_key=str(item.get("overlay_key", "")),
            created_at=str(item.get("created_at", "")),
            shadow=item.get("shadow") is True,
        )


class PredictionStore:
    def __init__(self, settings: Settings):
        self._settings = settings
        self.table_name = settings.dynamodb_table
        self._stack = AsyncExitStack()
        self._table: Any = None
        self._resource: Any = None

    async def start(self) -> None:
        session = aws_session(self._settings)
        self._resource = await self._stack.enter_async_context(
            session.resource(
                "dynamodb",
                endpoint_url=self._settings.dynamodb_endpoint_url,
                config=client_config(self._settings),
            )
        )
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
                KeySchema=[
                    {"AttributeName": "case_id", "KeyType": "HASH"},
                    {"AttributeName": "model_version", "KeyType": "RANGE"},
                ],
                AttributeDefinitions=[
                    {"AttributeName": "case_id", "AttributeType": "S"},
                    {"AttributeName": "model_version", "AttributeType": "S"},
                ],
                BillingMode="PAY_PER_REQUEST",
            )
            await client.get_waiter("table_exists").wait(TableName=self.table_name)

    async def put(self, record: PredictionRecord) -> None:
        try:
            await self._table.put_item(Item=_to_dynamo(record.to_item()))
        except (BotoCoreError, ClientError, OSError) as e:
            raise DependencyUnavailable("dynamodb", str(e)) from e

    async def get(self, case_id: str, model_version: str) -> PredictionRecord | None:
        try:
            resp = await self._table.get_item(
                Key={"case_id": case_id, "model_version": model_version}
            )
        except (BotoCoreError, ClientError, OSError) as e:
            raise DependencyUnavailable("dynamodb", str(e)) from e
        item = resp.get("Item")
        return PredictionRecord.from_item(_from_dynamo(item)) if item else None

    async def for_case(self, case_id: str) -> list[PredictionRecord]:
        from boto3.dynamodb.conditions import Key  # boto3 itself: only this query needs it

        try:
            resp = await self._table.query(KeyConditionExpression=Key("case_id").eq(case_id))
        except (BotoCoreError, ClientError, OSError) as e:
            raise DependencyUnavailable("dynamodb", str(e)) from e
        return [PredictionRecord.from_item(_from_dynamo(i)) for i in resp.get("Items", [])]

    async def ping(self) -> None:
        try:
            await self._resource.meta.client.describe_table(TableName=self.table_name)
        except (BotoCoreError, ClientError, OSError) as e:
            raise DependencyUnavailable("dynamodb", str(e)) from e
