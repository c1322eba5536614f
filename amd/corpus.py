"""Rebuildable development corpus: synthetic human answers and machine greetings.

``python -m amd corpus OUT_DIR [--seed N]`` writes three splits::

    OUT_DIR/{train,dev,test}/{human,machine}/*.wav  +  meta.jsonl per split

* **train** and **dev** use one set of voices and the even half of every text
  pool; **test** (held out, never tuned on) uses disjoint voices — other
  espeak-ng languages/variants plus flite and festival voices — and the odd
  half of the texts.  Each split has its own random stream; everything is
  deterministic from ``--seed``.
* Humans: "hello?" then silence, a second "hello?", "yes, Kowalski speaking",
  line noise, babble and TV (babble + music) in the background.
* Machines: short and long greetings, with or without a beep, music under or
  before the voice, carrier messages preceded by SIT.
* Everything: random level, random leading silence, ringback tail before the
  answer (ring-off), random call end, telephone band-pass, G.711 µ-law/A-law
  round trips, written at 8, 16 or 11.025 kHz.
* **xtrain** / **xdev** (train/dev voices and texts, for training and tuning
  only) are harder: background behind most humans (babble of 2–7 talkers,
  TV, stationary fan/hum noise) down to 6 dB SNR, quieter speakers, longer
  leading silences and pauses before a second "hello?", and stationary noise
  behind some machine greetings too (so noise alone does not mean HUMAN).
  The test split is generated exactly as before (its random stream is
  untouched by these options).

``meta.jsonl`` keeps the ground-truth end of the first utterance
(``first_utt_end_ms``) used to measure the HUMAN decision latency.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, sosfilt

from amd import corpus_text as ct
from amd import g711
from amd.audio import resample, to_int16
from amd.tts import ESPEAK_VARIANTS, RATE, Voice, synth

SPLIT_SIZES = {"train": 260, "dev": 100, "test": 200, "xtrain": 200, "xdev": 100}  # per class
SPLIT_SEED_OFFSET = {"train": 0, "dev": 1000, "test": 2000, "xtrain": 3000, "xdev": 4000}
HARD_SPLITS = ("xtrain", "xdev")  # train/dev voices and texts, harder channel (see Builder)
TRAIN_LANGS = ("en-us", "en", "pl")
TEST_LANGS = ("en-gb-scotland", "en-029", "en-gb-x-rp", "pl")


def voices(split: str) -> list[Voice]:
    """The voice pool of a split (test voices are disjoint from train/dev)."""
    half = len(ESPEAK_VARIANTS) // 2
    if split == "test":
        variants, langs = ESPEAK_VARIANTS[half:], TEST_LANGS
        extra = [Voice("flite", v) for v in ("slt", "rms")] + [Voice("festival", "kal")]
    else:
        variants, langs = ESPEAK_VARIANTS[:half], TRAIN_LANGS
        extra = [Voice("flite", v) for v in ("kal", "awb")]
    return [Voice("espeak", f"{lang}+{v}") for lang in langs for v in variants] + extra


@dataclass
class Clip:
    """A file being built: audio at 16 kHz plus metadata."""

    audio: np.ndarray
    meta: dict[str, object]


class Builder:
    """Builds one split with its own random stream and TTS cache."""

    def __init__(self, split: str, seed: int) -> None:
        self.split = split
        self.hard = split in HARD_SPLITS
        self.rng = np.random.default_rng(seed + SPLIT_SEED_OFFSET[split])
        self.voices = voices(split)
        self._cache: dict[tuple[Voice, str], np.ndarray] = {}
        self._babble: list[np.ndarray] | None = None

    @property
    def _text_split(self) -> str:
        return "train" if self.hard else self.split

    # ---- building blocks -------------------------------------------------
    def voice(self) -> Voice:
        v = self.voices[int(self.rng.integers(len(self.voices)))]
        speed = float(self.rng.uniform(0.8, 1.25))
        pitch = int(self.rng.integers(25, 75)) if v.engine == "espeak" else 50
        return Voice(v.engine, v.name, round(speed, 2), pitch)

    def say(self, voice: Voice, text: str) -> np.ndarray:
        key = (voice, text)
        if key not in self._cache:
            x = synth(voice, text)
            self._cache[key] = x / (np.sqrt(np.mean(x**2)) + 1e-9) * 0.1  # -20 dBFS RMS
        return self._cache[key]

    def pick(self, table: dict[str, list[str]], lang: str) -> str:
        pool = ct.texts(table, lang, self._text_split)
        text = pool[int(self.rng.integers(len(pool)))]
        name = ct.NAMES[int(self.rng.integers(len(ct.NAMES)))]
        company = ct.COMPANIES[int(self.rng.integers(len(ct.COMPANIES)))]
        return text.format(name=name, company=company)

    def silence(self, lo: float, hi: float) -> np.ndarray:
        return np.zeros(int(self.rng.uniform(lo, hi) * RATE), dtype=np.float32)

    def tone(self, freqs: list[float], seconds: float, amp: float = 0.1) -> np.ndarray:
        t = np.arange(int(seconds * RATE)) / RATE
        x = sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)
        ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.005)
        return (amp * 1.41 * x * ramp).astype(np.float32)

    def beep(self) -> np.ndarray:
        f = float(self.rng.choice([440, 600, 800, 850, 1000, 1200, 1400, 1800]))
        b = self.tone([f], float(self.rng.uniform(0.15, 1.0)), float(self.rng.uniform(0.05, 0.2)))
        if self.rng.random() < 0.15:  # double beep
            b = np.concatenate([b, self.silence(0.05, 0.15), b])
        return b

    def music(self, seconds: float) -> np.ndarray:
        """Melody of decaying harmonic notes: on-hold / greeting background music."""
        out: list[np.ndarray] = []
        total = 0
        scale = [220.0, 247.0, 277.0, 330.0, 370.0, 440.0, 494.0, 554.0, 659.0, 740.0]
        while total < seconds * RATE:
            n = int(self.rng.uniform(0.15, 0.45) * RATE)
            t = np.arange(n) / RATE
            f0 = float(self.rng.choice(scale))
            chord = [f0, f0 * 1.26] if self.rng.random() < 0.4 else [f0]
            note = sum(
                np.sin(2 * np.pi * f * h * t) / h for f in chord for h in (1, 2, 3)
            ) * np.exp(-t * self.rng.uniform(2, 8))
            out.append((0.05 * note).astype(np.float32))
            total += n
        return np.concatenate(out)[: int(seconds * RATE)]

    def babble(self, seconds: float) -> np.ndarray:
        if self._babble is None:
            self._babble = [self.say(self.voice(), s) for s in ct.BABBLE]
        n = int(seconds * RATE)
        mix = np.zeros(n, dtype=np.float32)
        talkers = int(self.rng.integers(2, 8)) if self.hard else int(self.rng.integers(3, 7))
        for _ in range(talkers):
            clip = self._babble[int(self.rng.integers(len(self._babble)))]
            loop = np.tile(clip, n // clip.size + 2)
            start = int(self.rng.integers(clip.size))
            mix += loop[start : start + n] * float(self.rng.uniform(0.5, 1.0))
        return mix / (np.sqrt(np.mean(mix**2)) + 1e-9) * 0.1

    def hum(self, seconds: float) -> np.ndarray:
        """Stationary background: low-passed noise (fan, car, street) plus mains hum."""
        n = int(seconds * RATE)
        cut = float(self.rng.uniform(300, 2500))
        x = sosfilt(butter(2, cut, "lowpass", fs=RATE, output="sos"), self.rng.standard_normal(n))
        if self.rng.random() < 0.4:
            t = np.arange(n) / RATE
            f = float(self.rng.choice([50.0, 60.0]))
            x = x + sum(np.sin(2 * np.pi * f * h * t) / h for h in (1, 2, 3, 5)) * float(
                np.std(x) * self.rng.uniform(0.5, 2.0)
            )
        return (x / (np.sqrt(np.mean(x**2)) + 1e-9) * 0.1).astype(np.float32)

    def ringback(self) -> np.ndarray:
        freqs = [425.0] if self.rng.random() < 0.5 else [440.0, 480.0]
        ring = self.tone(freqs, float(self.rng.uniform(0.2, 1.2)), 0.05)
        return np.concatenate([ring, self.silence(0.05, 0.3)])

    # ---- scenarios ---------------------------------------------------------
    def human(self) -> Clip:
        v = self.voice()
        kind = str(self.rng.choice(["hello", "twice", "named"], p=[0.4, 0.25, 0.35]))
        table = ct.HUMAN_FIRST
        first_pool = ct.texts(table, v.lang, self._text_split)
        short = [t for t in first_pool if len(t) <= 8] or first_pool
        first = (
            short[int(self.rng.integers(len(short)))]
            if kind != "named"
            else self.pick(table, v.lang)
        )
        lead = self.silence(0.2, 3.0) if self.hard else self.silence(0.2, 1.8)
        speech = self.say(v, first)
        parts = [lead, speech]
        if kind == "twice":
            gap = self.silence(0.8, 3.0) if self.hard else self.silence(1.0, 2.5)
            parts += [gap, self.say(v, self.pick(ct.HUMAN_SECOND, v.lang))]
        parts.append(self.silence(2.5, 5.0))
        meta = {"scenario": f"human-{kind}", "text": first}
        return Clip(np.concatenate(parts), meta | self._utt(lead, speech, v))

    def machine(self) -> Clip:
        v = self.voice()
        kind = str(
            self.rng.choice(
                ["long-beep", "long", "short-beep", "short", "music", "carrier"],
                p=[0.38, 0.2, 0.17, 0.03, 0.14, 0.08],
            )
        )
        lead = self.silence(0.1, 1.5)
        if kind == "carrier":
            sit = [
                self.tone([f], d, 0.1) for f, d in ((913.8, 0.274), (1370.6, 0.274), (1776.7, 0.38))
            ]
            speech = self.say(v, self.pick(ct.CARRIER, v.lang))
            parts = [lead, *sit, self.silence(0.05, 0.4)]
            utt_lead = np.concatenate(parts)
            parts += [speech, self.silence(1.0, 2.0)]
            return Clip(
                np.concatenate(parts),
                {"scenario": "machine-carrier"} | self._utt(utt_lead, speech, v),
            )
        if kind.startswith("short"):
            speech = self.say(v, self.pick(ct.MACHINE_SHORT, v.lang))
            greeting = speech
        else:
            sents = [self.pick(ct.MACHINE_OPEN, v.lang)]
            sents += [
                self.pick(ct.MACHINE_MIDDLE, v.lang) for _ in range(int(self.rng.integers(1, 3)))
            ]
            sents.append(self.pick(ct.MACHINE_CLOSE, v.lang))
            clips = [self.say(v, s) for s in sents]
            speech = clips[0]
            gaps = [self.silence(0.1, 0.6) for _ in clips[1:]]
            greeting = np.concatenate(
                [c for pair in zip(clips, [*gaps, clips[0][:0]], strict=True) for c in pair]
            )
        if kind == "music":
            if self.rng.random() < 0.5:
                bed = _fit(self.music(greeting.size / RATE + 0.1), greeting.size)
                greeting = greeting + bed * float(self.rng.uniform(0.2, 0.6))
            else:
                lead = np.concatenate([lead, self.music(float(self.rng.uniform(1.0, 3.0)))])
        parts = [lead, greeting]
        if kind.endswith("beep") or (kind == "music" and self.rng.random() < 0.6):
            parts += [self.silence(0.1, 0.7), self.beep()]
        parts.append(self.silence(0.5, 3.0))
        return Clip(
            np.concatenate(parts), {"scenario": f"machine-{kind}"} | self._utt(lead, speech, v)
        )

    def _utt(self, lead: np.ndarray, first: np.ndarray, v: Voice) -> dict[str, object]:
        return {
            "voice": v.label,
            "first_utt_start_ms": int(lead.size * 1000 / RATE),
            "first_utt_end_ms": int((lead.size + first.size) * 1000 / RATE),
        }

    # ---- channel -------------------------------------------------------------
    def _hard_background(
        self, x: np.ndarray, human: bool, meta: dict[str, object]
    ) -> tuple[np.ndarray, str]:
        """Background of the hard splits (humans mostly, machines sometimes)."""
        r = self.rng.random()
        if human:
            bg = "babble" if r < 0.35 else "tv" if r < 0.55 else "noise" if r < 0.75 else "none"
        else:
            bg = "noise" if r < 0.25 else "none"
        if bg == "none":
            return x, bg
        secs = x.size / RATE + 0.1
        if bg == "noise":
            noise = _fit(self.hum(secs), x.size)
            snr = float(self.rng.uniform(5, 30) if human else self.rng.uniform(15, 35))
        else:
            noise = _fit(self.babble(secs), x.size)
            if bg == "tv":
                noise = noise + _fit(self.music(secs), x.size) * float(self.rng.uniform(0.3, 1.0))
            snr = float(self.rng.uniform(6, 25))
        x = x + noise * _rms(x) * 10 ** (-snr / 20) / (_rms(noise) + 1e-9)
        meta["snr_db"] = round(snr, 1)
        return x, bg

    def channel(self, clip: Clip, human: bool) -> tuple[np.ndarray, int, dict[str, object]]:
        """Background, ring-off, level, band-pass, codec; returns (int16, rate, meta)."""
        lo_db = -22 if self.hard and human else -14
        x = clip.audio * float(10 ** (self.rng.uniform(lo_db, 6) / 20))  # speech -34..-14 dBFS
        meta = dict(clip.meta)
        bg = "none"
        if self.hard:
            x, bg = self._hard_background(x, human, meta)
        elif human and self.rng.random() < 0.45:
            bg = "tv" if self.rng.random() < 0.4 else "babble"
            snr = float(self.rng.uniform(12, 25))
            noise = _fit(self.babble(x.size / RATE + 0.1), x.size)
            if bg == "tv":
                noise = noise + _fit(self.music(x.size / RATE + 0.1), x.size) * 0.7
            x = x + noise * float(np.sqrt(np.mean(x[x != 0] ** 2))) * 10 ** (-snr / 20) / 0.1
            meta["snr_db"] = round(snr, 1)
        meta["background"] = bg
        if self.rng.random() < 0.3:
            ring = self.ringback()
            x = np.concatenate([ring, x])
            shift = int(ring.size * 1000 / RATE)
            for key in ("first_utt_start_ms", "first_utt_end_ms"):
                meta[key] = int(meta[key]) + shift  # type: ignore[call-overload]
            meta["ringoff"] = True
        line = float(10 ** (self.rng.uniform(-70, -48) / 20))
        x = x + self.rng.standard_normal(x.size).astype(np.float32) * line
        rate = int(self.rng.choice([8000, 16000, 11025], p=[0.7, 0.22, 0.08]))
        if rate == 8000 and self.rng.random() < 0.6:
            x = sosfilt(butter(4, [300, 3400], "bandpass", fs=RATE, output="sos"), x)
        y = to_int16(resample(x.astype(np.float64), RATE, rate))
        codec = "none"
        if rate == 8000:
            codec = str(self.rng.choice(["none", "ulaw", "alaw"]))
            if codec == "ulaw":
                y = g711.ulaw_roundtrip(y)
            elif codec == "alaw":
                y = g711.alaw_roundtrip(y)
        meta.update(rate=rate, codec=codec)
        return y, rate, meta


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x[x != 0] ** 2))) if np.any(x) else 0.0


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad ``x`` to ``n`` samples."""
    return x[:n] if x.size >= n else np.concatenate([x, np.zeros(n - x.size, x.dtype)])


def build_split(out: Path, split: str, seed: int, per_class: int | None = None) -> int:
    """Write one split; returns the number of files written."""
    b = Builder(split, seed)
    n = per_class if per_class is not None else SPLIT_SIZES[split]
    rows = []
    for label in ("human", "machine"):
        (out / split / label).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            clip = b.human() if label == "human" else b.machine()
            y, rate, meta = b.channel(clip, label == "human")
            name = f"{label}/{split}-{label[0]}{i:04d}.wav"
            sf.write(str(out / split / name), y, rate, subtype="PCM_16")
            rows.append({"file": name, "label": label} | meta)
    with (out / split / "meta.jsonl").open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(rows)


def build(
    out: Path, seed: int = 1, per_class: int | None = None, splits: tuple[str, ...] | None = None
) -> dict[str, int]:
    """Write all splits (or ``splits``) under ``out``."""
    return {s: build_split(out, s, seed, per_class) for s in (splits or tuple(SPLIT_SIZES))}
