"""Offline evaluation of the detectors on a folder of labelled WAV files.

``DIR`` holds ``human/`` and ``machine/`` sub-folders of WAV files (any rate).
Each file is streamed frame by frame (20 ms, no look-ahead) into a fresh
detector exactly as live audio would arrive, until the detector decides or the
file ends (then ``finish()`` is called, as on a hangup).

* ours (``centrala``) gets 8 kHz files at 8 kHz and anything else at 16 kHz;
* the ``app_amd`` baseline always gets 8 kHz slin, as Asterisk reads it.

Metrics (fractions in [0, 1], times in ms from the start of the file):

* ``accuracy``: HUMAN on human files plus MACHINE on machine files, over all
  files. **NOTSURE is never correct.**
* ``human_as_machine``: MACHINE verdicts on human files / human files.  A dialer
  treats NOTSURE as human, so only MACHINE verdicts count here.
* ``machine_as_human``: HUMAN verdicts on machine files / machine files
  (NOTSURE is reported separately, not counted here).
* ``notsure``: NOTSURE verdicts / all files.
* ``decision_ms_p50`` / ``decision_ms_p90``: percentiles of the decision time.
* ``rtf``: processing time / duration of the audio fed (until the decision);
  librosa is warmed up once before timing, as a long-running server would.
* ``files``: number of files.

When ``DIR/meta.jsonl`` (written by :mod:`amd.corpus`) is present, the text
report also gives the HUMAN decision latency after the ground-truth end of the
first utterance on correctly classified human files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from amd.app_amd import AppAmdDetector
from amd.audio import frame_bytes, read_wav
from amd.detector import DetectorConfig, StreamingDetector
from amd.spectral import warm_up
from amd.verdict import Label, Verdict

KEYS = (
    "accuracy",
    "human_as_machine",
    "machine_as_human",
    "notsure",
    "decision_ms_p50",
    "decision_ms_p90",
    "rtf",
    "files",
)


@dataclass(frozen=True, slots=True)
class Result:
    """One file through one detector."""

    path: Path
    truth: str  # "human" | "machine"
    verdict: Verdict
    cpu_s: float
    audio_s: float


class _Feeder:
    """Anything with ``feed(bytes) -> Verdict | None`` and ``finish() -> Verdict``."""

    def feed(self, frame: bytes) -> Verdict | None:  # pragma: no cover - protocol
        raise NotImplementedError

    def finish(self) -> Verdict:  # pragma: no cover - protocol
        raise NotImplementedError


def stream(
    detector: _Feeder | StreamingDetector | AppAmdDetector, pcm: bytes, rate: int
) -> tuple[Verdict, float, float]:
    """Feed ``pcm`` in 20 ms frames; return ``(verdict, cpu seconds, audio seconds fed)``."""
    n = frame_bytes(rate)
    fed = 0
    verdict: Verdict | None = None
    t0 = time.perf_counter()
    for start in range(0, len(pcm) - n + 1, n):
        fed += n
        verdict = detector.feed(pcm[start : start + n])
        if verdict is not None:
            break
    if verdict is None:
        verdict = detector.finish()
    cpu = time.perf_counter() - t0
    return verdict, cpu, fed / 2 / rate


def list_files(root: Path) -> list[tuple[Path, str]]:
    """``(path, truth)`` for every WAV under ``root/human`` and ``root/machine``."""
    out = []
    for truth in ("human", "machine"):
        folder = root / truth
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is missing: DIR must hold human/ and machine/")
        out += [(p, truth) for p in sorted(folder.glob("*.wav"))]
    return out


def run(root: Path, config: DetectorConfig | None = None) -> dict[str, list[Result]]:
    """Evaluate both detectors on ``root``; returns per-detector results."""
    results: dict[str, list[Result]] = {"centrala": [], "app_amd": []}
    warm_up()  # librosa's one-off import cost belongs to process start-up, not to a call

    def ours(r: int) -> _Feeder | StreamingDetector:
        return StreamingDetector(r, config)

    for path, truth in list_files(root):
        src_rate = sf.info(str(path)).samplerate
        rate = 8000 if src_rate <= 8000 else 16000
        pcm = read_wav(path, rate).astype("<i2").tobytes()
        v, cpu, fed = stream(ours(rate), pcm, rate)
        results["centrala"].append(Result(path, truth, v, cpu, fed))
        pcm8 = pcm if rate == 8000 else read_wav(path, 8000).astype("<i2").tobytes()
        v, cpu, fed = stream(AppAmdDetector(8000), pcm8, 8000)
        results["app_amd"].append(Result(path, truth, v, cpu, fed))
    return results


def summarize(results: Iterable[Result]) -> dict[str, float | int]:
    """The metrics defined in the module docstring."""
    rs = list(results)
    humans = [r for r in rs if r.truth == "human"]
    machines = [r for r in rs if r.truth == "machine"]
    correct = sum(r.verdict.label.value.lower() == r.truth for r in rs)
    times = np.array([r.verdict.decision_ms for r in rs], dtype=float) if rs else np.zeros(1)

    def frac(num: int, den: int) -> float:
        return round(num / den, 4) if den else 0.0

    return {
        "accuracy": frac(correct, len(rs)),
        "human_as_machine": frac(
            sum(r.verdict.label is Label.MACHINE for r in humans), len(humans)
        ),
        "machine_as_human": frac(
            sum(r.verdict.label is Label.HUMAN for r in machines), len(machines)
        ),
        "notsure": frac(sum(r.verdict.label is Label.NOTSURE for r in rs), len(rs)),
        "decision_ms_p50": round(float(np.percentile(times, 50)), 1),
        "decision_ms_p90": round(float(np.percentile(times, 90)), 1),
        "rtf": round(sum(r.cpu_s for r in rs) / max(sum(r.audio_s for r in rs), 1e-9), 5),
        "files": len(rs),
    }


def human_latency(root: Path, results: Iterable[Result]) -> dict[str, float] | None:
    """p50/p90 of (decision − ground-truth first-utterance end) on correct HUMAN files."""
    meta_path = root / "meta.jsonl"
    if not meta_path.exists():
        return None
    ends = {}
    for line in meta_path.read_text().splitlines():
        row = json.loads(line)
        ends[row["file"]] = row.get("first_utt_end_ms")
    lat = []
    for r in results:
        key = f"{r.truth}/{r.path.name}"
        if r.truth == "human" and r.verdict.label is Label.HUMAN and ends.get(key) is not None:
            lat.append(r.verdict.decision_ms - float(ends[key]))
    if not lat:
        return None
    arr = np.array(lat)
    return {
        "p50": float(np.percentile(arr, 50)),
        "p90": float(np.percentile(arr, 90)),
        "n": len(lat),
    }


def report(root: Path, results: dict[str, list[Result]]) -> str:
    """Human-readable table of both detectors."""
    lines = [f"{'detector':<10}" + "".join(f"{k:>18}" for k in KEYS)]
    for name, rs in results.items():
        s = summarize(rs)
        lines.append(f"{name:<10}" + "".join(f"{s[k]:>18}" for k in KEYS))
    for name, rs in results.items():
        lat = human_latency(root, rs)
        if lat:
            lines.append(
                f"{name}: HUMAN decision after first-utterance end: p50 {lat['p50']:.0f} ms, "
                f"p90 {lat['p90']:.0f} ms (n={lat['n']})"
            )
    return "\n".join(lines)


def as_json(results: dict[str, list[Result]]) -> str:
    """The single JSON object ``{"centrala": {...}, "app_amd": {...}}``."""
    return json.dumps({name: summarize(rs) for name, rs in results.items()})
