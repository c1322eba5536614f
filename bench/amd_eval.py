"""Benchmark wrapper: evaluate both AMD detectors on the held-out corpus split.

Usage: ``.venv/bin/python bench/amd_eval.py [CORPUS_DIR]`` (default
``.cache/amd-corpus``; build it with ``python -m amd corpus .cache/amd-corpus``).
Prints the text report and the JSON line for the ``test`` split.
"""

from __future__ import annotations

import sys
from pathlib import Path

from amd import evaluate


def main(argv: list[str]) -> int:
    """Run the evaluation on ``CORPUS_DIR/test``."""
    root = Path(argv[1] if len(argv) > 1 else ".cache/amd-corpus") / "test"
    results = evaluate.run(root)
    print(evaluate.report(root, results))
    print(evaluate.as_json(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
