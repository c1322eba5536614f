"""``centrala sla prober``: the process that runs the synthetic probes, round after round.

Theory of operation. A process of its own, started and restarted by the supervisor like the
worker and the panel (:mod:`controlplane.procs.programs`), so it shares no fate with the
control plane it measures: it keeps writing failures while the control plane is dead. Every
``CENTRALA_SLA_PROBE_INTERVAL_S`` seconds (default 60) a round starts on a fixed cadence (a
late round is not made up for: the gap shows, and a gap of more than two intervals counts
as down, :mod:`controlplane.sla.downtime`). Each probe of :data:`~controlplane.sla.probes.PROBES`
runs in a thread of its own with its own timeout; a probe that raises or times out is a
failure with the reason as ``detail``: a result is written whatever happens. A round's rows
go in one transaction; when the database itself cannot take them the round is lost, which
the gap rule reads as down.

A probe failing twice in a row opens a Critical incident (source ``probe``) for every
tenant with SLA settings, unless one opened by the same probe is not yet repaired
(:mod:`controlplane.sla.probe_incidents`). A single failure still counts as downtime; it
only does not page anyone.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from controlplane.config import Settings
from controlplane.sla.probes import PROBES, Probe, probes_for

log = logging.getLogger("centrala.sla.prober")
DEFAULT_INTERVAL_S = 60


@dataclass(frozen=True)
class Outcome:
    probe: Probe
    started_at: datetime
    ok: bool
    duration_ms: int
    detail: str


def interval_s() -> int:
    raw = os.environ.get("CENTRALA_SLA_PROBE_INTERVAL_S", "")
    try:
        value = int(raw) if raw else DEFAULT_INTERVAL_S
    except ValueError:
        log.warning("CENTRALA_SLA_PROBE_INTERVAL_S=%r is not a number; using %d s", raw,
                    DEFAULT_INTERVAL_S)
        value = DEFAULT_INTERVAL_S
    return max(1, value)


def _timed(check: Callable[[Settings], str], settings: Settings) -> tuple[str, int]:
    """Run one probe in its thread; its own duration (the others run meanwhile)."""
    t0 = time.monotonic()
    detail = check(settings)
    return detail, int((time.monotonic() - t0) * 1000)


def run_round(settings: Settings, pool: ThreadPoolExecutor,
              probes: tuple[Probe, ...] = PROBES, limit_s: float | None = None) -> list[Outcome]:
    """Every probe at once, each bounded by its own timeout (and by ``limit_s``)."""
    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    futures = [(p, pool.submit(_timed, p.check, settings)) for p in probes]
    out = []
    for probe, future in futures:
        budget = min(probe.timeout_s, limit_s or probe.timeout_s)
        try:
            detail, ms = future.result(timeout=max(0.0, budget - (time.monotonic() - t0)))
            ok = True
        except FutureTimeout:
            ok, detail, ms = False, f"no answer in {budget:g} s", int(budget * 1000)
        except Exception as err:  # noqa: BLE001 - any failure of a probe is its result
            ok, detail = False, f"{type(err).__name__}: {err}"
            ms = int((time.monotonic() - t0) * 1000)
        out.append(Outcome(probe, started_at, ok, ms, str(detail)[:500]))
    return out


def record(factory: sessionmaker[Session], outcomes: list[Outcome], every_s: int) -> None:
    """Store a round and open incidents for the probes that failed twice in a row."""
    from controlplane.db import transaction
    from controlplane.models.sla_probes import SlaProbeRun
    from controlplane.sla import probe_incidents, probe_store

    with transaction(factory) as s:
        # the second failure in a row: one alone is a blip (the panel still starting when
        # the supervisor starts the prober after it) and would page the operator for nothing
        confirmed = [o for o in outcomes
                     if not o.ok and probe_store.last_ok(s, o.probe.name) is False]
        probe_store.write(s, [
            SlaProbeRun(probe=o.probe.name, function=function, tenant_id=None,
                        started_at=o.started_at, ok=o.ok, duration_ms=o.duration_ms,
                        interval_s=every_s, detail=o.detail)
            for o in outcomes for function in o.probe.functions])
        for o in confirmed:
            probe_incidents.open_for_platform(s, o.probe.name, o.probe.functions, o.detail,
                                              o.started_at)


def run(settings: Settings, stop: threading.Event) -> None:
    from controlplane.db import make_engine, make_sessionmaker
    from controlplane.seed import seed_probes

    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    seed_probes(factory, settings.runtime_dir)  # the probe tenant and user (idempotent)
    every = interval_s()
    probes = probes_for(settings, PROBES)
    log.info("probing %s every %d s", ", ".join(p.name for p in probes), every)
    # a probe stuck past its timeout keeps its thread: room for a few rounds of those
    pool = ThreadPoolExecutor(len(probes) * 4, thread_name_prefix="probe")
    next_at = time.monotonic()
    try:
        while not stop.is_set():
            outcomes = run_round(settings, pool, probes, limit_s=float(every))
            try:
                record(factory, outcomes, every)
            except Exception:  # the database is down: the gap will say so
                log.exception("probe results not stored")
            for o in outcomes:
                if not o.ok:
                    log.warning("%s failed: %s", o.probe.name, o.detail)
            next_at += every
            now = time.monotonic()
            if next_at < now:  # late (a slow round): skip to the next tick, do not catch up
                next_at = now + every - (now - next_at) % every
            stop.wait(next_at - now)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        engine.dispose()


def main(settings: Settings) -> int:
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s prober[%(process)d] %(levelname)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run(settings, stop)
    return 0
