"""Speech synthesis for the development corpus (espeak-ng, flite, festival).

Runs the Debian synthesizers listed in ``amd/DEBIAN_PACKAGES`` as subprocesses
and returns float audio at 16 kHz, trimmed of leading/trailing silence.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from amd.audio import resample

RATE = 16000

ESPEAK_VARIANTS = [
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "klatt",
    "klatt2",
    "klatt3",
    "klatt4",
    "Adam",
    "Alicia",
    "Andy",
    "Annie",
    "Auntie",
    "Benjamin",
    "Caleb",
    "David",
    "Ed",
    "Edward",
    "Gene",
    "John",
    "Lee",
    "Linda",
    "Michael",
    "Mike",
    "Paul",
    "Rob",
    "Robert",
    "Steph",
    "Storm",
    "Zac",
    "anika",
    "grandma",
    "grandpa",
    "male2",
    "male3",
    "female2",
    "female3",
    "travis",
    "victor",
    "shelby",
]


@dataclass(frozen=True, slots=True)
class Voice:
    """One synthesizer voice with its prosody settings."""

    engine: str  # "espeak" | "flite" | "festival"
    name: str  # espeak: "lang+variant"; flite: voice; festival: voice
    speed: float = 1.0  # 1.0 = engine default speaking rate
    pitch: int = 50  # espeak 0..99

    @property
    def lang(self) -> str:
        """Language code (for picking texts)."""
        return self.name.split("+")[0] if self.engine == "espeak" else "en"

    @property
    def label(self) -> str:
        """Short id for metadata."""
        return f"{self.engine}:{self.name}:s{self.speed:.2f}:p{self.pitch}"


def synth(voice: Voice, text: str) -> np.ndarray:
    """Synthesize ``text``; float32 mono at 16 kHz, silence trimmed."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tts.wav"
        if voice.engine == "espeak":
            wpm = str(int(165 * voice.speed))
            cmd = ["espeak-ng", "-v", voice.name, "-s", wpm, "-p", str(voice.pitch)]
            subprocess.run([*cmd, "-w", str(out), text], check=True, capture_output=True)
        elif voice.engine == "flite":
            stretch = f"duration_stretch={1.0 / voice.speed:.3f}"
            cmd = ["flite", "-voice", voice.name, "--setf", stretch, "-t", text, "-o", str(out)]
            subprocess.run(cmd, check=True, capture_output=True)
        elif voice.engine == "festival":
            cmd = ["text2wave", "-o", str(out)]
            subprocess.run(cmd, input=text.encode(), check=True, capture_output=True)
        else:
            raise ValueError(f"unknown TTS engine {voice.engine!r}")
        data, rate = sf.read(str(out), dtype="float32", always_2d=True)
    x = resample(data[:, 0].astype(np.float64), int(rate), RATE)
    return trim(x).astype(np.float32)


def trim(x: np.ndarray, rel_db: float = -40.0) -> np.ndarray:
    """Cut leading/trailing samples quieter than ``rel_db`` below the 10 ms peak envelope."""
    n = RATE // 100
    frames = x[: x.size // n * n].reshape(-1, n)
    env = np.sqrt((frames**2).mean(axis=1) + 1e-12)
    loud = np.nonzero(env >= env.max() * 10 ** (rel_db / 20))[0]
    if loud.size == 0:
        return x
    return x[loud[0] * n : (loud[-1] + 1) * n]
