"""Publish the inference queue's depth to CloudWatch, the metric the workers scale on.

``publish_queue_depth(depth, cloudwatch_client, namespace)`` puts one ``QueueDepth`` datum (the
images waiting in arq's queue, not counting those a worker is running). ``python -m
deploy.metrics`` runs it in a loop, reading the depth from Redis (``REDIS_URL``) every
``--interval`` seconds; in ECS it is the ``queue-metrics`` service (one small task whose role may
only put metrics in this namespace). Several publishers are harmless: the scaling policies read
the metric's Maximum.

Environment: ``REDIS_URL``, ``AWS_REGION``, ``MEDSEGTEXT_METRICS_NAMESPACE`` (default
``MedSegText``), ``MEDSEGTEXT_METRICS_DEPLOYMENT`` (the ``Deployment`` dimension, default
``medsegtext``).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from datetime import UTC, datetime
from typing import Any

NAMESPACE = "MedSegText"
METRIC_NAME = "QueueDepth"
DIMENSION = "Deployment"
QUEUE_KEY = "arq:queue"  # arq's default queue: a sorted set of queued job ids

log = logging.getLogger("medsegtext.metrics")


def dimensions(deployment: str) -> list[dict[str, str]]:
    return [{"Name": DIMENSION, "Value": deployment}]


def queue_depth_params(
    depth: int,
    namespace: str = NAMESPACE,
    deployment: str = "medsegtext",
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """The PutMetricData request for one reading."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"queue depth must be a non-negative integer, not {depth!r}")
    return {
        "Namespace": namespace,
        "MetricData": [
            {
                "MetricName": METRIC_NAME,
                "Dimensions": dimensions(deployment),
                "Timestamp": timestamp or datetime.now(UTC),
                "Value": float(depth),
                "Unit": "Count",
                "StorageResolution": 60,
            }
        ],
    }


def publish_queue_depth(
    depth: int,
    cloudwatch_client: Any,
    namespace: str = NAMESPACE,
    deployment: str = "medsegtext",
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """Put one QueueDepth datum with ``cloudwatch_client`` (a boto3 CloudWatch client); returns
    the parameters sent."""
    params = queue_depth_params(depth, namespace, deployment, timestamp)
    cloudwatch_client.put_metric_data(**params)
    return params


def read_queue_depth(redis_client: Any, key: str = QUEUE_KEY) -> int:
    """Images waiting in arq's queue (the sorted set arq enqueues into)."""
    return int(redis_client.zcard(key))


def run(
    redis_client: Any,
    cloudwatch_client: Any,
    namespace: str,
    deployment: str,
    interval_s: float,
    stop: threading.Event,
) -> int:
    """Publish every ``interval_s`` until ``stop`` is set; a failed reading is logged and
    skipped (a missing datum is what the alarm on this metric watches for). Returns the number
    of data points published."""
    published = 0
    while not stop.is_set():
        try:
            publish_queue_depth(
                read_queue_depth(redis_client), cloudwatch_client, namespace, deployment
            )
            published += 1
        except Exception as e:  # keep publishing after Redis or CloudWatch hiccups
            log.warning("queue depth not published: %s: %s", type(e).__name__, e)
        stop.wait(interval_s)
    return published


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m deploy.metrics",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--interval", type=float, default=60.0, help="seconds between readings")
    p.add_argument("--namespace", default=os.environ.get("MEDSEGTEXT_METRICS_NAMESPACE", NAMESPACE))
    p.add_argument(
        "--deployment", default=os.environ.get("MEDSEGTEXT_METRICS_DEPLOYMENT", "medsegtext")
    )
    args = p.parse_args(argv)
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        p.error("REDIS_URL is not set")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    import boto3
    import redis

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    cloudwatch = boto3.client("cloudwatch", region_name=os.environ.get("AWS_REGION"))
    log.info("publishing %s/%s every %.0f s", args.namespace, METRIC_NAME, args.interval)
    run(client, cloudwatch, args.namespace, args.deployment, args.interval, stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
