"""The queue-depth publisher, against a real boto3 CloudWatch client with botocore's Stubber
(which checks the request against the API model) — no AWS call is made."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from deploy import metrics

WHEN = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _client() -> Any:
    return boto3.client(
        "cloudwatch", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_publish_queue_depth_sends_one_valid_datum() -> None:
    client = _client()
    expected = {
        "Namespace": "MedSegText",
        "MetricData": [
            {
                "MetricName": "QueueDepth",
                "Dimensions": [{"Name": "Deployment", "Value": "prod"}],
                "Timestamp": WHEN,
                "Value": 42.0,
                "Unit": "Count",
                "StorageResolution": 60,
            }
        ],
    }
    with Stubber(client) as stub:
        stub.add_response("put_metric_data", {}, expected)
        sent = metrics.publish_queue_depth(
            42, client, "MedSegText", deployment="prod", timestamp=WHEN
        )
        stub.assert_no_pending_responses()
    assert sent == expected


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True, None])
def test_depth_must_be_a_non_negative_integer(bad: Any) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        metrics.queue_depth_params(bad)


def test_queue_key_is_the_one_arq_and_the_backend_use(root: Any) -> None:
    from arq.constants import default_queue_name

    assert default_queue_name == metrics.QUEUE_KEY
    assert f'zcard("{metrics.QUEUE_KEY}")' in (root / "backend/adapters/queue.py").read_text()


class FakeRedis:
    def __init__(self, depths: list[int | Exception]):
        self.depths = depths

    def zcard(self, key: str) -> int:
        assert key == metrics.QUEUE_KEY
        value = self.depths.pop(0)
        if isinstance(value, Exception):
            raise value
        return value


class RecordingCloudWatch:
    def __init__(self, stop: threading.Event, after: int):
        self.calls: list[dict[str, Any]] = []
        self.stop, self.after = stop, after

    def put_metric_data(self, **params: Any) -> None:
        self.calls.append(params)
        if len(self.calls) >= self.after:
            self.stop.set()


def test_run_keeps_publishing_after_a_failed_reading(caplog: pytest.LogCaptureFixture) -> None:
    stop = threading.Event()
    cloudwatch = RecordingCloudWatch(stop, after=2)
    redis = FakeRedis([3, ConnectionError("redis down"), 7])
    published = metrics.run(redis, cloudwatch, "MedSegText", "prod", 0.0, stop)
    assert published == 2
    assert [c["MetricData"][0]["Value"] for c in cloudwatch.calls] == [3.0, 7.0]
    assert "queue depth not published: ConnectionError: redis down" in caplog.text


def test_cli_refuses_to_start_without_redis_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(SystemExit) as e:
        metrics.main([])
    assert e.value.code == 2
    assert "REDIS_URL is not set" in capsys.readouterr().err
