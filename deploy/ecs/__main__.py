"""``python -m deploy.ecs [repositories|create|update] --config FILE [--dry-run]``."""

from __future__ import annotations

import argparse
import sys

from deploy import config as config_mod
from deploy.ecs import STAGES, build_plan
from deploy.plan import execute, to_jsonl


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m deploy.ecs",
        description=sys.modules["deploy.ecs"].__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("stage", nargs="?", default="create", choices=STAGES)
    p.add_argument("--config", required=True, help="deployment config (.yaml/.yml/.json)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print every AWS call as a JSON line and call nothing",
    )
    args = p.parse_args(argv)
    try:
        cfg = config_mod.load(args.config)
    except config_mod.ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    steps = build_plan(cfg, args.stage)
    if args.dry_run:
        sys.stdout.write(to_jsonl(steps))
        return 0
    import boto3

    session = boto3.session.Session(region_name=cfg.region)
    results = execute(steps, session, log=lambda line: print(line, file=sys.stderr))
    alb = results.get("alb", {})
    if alb.get("dns"):
        print(f"load balancer: {alb['dns']} (point {cfg.public_url} at it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
