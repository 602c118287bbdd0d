"""The fault bench's result (bench/faults.py): one row per fault (what became of the accepted
uploads, and the API's answers during the outage) and the Markdown table of them."""

from __future__ import annotations

import collections
from dataclasses import dataclass


@dataclass
class Row:
    fault: str
    accepted: int
    statuses: collections.Counter[str]
    reasons: collections.Counter[str]
    retried: int  # cases whose job needed more than one try
    lost: int
    duplicates: int
    during: collections.Counter[str]
    max_s: float
    waited_s: float


def table(rows: list[Row]) -> str:
    lines = [
        "| fault | accepted | done | failed | retried | lost | duplicates | API during the "
        "outage (requests by answer) | slowest answer | all finished after |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        during = ", ".join(f"{k}: {v}" for k, v in sorted(r.during.items()))
        lines.append(
            f"| {r.fault} | {r.accepted} | {r.statuses['done']} | "
            f"{r.statuses['failed']} | {r.retried} | {r.lost} | {r.duplicates} | "
            f"{during} | "
            f"{r.max_s:.2f} s | {r.waited_s:.0f} s |"
        )
    reasons = [f"- {r.fault}: {n} x {reason}" for r in rows for reason, n in r.reasons.items()]
    return "\n".join(lines + (["", "Failure reasons:", *reasons] if reasons else []))
