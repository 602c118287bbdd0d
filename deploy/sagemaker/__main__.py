"""``python -m deploy.sagemaker package --out DIR`` and
``python -m deploy.sagemaker deploy --config FILE --archive FILE [--update] [--dry-run]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from deploy import config as config_mod
from deploy.plan import execute, to_jsonl
from deploy.sagemaker import build_plan
from deploy.sagemaker.package import PackageError, inspect_archive, package
from inference.model_files import DEFAULT_MODEL


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m deploy.sagemaker",
        description=sys.modules["deploy.sagemaker"].__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    pk = sub.add_parser("package", help="build model.tar.gz from a model and its manifest")
    pk.add_argument("--out", required=True, help="folder to write model.tar.gz into")
    pk.add_argument(
        "--model",
        default=str(DEFAULT_MODEL),
        help="ONNX file with its manifest beside it (default: the shipped CPU model; "
        "models/medsegtext-segfind.onnx, FP32, for a GPU endpoint)",
    )
    dp = sub.add_parser("deploy", help="upload the archive and create or update the endpoint")
    dp.add_argument("--config", required=True)
    dp.add_argument("--archive", required=True, help="a model.tar.gz made by 'package'")
    dp.add_argument(
        "--update",
        action="store_true",
        help="switch an existing endpoint to this model (else create it)",
    )
    dp.add_argument(
        "--dry-run",
        action="store_true",
        help="print every AWS call as a JSON line and call nothing",
    )
    args = p.parse_args(argv)
    try:
        if args.command == "package":
            done = package(args.out, args.model)
            print(
                json.dumps(
                    {
                        "archive": str(done.path),
                        "model": done.name,
                        "version": done.version,
                        "sha256": done.sha256,
                        "members": list(done.members),
                    }
                )
            )
            return 0
        cfg = config_mod.load(args.config)
        pkg = inspect_archive(Path(args.archive))
    except (PackageError, config_mod.ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    steps = build_plan(cfg, pkg, update=args.update)
    if args.dry_run:
        sys.stdout.write(to_jsonl(steps))
        return 0
    import boto3

    execute(
        steps,
        boto3.session.Session(region_name=cfg.region),
        log=lambda line: print(line, file=sys.stderr),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
