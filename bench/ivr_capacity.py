"""IVR capacity: SIPp plays the carrier at rising call rates into an IVR DID.

The DID is bound to a flow whose start node is a menu: it plays a short TTS prompt and
waits 20 s for a key. For each rate (10, 25, 50, 75 calls/s by default) SIPp (Debian
``sip-tester``) places ``rate × --seconds`` calls at that rate; each caller sends the
INVITE, waits for the 200 OK, ACKs, holds ``--hold`` s (4 s) and sends BYE. A call fails
when anything else happens (an error response, a BYE from the platform before the hold
ends, no answer within 20 s).

The platform identifies trunk calls by their source address alone, so SIPp sends from
the address of the trunk that carries the DID (the lab carrier's,
``CENTRALA_LAB_CARRIER_ADDRESS``, 127.0.0.2 by default) on a port of its own; the DID
belongs to that trunk's tenant (the seeded demo tenant).

Printed per rate:
- calls attempted, succeeded, failed (SIPp's own counts);
- INVITE → 200 OK p50/p99/max in ms: SIPp's response-time trace (``-trace_rtt``, one
  value per call, ``rtd`` from sending the first INVITE to receiving the 200 OK);
- CPU ms per successful call of the platform Asterisk and of the control plane
  (``/proc/<pid>/stat`` from SIPp's start until every call of the rate has ended and the
  platform has no channel left), and their CPU % of one core over that stretch;
- Redis commands per call (the server's ``INFO commandstats``);
- what the call records say: how many of the rate's calls have a record, a
  ``platform_answered_at`` and a ``carrier_billsec_s`` > 0 (the platform answered every one
  of them, and the carrier bills them; ``answered_at``/``billsec_s`` are an agent's).

Options: ``--count`` runs the control plane under ``bench/cp_counters.py`` and adds SQL
statements, commits, Redis round trips, JSON encodes/decodes, asyncio tasks and log
records per call (the hooks cost CPU: do not read CPU figures from such a run);
``--profile-rate R --profile-dir D`` records the control plane with py-spy (raw collapsed
stacks, ``D/ivr-R.txt``; ``--profile-gil``: only the thread holding the GIL) while rate R
runs. ``bench/pyspy_summary.py`` ranks what such a file holds.

Usage: python bench/ivr_capacity.py [--rates 10,25,50,75] [--seconds 30] [--hold 4] [--json]
Runs its own isolated platform + lab under /tmp/centrala-ivrcap (own ports, fresh
database); needs root and ``sipp``. Everything is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import redis  # noqa: E402
from acd_bench_lab import active_channels  # noqa: E402
from benchkit import (  # noqa: E402
    BenchError,
    Isolated,
    cpu_s,
    deploy_ivr_flow,
    log,
    pct,
    start_isolated,
    stop_isolated,
    until,
)
from sipp_kit import SCENARIO, sipp_rtts, sipp_stats  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from controlplane.config import Settings, load_settings  # noqa: E402
from controlplane.db import make_engine, make_sessionmaker  # noqa: E402
from controlplane.models.telephony import Did  # noqa: E402

RUNTIME = "/tmp/centrala-ivrcap"
# Ports no integration slot (0-7), `make up` or other bench uses: signalling 78xx-79xx,
# platform RTP 8200-9999 (900 calls at once), lab RTP 6400-6999. baresip takes lab SIP
# +20/+21 (7900/7901); SIPp takes SIP_PORT+10 and media 7950.
ENV = {
    "CENTRALA_RUNTIME_DIR": RUNTIME, "CENTRALA_SIP_PORT": "7860", "CENTRALA_ARI_PORT": "7888",
    "CENTRALA_AMI_PORT": "7838", "CENTRALA_LAB_SIP_PORT": "7880", "CENTRALA_LAB_AMI_PORT": "7848",
    "CENTRALA_LAB_HTTP_PORT": "7898", "CENTRALA_REDIS_PORT": "7891", "CENTRALA_WEB_PORT": "7881",
    "CENTRALA_RTP_RANGE": "8200-9999", "CENTRALA_LAB_RTP_RANGE": "6400-6999",
}
SIPP_MEDIA_PORT = 7950
DID = "48221000001"
FLOW: dict[str, Any] = {
    "format_version": 1, "id": "ivrcap", "name": "IVR capacity bench", "start": "menu",
    "settings": {"language": "en-US", "voice": "en", "max_duration_s": 600},
    "nodes": {
        "menu": {"type": "menu", "prompt": {"tts": "Thank you for calling. Press one."},
                 "options": {"1": {"next": "bye"}}, "timeout_s": 20, "max_retries": 0,
                 "fallback": "bye"},
        "bye": {"type": "hangup"},
    },
}
ANSWER_TIMEOUT_MS = 20000  # SIPp gives up on a call (failed) without a final answer by then
DRAIN_S = 60.0  # at most this long for a rate's calls to end after SIPp is done
MAX_OPEN_CALLS = 850  # below the platform's RTP range (900 calls)



# ---- platform ---------------------------------------------------------------------

def deploy_flow(settings: Settings) -> None:
    deploy_ivr_flow(settings, FLOW, DID)


def trunk_address(settings: Settings) -> str:
    """The source address the platform identifies the DID's trunk by (SIPp sends from it)."""
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            did = s.scalar(select(Did).where(Did.number == DID))
            if did is None or did.trunk is None:
                raise BenchError(f"DID {DID} has no trunk: the platform would refuse SIPp's calls")
            if not did.trunk.host.startswith("127."):
                raise BenchError(f"the DID's trunk is at {did.trunk.host}, not a loopback "
                                 "address SIPp can send from")
            return did.trunk.host
    finally:
        engine.dispose()


# ---- one rate ----------------------------------------------------------------------

@dataclass
class RateResult:
    rate: float
    attempted: int
    succeeded: int
    failed: int
    rtt_ms: list[float]
    cpu_s: dict[str, float]
    wall_s: float
    redis_cmds: int
    records: dict[str, Any]
    load1: float  # the machine's 1-minute load average when the rate ended
    counts: dict[str, int] = field(default_factory=dict)


def redis_commands(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    # INFO itself is counted; the difference is off by our own one call per reading
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


def call_records(settings: Settings, prefix: str, expect: int) -> dict[str, Any]:
    """What the call records of this rate's callers say, once all of them are written
    (bounded wait: the records are what is measured, not awaited forever)."""
    engine = make_engine(settings.database_url)
    # what the carrier bills: the platform's answer (IVR) and its billable seconds, not an
    # agent's (answered_at/billsec_s stay empty: no agent takes these calls)
    query = text("SELECT count(*), count(ended_at), count(platform_answered_at), "
                 "sum(CASE WHEN carrier_billsec_s > 0 THEN 1 ELSE 0 END), "
                 "avg(carrier_billsec_s) FROM call_record WHERE caller LIKE :p")
    try:
        def read() -> tuple[Any, ...]:
            with engine.connect() as c:
                return tuple(c.execute(query, {"p": prefix + "%"}).one())

        deadline = time.monotonic() + 30
        row = read()
        while row[1] < expect and time.monotonic() < deadline:
            time.sleep(1)
            row = read()
    finally:
        engine.dispose()
    total, ended, answered, billed, avg_bill = row
    return {"records": total, "ended": ended, "platform_answered": answered, "billsec_gt0": billed or 0,
            "avg_billsec": None if avg_bill is None else round(float(avg_bill), 2)}


def read_counts(path: Path | None) -> dict[str, int]:
    if path is None:
        return {}
    try:
        return dict(json.loads(path.read_text())["counts"])
    except (OSError, ValueError, KeyError):
        return {}


def run_rate(settings: Settings, iso: Isolated, rds: redis.Redis, source: str, rate: float,
             seconds: float, hold: float, counters: Path | None,
             profile: Path | None, gil: bool = False) -> RateResult:
    calls = max(1, round(rate * seconds))
    workdir = settings.runtime_dir / "sipp" / f"rate-{rate:g}"
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = workdir / "ivr_capacity.xml"
    scenario.write_text(SCENARIO)
    prefix = f"486{round(rate):03d}"
    pids = {"asterisk": iso.pids["platform"], "controlplane": iso.pids["controlplane"]}
    argv = ["sipp", f"{settings.bind_address}:{settings.platform.sip}", "-sf", str(scenario),
            "-i", source, "-p", str(settings.platform.sip + 10), "-mp", str(SIPP_MEDIA_PORT),
            "-s", DID, "-key", "caller_prefix", prefix, "-d", str(round(hold * 1000)),
            "-r", f"{rate:g}", "-rp", "1000", "-m", str(calls), "-l", str(MAX_OPEN_CALLS),
            "-recv_timeout", str(ANSWER_TIMEOUT_MS), "-trace_rtt", "-rtt_freq", "1",
            "-trace_stat", "-fd", "1", "-trace_err", "-trace_screen", "-nostdin",
            "-timeout", f"{seconds + hold + ANSWER_TIMEOUT_MS / 1000 + 60:.0f}s"]
    before = {name: cpu_s(pid) for name, pid in pids.items()}
    sipp_before = os.times().children_user + os.times().children_system
    counts_before = read_counts(counters)
    redis_before = redis_commands(rds)
    t0 = time.monotonic()
    spy = None
    if profile is not None:
        spy = subprocess.Popen([py_spy() or "py-spy", "record", "-p", str(iso.pids["controlplane"]),
                                "--format", "raw", "-r", "100", "--nonblocking",
                                "-o", str(profile), *(["--gil"] if gil else [])],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(workdir / "sipp.out", "wb") as out:
        proc = subprocess.run(argv, cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, check=False)
    # every call of the rate is over on SIPp's side; the platform may still be tearing down
    until(lambda: active_channels(iso.platform_ast) == 0, DRAIN_S,
          f"the platform's channels of rate {rate:g} to end")
    wall = time.monotonic() - t0
    used = {name: cpu_s(pid) - before[name] for name, pid in pids.items()}
    used["sipp"] = os.times().children_user + os.times().children_system - sipp_before
    redis_used = redis_commands(rds) - redis_before - 1
    if spy is not None:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()
    counts_after = read_counts(counters)
    if proc.returncode not in (0, 1):  # 1 = some calls failed; anything else = SIPp broke
        tail = (workdir / "sipp.out").read_text(errors="replace")[-2000:]
        raise BenchError(f"sipp exited {proc.returncode}:\n{tail}")
    stats = sipp_stats(workdir)
    succeeded = int(stats.get("SuccessfulCall(C)", 0))
    failed = int(stats.get("FailedCall(C)", 0))
    attempted = int(stats.get("TotalCallCreated", succeeded + failed))
    counts = {k: counts_after.get(k, 0) - counts_before.get(k, 0) for k in counts_after}
    return RateResult(rate, attempted, succeeded, failed, sipp_rtts(workdir), used, wall,
                      redis_used, call_records(settings, prefix, attempted), os.getloadavg()[0],
                      {k: v for k, v in counts.items() if v})


def py_spy() -> str | None:
    """py-spy on PATH or next to this interpreter (pip installs it into the venv's bin)."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


def summary(r: RateResult) -> dict[str, Any]:
    def ms(v: float | None) -> float | None:
        return None if v is None else round(v, 1)

    per = max(r.succeeded, 1)
    out: dict[str, Any] = {
        "rate": r.rate, "attempted": r.attempted, "succeeded": r.succeeded, "failed": r.failed,
        "invite_200_p50_ms": ms(pct(r.rtt_ms, 0.50)), "invite_200_p99_ms": ms(pct(r.rtt_ms, 0.99)),
        "invite_200_max_ms": ms(max(r.rtt_ms) if r.rtt_ms else None), "rtt_samples": len(r.rtt_ms),
        "asterisk_cpu_ms_per_call": round(1000 * r.cpu_s["asterisk"] / per, 2),
        "controlplane_cpu_ms_per_call": round(1000 * r.cpu_s["controlplane"] / per, 2),
        # failed calls cost CPU too: per attempted call is the floor of the per-call figure
        "asterisk_cpu_ms_per_attempt": round(1000 * r.cpu_s["asterisk"] / max(r.attempted, 1), 2),
        "controlplane_cpu_ms_per_attempt": round(
            1000 * r.cpu_s["controlplane"] / max(r.attempted, 1), 2),
        "asterisk_cpu_pct": round(100 * r.cpu_s["asterisk"] / r.wall_s, 1),
        "controlplane_cpu_pct": round(100 * r.cpu_s["controlplane"] / r.wall_s, 1),
        "sipp_cpu_pct": round(100 * r.cpu_s["sipp"] / r.wall_s, 1),
        "wall_s": round(r.wall_s, 1), "redis_cmds_per_call": round(r.redis_cmds / per, 1),
        "call_records": r.records, "load1": round(r.load1, 1),
    }
    if r.counts:
        out["per_call"] = {k: round(v / per, 2) for k, v in sorted(r.counts.items())}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", default="10,25,50,75", help="calls per second, in order")
    parser.add_argument("--seconds", type=float, default=30, help="seconds of calls per rate")
    parser.add_argument("--hold", type=float, default=4, help="seconds each call is held")
    parser.add_argument("--count", action="store_true",
                        help="run the control plane under bench/cp_counters.py (per-call counts)")
    parser.add_argument("--profile-rate", type=float, help="py-spy the control plane at this rate")
    parser.add_argument("--profile-dir", type=Path, default=Path(RUNTIME + "-profiles"))
    parser.add_argument("--profile-gil", action="store_true",
                        help="sample only the thread holding the GIL (Python CPU, not waits)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rates = [float(x) for x in args.rates.split(",") if x.strip()]
    if os.geteuid() != 0:
        print("needs root (chroot and bind mounts for Asterisk)", file=sys.stderr)
        return 2
    if shutil.which("sipp") is None:
        print("needs sipp (Debian package sip-tester; `make bootstrap` installs it)", file=sys.stderr)
        return 2
    if args.profile_rate is not None and py_spy() is None:
        print("--profile-rate needs py-spy (pip install py-spy)", file=sys.stderr)
        return 2
    os.environ.update(ENV)
    settings = load_settings()
    counters = settings.runtime_dir / "cp-counters.json" if args.count else None
    cp_argv = None
    if counters is not None:
        cp_argv = [sys.executable, str(Path(__file__).resolve().parent / "cp_counters.py"),
                   str(counters), "controlplane"]
    started = time.monotonic()
    results: list[RateResult] = []
    try:
        log("starting platform, lab and control plane")
        iso = start_isolated(settings, deploy_flow, cp_argv)
        source = trunk_address(settings)
        log(f"ready in {time.monotonic() - started:.0f} s; pids {iso.pids}; SIPp sends from {source}")
        rds = redis.Redis.from_url(settings.redis_url_for("admin"), decode_responses=True)
        for rate in rates:
            profile = None
            if args.profile_rate is not None and rate == args.profile_rate:
                args.profile_dir.mkdir(parents=True, exist_ok=True)
                profile = args.profile_dir / f"ivr-{rate:g}{'-gil' if args.profile_gil else ''}.txt"
            log(f"rate {rate:g}/s: {round(rate * args.seconds)} calls, held {args.hold:g} s")
            r = run_rate(settings, iso, rds, source, rate, args.seconds, args.hold, counters,
                         profile, args.profile_gil)
            results.append(r)
            s = summary(r)
            log(f"rate {rate:g}/s: {r.succeeded}/{r.attempted} ok, p50 {s['invite_200_p50_ms']} ms, "
                f"p99 {s['invite_200_p99_ms']} ms, CPU ms/call Asterisk "
                f"{s['asterisk_cpu_ms_per_call']} control plane {s['controlplane_cpu_ms_per_call']}")
    finally:
        log("stopping everything")
        stop_isolated(settings)
    out = [summary(r) for r in results]
    log(f"total {time.monotonic() - started:.0f} s; load average now "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} (the CPU figures mean little above ~2)")
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"SIPp carrier -> IVR DID, {args.seconds:g} s per rate, each call held {args.hold:g} s; "
          "INVITE->200 OK from SIPp's trace; CPU from SIPp start to the last channel gone")
    print(f"{'rate/s':>6} {'calls':>6} {'ok':>6} {'failed':>6} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'max ms':>7} {'Ast ms/call':>11} {'CP ms/call':>10} {'Ast %':>6} {'CP %':>6} "
          f"{'redis/call':>10} {'pf_answered':>11} {'billsec>0':>9} {'load':>5}")
    for r in out:
        def f(v: float | None) -> str:
            return "-" if v is None else f"{v:.0f}"

        rec = r["call_records"]
        print(f"{r['rate']:6g} {r['attempted']:6d} {r['succeeded']:6d} {r['failed']:6d} "
              f"{f(r['invite_200_p50_ms']):>7} {f(r['invite_200_p99_ms']):>7} "
              f"{f(r['invite_200_max_ms']):>7} {r['asterisk_cpu_ms_per_call']:11.1f} "
              f"{r['controlplane_cpu_ms_per_call']:10.1f} {r['asterisk_cpu_pct']:6.1f} "
              f"{r['controlplane_cpu_pct']:6.1f} {r['redis_cmds_per_call']:10.1f} "
              f"{rec['platform_answered']:>11} {rec['billsec_gt0']:>9} {r['load1']:5.1f}")
    for r in out:
        if "per_call" in r:
            print(f"per call at {r['rate']:g}/s (counters): {json.dumps(r['per_call'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
