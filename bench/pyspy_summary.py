"""Summarise a py-spy raw profile (``py-spy record --format raw``): where the samples go.

Prints the share of samples on the event loop thread and on worker threads, the
project function that owns each sample (the innermost frame of ours on its stack: the
library work it caused is charged to it), then the top functions and modules by exclusive (the sample's leaf frame) and inclusive (anywhere
on the stack, once per sample) share. A module is a file's path with the site-packages
or standard-library prefix stripped: ``controlplane/calls/service.py``, ``sqlalchemy``,
``asyncio``…; a third-party package is folded into its top-level name.

Usage: python bench/pyspy_summary.py PROFILE.txt [--top 30] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
OWN = ("controlplane/", "dialplan/", "amd/", "ivr_flows/", "web/")


def module_of(path: str) -> str:
    """``controlplane/calls/service.py`` for the project's files; the package for the rest."""
    for own in OWN:
        if (i := path.find(own)) >= 0:
            return path[i:]
    if path.startswith("<frozen"):
        return "importlib"
    top = path.split("/", 1)[0]
    return top.removesuffix(".py")


def parse(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    """Each line: frames (root first, ``;``-separated) and a count."""
    out: list[tuple[list[tuple[str, str]], int]] = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for raw in stack.split(";"):
            m = FRAME.match(raw)
            func, file = (m.group("func"), m.group("file")) if m else (raw, "?")
            frames.append((func, file))
        out.append((frames, int(count)))
    return out


def summarise(stacks: list[tuple[list[tuple[str, str]], int]], top: int) -> dict[str, Any]:
    total = sum(n for _, n in stacks) or 1
    excl_f: Counter[str] = Counter()
    incl_f: Counter[str] = Counter()
    excl_m: Counter[str] = Counter()
    incl_m: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    owner: Counter[str] = Counter()
    for frames, n in stacks:
        # the innermost project frame owns the library work below it (records.save owns
        # the SQLAlchemy flush it causes); samples with none are the loop's or a library's
        own = [f"{fn} ({module_of(fl)})" for fn, fl in frames if module_of(fl).startswith(OWN)]
        owner[own[-1] if own else f"(no project frame: {module_of(frames[-1][1])})"] += n
        threads["worker threads" if frames and frames[0][0].startswith("Thread._bootstrap")
                else "event loop (main thread)"] += n
        func, file = frames[-1]
        excl_f[f"{func} ({module_of(file)})"] += n
        excl_m[module_of(file)] += n
        for name in {f"{fn} ({module_of(fl)})" for fn, fl in frames}:
            incl_f[name] += n
        for mod in {module_of(fl) for _, fl in frames}:
            incl_m[mod] += n

    def ranked(c: Counter[str]) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in c.most_common(top)]

    return {"samples": total, "threads": ranked(threads), "project_owner": ranked(owner),
            "modules_exclusive": ranked(excl_m), "modules_inclusive": ranked(incl_m),
            "functions_exclusive": ranked(excl_f), "functions_inclusive": ranked(incl_f)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = summarise(parse(args.profile), args.top)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{args.profile}: {result['samples']} samples")
    for key in ("threads", "project_owner", "modules_exclusive", "modules_inclusive", "functions_exclusive",
                "functions_inclusive"):
        print(f"\n{key.replace('_', ' ')} (% of samples)")
        for name, share in result[key]:
            print(f"{share:6.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
