"""The browser side of the webphone tests: Chromium with a fake microphone, a panel server,
and what a page hears.

Chromium (Debian's ``chromium``, driven by Playwright) takes its microphone from a WAV file
(``--use-file-for-fake-audio-capture``): one tone per browser, so whoever hears it can be
told apart. What a page hears is measured in the page itself, on the webphone's received
stream (:data:`HEARD_JS`).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpers import free_port, panel_process, until

CHROMIUM = "/usr/bin/chromium"
BROWSER_TONE = 1100  # the default fake microphone's tone

# The page's received audio, measured in the page: energy in the FFT bin of ``hz`` against
# the median bin (WebAudio's analyser on the <audio> element's stream).
HEARD_JS = """async (hz) => {
  const stream = document.getElementById('wp-audio').srcObject;
  if (!stream) return 0;
  const ctx = new AudioContext();
  const src = ctx.createMediaStreamSource(stream);
  const an = ctx.createAnalyser(); an.fftSize = 8192; src.connect(an);
  const bins = new Float32Array(an.frequencyBinCount);
  await new Promise(r => setTimeout(r, 1500));
  an.getFloatFrequencyData(bins);
  const at = Math.round(hz / (ctx.sampleRate / an.fftSize));
  const peak = Math.max(...bins.slice(at - 2, at + 3));
  const sorted = Array.from(bins).sort((a, b) => a - b);
  await ctx.close();
  return peak - sorted[Math.floor(sorted.length / 2)];  // dB above the median bin
}"""

ME_JS = "fetch('/api/v1/agents/me').then(r => r.json()).then(b => b.agent)"


def microphone(tmp_path: Path, hz: int = BROWSER_TONE, name: str = "mic.wav") -> Path:
    """A browser's fake microphone: a minute of the tone ``hz``."""
    mic = tmp_path / name
    subprocess.run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(mic), "synth", "60",
                    "sine", str(hz), "vol", "0.3"], check=True)
    return mic


def launch(pw, mic: Path, proxy: str | None = None):  # type: ignore[no-untyped-def]
    """Chromium with a fake microphone; ``proxy`` ("127.0.0.1:port", "host:port" of the
    panel): the browser's other connections (the SIP WebSocket) go through a proxy."""
    args = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={mic}",
            "--allow-loopback-in-peer-connection",  # Asterisk's RTP is on 127.0.0.1
            "--autoplay-policy=no-user-gesture-required"]
    if proxy:
        through, panel = proxy.split(",")
        # loopback is never proxied unless "<-loopback>" says so; the panel stays direct
        args += [f"--proxy-server=http://{through}", f"--proxy-bypass-list=<-loopback>;{panel}"]
    return pw.chromium.launch(executable_path=CHROMIUM, args=args)


def sign_in(context, base: str, address: str, password: str, path: str):  # type: ignore[no-untyped-def]
    """A new tab of ``context``, logged in as ``address``, on ``path``."""
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=address]", address)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{base}{path}")
    return page


def preflight(page) -> None:  # type: ignore[no-untyped-def]
    """Run the webphone's preflight in ``page`` (the phone tab) and wait for its pass."""
    root = page.locator("#webphone")
    page.click("#wp-preflight")
    until(lambda: root.get_attribute("data-preflight") in ("passed", "failed"), timeout=30,
          interval=0.2, what="the preflight's result")
    assert root.get_attribute("data-preflight") == "passed", \
        page.locator("#wp-preflight-result").text_content()
    assert page.locator("form:has(input[name=command][value=login]) button").is_enabled()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """``<CENTRALA_SHOTS>/<name>.png`` of the whole page, when that folder is set."""
    folder = os.environ.get("CENTRALA_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@contextmanager
def panel_server(settings, log_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A panel (``python -m web``) on a free port for the browsers; its base URL."""
    port = free_port()
    base = f"http://{settings.bind_address}:{port}"
    with panel_process({**os.environ, "CENTRALA_WEB_PORT": str(port)}, log_path, base):
        yield base
