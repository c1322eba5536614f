"""``centrala amd ...`` sub-commands: ``eval DIR [--json]``, ``corpus OUT_DIR [--seed N]``, ``train``.

The lead wires :func:`register` into the ``centrala`` CLI; ``python -m amd``
exposes the same sub-commands directly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add the ``amd`` command (with its own sub-commands) to ``subparsers``."""
    parser = subparsers.add_parser("amd", help="answering-machine detection tools")
    add_commands(parser)
    return parser


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add ``eval``, ``corpus`` and ``train`` to ``parser``."""
    sub = parser.add_subparsers(dest="amd_command", required=True)
    ev = sub.add_parser("eval", help="evaluate centrala AMD and the app_amd baseline on DIR")
    ev.add_argument("dir", type=Path, help="folder with human/ and machine/ WAV files")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--bias", type=float, default=0.0, help="extra machine bias (log-odds)")
    ev.set_defaults(amd_func=_eval)
    co = sub.add_parser("corpus", help="build the synthetic development corpus in OUT_DIR")
    co.add_argument("out_dir", type=Path)
    co.add_argument("--seed", type=int, default=1)
    co.add_argument("--per-class", type=int, default=None, help="files per class and split")
    co.add_argument(
        "--splits", default=None, help="comma-separated splits (default: all, see amd.corpus)"
    )
    co.set_defaults(amd_func=_corpus)
    tr = sub.add_parser("train", help="fit amd/model.json on CORPUS/train")
    tr.add_argument("corpus_dir", type=Path)
    tr.add_argument("--out", type=Path, default=None, help="model path (default amd/model.json)")
    tr.add_argument("--target-ham", type=float, default=0.01, help="max human-as-machine on train")
    tr.add_argument(
        "--spectral", action="store_true", help="add spectral features (default: timing only)"
    )
    tr.set_defaults(amd_func=_train)


def run(args: argparse.Namespace) -> int:
    """Dispatch parsed arguments; returns a process exit code."""
    return int(args.amd_func(args))


def _eval(args: argparse.Namespace) -> int:
    from amd import evaluate
    from amd.detector import DetectorConfig

    if not args.dir.is_dir():
        print(f"amd eval: {args.dir} is not a directory", file=sys.stderr)
        return 2
    try:
        results = evaluate.run(args.dir, DetectorConfig(machine_bias=args.bias))
    except FileNotFoundError as err:
        print(f"amd eval: {err}", file=sys.stderr)
        return 2
    print(evaluate.as_json(results) if args.json else evaluate.report(args.dir, results))
    return 0


def _corpus(args: argparse.Namespace) -> int:
    from amd.corpus import build

    splits = tuple(args.splits.split(",")) if args.splits else None
    counts = build(args.out_dir, seed=args.seed, per_class=args.per_class, splits=splits)
    print(" ".join(f"{k}={v}" for k, v in counts.items()), "files written to", args.out_dir)
    return 0


def _train(args: argparse.Namespace) -> int:
    from amd.train import ALL_FEATURES, FEATURES, train

    roots = [args.corpus_dir / s for s in ("train", "xtrain") if (args.corpus_dir / s).is_dir()]
    features = ALL_FEATURES if args.spectral else FEATURES
    model = train(roots, out=args.out, target_ham=args.target_ham, features=features)
    print(model.to_json())
    return 0
