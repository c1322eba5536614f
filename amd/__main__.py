"""``python -m amd {eval,corpus,train} ...``."""

from __future__ import annotations

import argparse
import sys

from amd.cli import add_commands, run


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m amd``."""
    parser = argparse.ArgumentParser(prog="python -m amd", description="Centrala AMD tools")
    add_commands(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
