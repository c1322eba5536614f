"""Test helpers shared by the tiers: bounded polling and audio checks."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import numpy as np
import soundfile

T = TypeVar("T")


def until(fn: Callable[[], T], timeout: float = 20.0, interval: float = 0.2, what: str = "") -> T:
    """Poll ``fn`` until it returns a truthy value; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: T = fn()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or fn}")
        time.sleep(interval)
        last = fn()
    return last


def tone_ratio(path: Path | str, hz: float, band: float = 15.0) -> float:
    """Energy within ±band Hz of ``hz`` divided by the median energy per equal band elsewhere.

    A clean tone gives ratios in the hundreds or more; silence or other tones give ~1.
    """
    audio, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    mono = audio.mean(axis=1)
    if len(mono) < rate // 4:
        return 0.0
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono)))) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1 / rate)
    in_band = spectrum[(freqs > hz - band) & (freqs < hz + band)].sum()
    width = int(np.count_nonzero((freqs > hz - band) & (freqs < hz + band))) or 1
    others = spectrum[(freqs > 100) & (np.abs(freqs - hz) > 4 * band)]
    usable = len(others) // width * width
    if usable == 0:
        return 0.0
    per_band = others[:usable].reshape(-1, width).sum(axis=1)
    return float(in_band / max(np.median(per_band), 1e-12))


def duration_s(path: Path | str) -> float:
    info = soundfile.info(str(path))
    return info.frames / info.samplerate


def tone_share(path: Path | str, hz: float, band: float = 15.0) -> float:
    """Fraction of the file's energy (above 100 Hz) that lies within ±band Hz of ``hz``."""
    audio, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    mono = audio.mean(axis=1)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono)))) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1 / rate)
    total = spectrum[freqs > 100].sum()
    if total <= 0:
        return 0.0
    return float(spectrum[(freqs > hz - band) & (freqs < hz + band)].sum() / total)


def sound_report(path: Path | str, top: int = 4) -> str:
    """What a recording holds, for an assertion's message: its length, the share of its
    energy above 100 Hz in its strongest 20 Hz bands, and how much of it is near-silent."""
    audio, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    mono = audio.mean(axis=1)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono)))) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1 / rate)
    keep = freqs > 100
    spectrum, freqs = spectrum[keep], freqs[keep]
    total = spectrum.sum() or 1.0
    bands: dict[int, float] = {}
    for f, e in zip((freqs // 20 * 20).astype(int), spectrum, strict=True):
        bands[int(f)] = bands.get(int(f), 0.0) + float(e)
    best = sorted(bands.items(), key=lambda kv: -kv[1])[:top]
    frames = mono[: len(mono) // 160 * 160].reshape(-1, 160)  # 20 ms at 8 kHz
    quiet = float((np.abs(frames).max(axis=1) < 0.01).mean()) if len(frames) else 1.0
    peaks = ", ".join(f"{f}-{f + 20} Hz {e / total:.0%}" for f, e in best)
    return f"{path}: {len(mono) / rate:.1f} s, {quiet:.0%} near-silent, strongest: {peaks}"


def free_port() -> int:
    """A free loopback port below 32768 (outside Linux's ephemeral range)."""
    return first_free_port(random.randrange(20000, 32000) for _ in range(100))


def first_free_port(candidates: Iterable[int]) -> int:
    """The first of ``candidates`` that nothing listens on (loopback)."""
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found")


class ThrowawayRedis:
    """A real redis-server of a test (no persistence) on a free loopback port, which the test
    may kill and start again on the same port."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10) -> ThrowawayRedis:
        import redis

        self.proc = subprocess.Popen(
            ["/usr/bin/redis-server", "--save", "", "--appendonly", "no", "--port", str(self.port),
             "--bind", "127.0.0.1", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        proc = self.proc

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                assert proc.poll() is None, "redis-server exited"
                return False

        try:
            until(up, timeout=timeout, interval=0.05, what="redis-server to answer")
        finally:
            client.close()
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM if still running (the fixtures' clean-up)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


# A cold panel imports the whole app (every domain's blueprints) before it answers: about 5 s
# on an idle 2-core machine, several times that while both integration workers run Asterisk,
# baresip and Chromium. The wait is bounded, and a panel that never answers says why.
PANEL_START_TIMEOUT_S = 90.0


@contextmanager
def panel_process(env: dict[str, str], log_path: Path, base: str,
                  timeout: float = PANEL_START_TIMEOUT_S) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m web`` with ``env`` (its port in ``CENTRALA_WEB_PORT``), answering
    ``base + /healthz`` before this yields; stopped after. Its output goes to ``log_path``,
    whose tail is in the error when it exits or never answers."""
    log = log_path.open("ab")  # a panel restarted by a test writes on after the first
    proc = subprocess.Popen([sys.executable, "-m", "web"], env=env, stdout=log, stderr=log)
    started = time.monotonic()

    def tail() -> str:
        lines = log_path.read_text(errors="replace").splitlines()[-30:]
        return f"{log_path}:\n" + "\n".join(lines)

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the panel exited ({proc.returncode}); {tail()}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    try:
        try:
            until(up, timeout=timeout, interval=0.2, what="the panel answering")
        except AssertionError as err:
            raise AssertionError(f"{err}; {tail()}") from None
        print(f"panel answering after {time.monotonic() - started:.1f} s")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
