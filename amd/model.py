"""The small logistic-regression model that scores the greeting at the first pause.

Weights live in ``amd/model.json`` and are written by :mod:`amd.train` from the
corpus train split only.  Runtime needs numpy only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from amd.timing import Timing

MODEL_PATH = Path(__file__).with_name("model.json")

TIMING_NAMES = (
    "log_span",
    "log_first_utt",
    "speech_fraction",
    "log_segments",
    "log_longest",
    "first_speech_s",
    "resumed",
)


def timing_vector(tm: Timing) -> dict[str, float]:
    """Model inputs derived from the timing features."""
    span = tm.span_ms
    return {
        "log_span": math.log(span / 1000.0 + 0.05),
        "log_first_utt": math.log(tm.first_utt_ms / 1000.0 + 0.05),
        "speech_fraction": min(tm.speech_ms / max(span, 1), 1.0),
        "log_segments": math.log1p(tm.seg_count),
        "log_longest": math.log(tm.longest_seg_ms / 1000.0 + 0.05),
        "first_speech_s": min(max(tm.first_speech_ms, 0) / 1000.0, 5.0),
        "resumed": 1.0 if tm.resume_ms >= 0 else 0.0,
    }


@dataclass(frozen=True)
class Model:
    """Standardised logistic regression plus the trained decision thresholds."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float
    bias: float = 0.0  # added to the logit; chosen in training for the human-as-machine target
    long_ms: int = 3000
    gap_ms: int = 750
    long_strong: float = 0.0  # LONGGREETING needs this foreground fraction of the span
    meta: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def uses_spectral(self) -> bool:
        """True when any input is a spectral feature."""
        return any(f.startswith("spec_") for f in self.features)

    def logit(self, inputs: dict[str, float], extra_bias: float = 0.0) -> float:
        """Machine log-odds (positive means MACHINE)."""
        z = self.intercept + self.bias + extra_bias
        for name, mu, sd, w in zip(self.features, self.mean, self.scale, self.weights, strict=True):
            z += w * (inputs.get(name, 0.0) - mu) / sd
        return z

    def to_json(self) -> str:
        """Serialise to the ``model.json`` format."""
        d = {
            "features": list(self.features),
            "mean": [round(v, 6) for v in self.mean],
            "scale": [round(v, 6) for v in self.scale],
            "weights": [round(v, 6) for v in self.weights],
            "intercept": round(self.intercept, 6),
            "bias": round(self.bias, 6),
            "long_ms": self.long_ms,
            "gap_ms": self.gap_ms,
            "long_strong": self.long_strong,
            "meta": self.meta,
        }
        return json.dumps(d, indent=2) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> Model:
        """Build from a parsed ``model.json``."""

        def floats(key: str) -> tuple[float, ...]:
            val = d[key]
            assert isinstance(val, list)
            return tuple(float(v) for v in val)

        feats = d["features"]
        assert isinstance(feats, list)
        return cls(
            features=tuple(str(f) for f in feats),
            mean=floats("mean"),
            scale=floats("scale"),
            weights=floats("weights"),
            intercept=float(d["intercept"]),  # type: ignore[arg-type]
            bias=float(d.get("bias", 0.0)),  # type: ignore[arg-type]
            long_ms=int(d.get("long_ms", 3000)),  # type: ignore[call-overload]
            gap_ms=int(d.get("gap_ms", 750)),  # type: ignore[call-overload]
            long_strong=float(d.get("long_strong", 0.0)),  # type: ignore[arg-type]
            meta=dict(d.get("meta", {})),  # type: ignore[call-overload]
        )


def default_model() -> Model:
    """A hand-set timing-only model used before training (and as a fallback)."""
    return Model(
        features=("log_span",),
        mean=(0.0,),
        scale=(1.0,),
        weights=(4.0,),
        intercept=-4.0 * math.log(2.2),  # MACHINE when the greeting spans > ~2.15 s
    )


def load_model(path: Path | None = None) -> Model:
    """Load ``amd/model.json`` (or ``path``); fall back to :func:`default_model`."""
    p = path or MODEL_PATH
    if not p.exists():
        return default_model()
    return Model.from_dict(json.loads(p.read_text()))
