"""The load test's report (bench/load_test.py): per route count, req/s and p50/p95/p99, the
errors, and PASS/FAIL against the read budget, printed as a Markdown table and returned for
--json."""

from __future__ import annotations

import math
from typing import Any

from bench.load_users import Stats

READ_P95_BUDGET_MS = 200.0


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of unsorted values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def report(
    stats: Stats,
    elapsed: float,
    load: dict[str, tuple[float, float, float]],
    cpu: dict[str, float],
    args: Any,
    mode: str,
) -> dict[str, Any]:
    routes: list[dict[str, Any]] = []
    for route in sorted(stats.latencies):
        lat = stats.latencies[route]
        routes.append(
            {
                "route": route,
                "count": len(lat),
                "rps": len(lat) / elapsed,
                "p50_ms": percentile(lat, 50),
                "p95_ms": percentile(lat, 95),
                "p99_ms": percentile(lat, 99),
                "errors": stats.errors[route],
            }
        )
    total = sum(r["count"] for r in routes)
    errors = sum(stats.errors.values())
    reads = [ms for route, lat in stats.latencies.items() if route.startswith("GET") for ms in lat]
    read_p95 = percentile(reads, 95) if reads else float("nan")
    passed = errors == 0 and read_p95 < READ_P95_BUDGET_MS
    print(f"\n### {mode}: {args.users} users, {args.duration:.0f} s, think {args.think} s\n")
    print("| endpoint | count | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in routes:
        print(
            f"| `{r['route']}` | {r['count']} | {r['rps']:.1f} | {r['p50_ms']:.1f} | "
            f"{r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} |"
        )
    print(f"| **all** | {total} | {total / elapsed:.1f} | | | | {errors} |")
    print(
        f"\noverall {total / elapsed:.1f} req/s over {elapsed:.1f} s; error rate "
        f"{errors / max(total, 1):.2%}; read p95 {read_p95:.1f} ms (budget < "
        f"{READ_P95_BUDGET_MS:.0f} ms): {'PASS' if passed else 'FAIL'}"
    )
    print(
        "load average (1/5/15 min): start "
        + " / ".join(f"{x:.2f}" for x in load["start"])
        + ", end "
        + " / ".join(f"{x:.2f}" for x in load["end"])
    )
    if cpu:
        print("CPU seconds during the run: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))
    for route, sample in stats.samples.items():
        print(f"first error on {route}: {sample}")
    return {
        "mode": mode,
        "users": args.users,
        "duration_s": args.duration,
        "think_s": args.think,
        "elapsed_s": elapsed,
        "routes": routes,
        "requests": total,
        "rps": total / elapsed,
        "errors": errors,
        "error_rate": errors / max(total, 1),
        "read_p95_ms": read_p95,
        "pass": passed,
        "loadavg": load,
        "cpu_s": cpu,
        "error_samples": stats.samples,
    }
