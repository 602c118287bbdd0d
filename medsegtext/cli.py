"""`medsegtext` console command: one entry point, each subcommand imports its own code lazily so
`predict` never loads torch and `train` never loads the web stack."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _train(args: argparse.Namespace) -> int:
    import json

    from training.train import TrainConfig, train

    cfg = TrainConfig(
        data=args.data, out=args.out, csv=args.csv, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, seed=args.seed, device=args.device,
        time_budget_s=args.time_budget, limit=args.limit, max_steps=args.max_steps,
        init_from=args.init_from, threads=args.threads,
    )
    print(json.dumps(train(cfg)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="medsegtext", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train the segmentation and findings model (needs torch)")
    t.add_argument("--data", default="../shared/data/qata-cov19",
                   help="QaTa-layout folder (annotations.csv, images/, masks/)")
    t.add_argument("--csv", default=None, help="CSV inside --data (LViT: Train_text.csv)")
    t.add_argument("--out", default="runs/default", help="run folder: checkpoints, metrics")
    t.add_argument("--epochs", type=int, default=40)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="auto, cpu or cuda")
    t.add_argument("--time-budget", type=float, default=None, help="seconds of training")
    t.add_argument("--limit", type=int, default=None, help="first N images per split")
    t.add_argument("--max-steps", type=int, default=None)
    t.add_argument("--init-from", default=None, help="checkpoint to fine-tune from")
    t.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    t.set_defaults(func=_train)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
