"""`medsegtext` console command: one entry point, each subcommand imports its own code lazily so
`predict` never loads torch and `train` never loads the web stack."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from backend.platform.version import app_version


def _train(args: argparse.Namespace) -> int:
    import json

    from training.train import TrainConfig, train

    cfg = TrainConfig(
        data=args.data,
        out=args.out,
        csv=args.csv,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
        time_budget_s=args.time_budget,
        limit=args.limit,
        max_steps=args.max_steps,
        init_from=args.init_from,
        threads=args.threads,
    )
    if args.widths:
        cfg.widths = tuple(int(w) for w in args.widths.split(","))
    print(json.dumps(train(cfg)))
    return 0


def _predict(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from inference.errors import InputError
    from inference.pipeline import Predictor
    from inference.session import ModelError

    try:
        predictor = Predictor(args.model, device=args.device)
    except ModelError as e:
        print(json.dumps({"error": str(e)}), flush=True)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for name in args.paths:
        path = Path(name)
        try:
            data = path.read_bytes()
            result = predictor.predict(data)
        except (OSError, InputError) as e:
            failed += 1
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            print(json.dumps({"input": name, "error": f"{name}: {reason}"}), flush=True)
            continue
        if result.in_scope:  # out of scope: the reason is printed, and there is no mask
            (out / f"{path.stem}.mask.png").write_bytes(result.mask_png)
            (out / f"{path.stem}.overlay.png").write_bytes(result.overlay_png)
        print(json.dumps({"input": name, **result.summary().to_dict()}), flush=True)
    return 1 if failed else 0


def _evaluate(args: argparse.Namespace) -> int:
    import json

    from training.evaluate import evaluate

    out = evaluate(args.data, args.split, args.model, args.limit, args.csv)
    if args.negatives:
        from training.population_eval import evaluate_populations

        out["populations"] = evaluate_populations(
            args.data, args.negatives, args.model, args.split, args.limit
        )
    print(json.dumps(out, indent=2))
    return 0


def _export(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from training.export import export

    m = export(
        args.checkpoint,
        args.out,
        args.data,
        args.name,
        args.version,
        None if args.no_evaluate else "valid",
    )
    print(json.dumps(asdict(m), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="medsegtext", description=__doc__)
    p.add_argument("--version", action="version", version=f"%(prog)s {app_version()}")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "users",
        help="manage accounts: users create --email E --role R; users set-password --email E",
        add_help=False,
    )
    sub.add_parser(
        "deidentify-stored",
        add_help=False,
        help="once after upgrading: de-identify DICOM films stored before [--dry-run]",
    )

    pr = sub.add_parser("predict", help="segment chest X-rays and write findings")
    pr.add_argument("paths", nargs="+", metavar="PATH", help="PNG, JPEG or DICOM files")
    pr.add_argument("--out", required=True, help="folder for <stem>.mask.png and .overlay.png")
    pr.add_argument("--model", default=None, help="ONNX file (its manifest lies beside it)")
    pr.add_argument("--device", default="auto", help="auto, cpu or cuda")
    pr.set_defaults(func=_predict)

    ev = sub.add_parser("evaluate", help="score the model on a QaTa-layout split")
    ev.add_argument("--data", default="../shared/data/qata-cov19")
    ev.add_argument("--split", default="valid")
    ev.add_argument("--csv", default=None)
    ev.add_argument("--model", default=None)
    ev.add_argument("--limit", type=int, default=None)
    ev.add_argument(
        "--negatives",
        default=None,
        help="cxr-negatives folder: also score issue 13's targets per source and "
        "population (normal, pneumonia, tuberculosis; adult, pediatric)",
    )
    ev.set_defaults(func=_evaluate)

    ex = sub.add_parser("export", help="checkpoint -> ONNX + manifest (needs torch)")
    ex.add_argument("checkpoint", help="a best.pt from `medsegtext train`")
    ex.add_argument("--out", default="models/medsegtext-segfind.onnx")
    ex.add_argument("--data", default="../shared/data/qata-cov19")
    ex.add_argument("--name", default="medsegtext-segfind")
    ex.add_argument("--version", required=True, help="the model version, e.g. 1.2.0")
    ex.add_argument("--no-evaluate", action="store_true", help="skip scoring on valid")
    ex.set_defaults(func=_export)

    t = sub.add_parser("train", help="train the segmentation and findings model (needs torch)")
    t.add_argument(
        "--data",
        default="../shared/data/qata-cov19",
        help="QaTa-layout folder (annotations.csv, images/, masks/)",
    )
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
    t.add_argument(
        "--widths", default=None, help="channels per UNet level (default 16,32,64,128,256)"
    )
    t.set_defaults(func=_train)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["users"], ["deidentify-stored"]):  # backend administration
        from backend.cli import main as backend_main

        return backend_main(argv)
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
