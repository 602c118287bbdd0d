"""The embedded DynamoDB's journal on disk: every acknowledged change, played back at start
and then compacted (backend.platform.aws_persist says the layout and why)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from backend.platform.aws_disk import InProcess, Restored, write_atomically

DYNAMO_ITEM_WRITES = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)


class DynamoJournal:
    """Every acknowledged DynamoDB change, in the order moto applied it."""

    def __init__(self, path: Path, moto: InProcess):
        self.path, self.moto = path, moto
        self.lock = threading.Lock()
        self._file: Any = None

    def open(self) -> None:
        self._file = open(self.path, "ab")  # noqa: SIM115 (closed in close())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def append(self, target: str, region: str, body: bytes) -> None:
        line = (
            json.dumps({"target": target, "region": region, "body": body.decode("utf-8")}).encode()
            + b"\n"
        )
        self._file.write(line)
        self._file.flush()
        os.fsync(self._file.fileno())

    def _entries(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        entries = []
        for line in self.path.read_bytes().splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:  # a torn last line: that write was never acknowledged
                break
        return entries

    def restore(self, out: Restored) -> None:
        entries = self._entries()
        for e in entries:
            self.moto.dynamodb(e["target"], e["region"], e["body"].encode())
        out.journal_entries = len(entries)
        schema = [e for e in entries if e["target"] not in DYNAMO_ITEM_WRITES]
        items = []
        for region in sorted({e["region"] for e in entries}):
            for table in self._tables(region):
                for item in self._scan(table, region):
                    items.append(
                        {
                            "target": "PutItem",
                            "region": region,
                            "body": json.dumps({"TableName": table, "Item": item}),
                        }
                    )
        out.items = len(items)
        write_atomically(self.path, [json.dumps(e).encode() + b"\n" for e in schema + items])

    def _tables(self, region: str) -> list[str]:
        return [
            str(n)
            for n in self._pages(
                "ListTables",
                region,
                {},
                "TableNames",
                "LastEvaluatedTableName",
                "ExclusiveStartTableName",
            )
        ]

    def _scan(self, table: str, region: str) -> list[dict[str, Any]]:
        return list(
            self._pages(
                "Scan",
                region,
                {"TableName": table},
                "Items",
                "LastEvaluatedKey",
                "ExclusiveStartKey",
            )
        )

    def _pages(
        self,
        target: str,
        region: str,
        request: dict[str, Any],
        items_key: str,
        next_key: str,
        start_key: str,
    ) -> list[Any]:
        """Every page of a paginated DynamoDB read, asked of moto directly."""
        out: list[Any] = []
        while True:
            status, body = self.moto.dynamodb(target, region, json.dumps(request).encode())
            if status != 200:
                raise RuntimeError(f"{target} {request} in {region}: {status} {body[:200]!r}")
            page = json.loads(body)
            out += page.get(items_key, [])
            if not page.get(next_key):
                return out
            request = {**request, start_key: page[next_key]}
