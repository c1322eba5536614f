"""CPU of the database work one inbound IVR call costs the control plane, step by step.

No Asterisk, no traffic: a fresh SQLite database (migrated, seeded, the
``bench/ivr_capacity.py`` flow bound to its DID) and the product's own functions,
called in this process the way the call service calls them per call, each timed in
process CPU (``time.process_time``) over ``--calls`` repetitions:

- ``routing.inbound_binding`` (the DID's binding: tenant DIDs, trunk, phone);
- ``did_store.did_lookup`` (the DID's published flow, parsed);
- ``calendar_store.calendars`` (the tenant's holiday calendars, for the IVR session);
- ``records.save`` twice (the record at entry and at the end: SELECT + INSERT/UPDATE).

Beside them, for the proposals in the profile report: the same two record writes as
SQLAlchemy Core statements without the SELECT, and as one INSERT batch per 50 calls.
The figures are ms of CPU per call (the sum is what one call's database work costs,
before any thread hop or event-loop overhead).

Usage: python bench/ivr_db_cost.py [--calls 300] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ivr_capacity import DID, deploy_flow  # noqa: E402
from sqlalchemy import insert, select, update  # noqa: E402

from controlplane import stack  # noqa: E402
from controlplane.calls import machine, records, routing  # noqa: E402
from controlplane.config import load_settings  # noqa: E402
from controlplane.db import make_engine, make_sessionmaker  # noqa: E402
from controlplane.ivr import calendar_store, did_store  # noqa: E402
from controlplane.models import Tenant  # noqa: E402
from controlplane.models.calls import CallRecord  # noqa: E402
from controlplane.seed import DEMO_DOMAIN  # noqa: E402

RUNTIME = "/tmp/centrala-ivrdbcost"
BATCH = 50


def cpu_ms(fn: Callable[[int], object], n: int) -> float:
    """CPU ms per call of ``fn(i)`` for i in 0..n-1 (after one warm-up call)."""
    fn(-1)
    t = time.process_time()
    for i in range(n):
        fn(i)
    return round((time.process_time() - t) / n * 1000, 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ["CENTRALA_RUNTIME_DIR"] = RUNTIME
    settings = load_settings()
    db_file = Path(RUNTIME) / "centrala.db"
    db_file.unlink(missing_ok=True)
    stack.database(settings)
    deploy_flow(settings)
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    with factory() as s:
        tenant = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
    if tenant is None:
        print("the demo tenant is missing after seeding", file=sys.stderr)
        return 1
    binding = routing.inbound_binding(factory, DID, tenant)
    ivr_binding = replace(binding, ivr=True, dial=None, agent_endpoint=None)
    lookup = did_store.did_lookup(factory)
    run = f"{time.time():.0f}"

    def calendars(i: int) -> None:
        with factory() as s:
            calendar_store.calendars(s, tenant)

    def save_twice(i: int) -> None:
        state, _ = machine.start(machine.Entered(f"orm-{run}-{i}", "4860001", ivr_binding),
                                 datetime.now(UTC))
        records.save(factory, state, settings.recordings_dir)
        ended = replace(state, phase=machine.Phase.ENDED, ended_at=datetime.now(UTC),
                        hangup_cause=16)
        records.save(factory, ended, settings.recordings_dir)

    def core_twice(i: int) -> None:
        now = datetime.now(UTC)
        cid = f"core-{run}-{i}"
        with engine.begin() as c:
            c.execute(insert(CallRecord).values(
                call_id=cid, caller_channel=cid, direction="inbound", started_at=now,
                tenant_id=tenant, caller="4860001", callee=DID, status="active", phase="ivr"))
        with engine.begin() as c:
            c.execute(update(CallRecord).where(CallRecord.call_id == cid).values(
                ended_at=now, status="ended", phase="ended", duration_s=0.0, billsec_s=0.0))

    def core_batched(i: int) -> None:
        if i % BATCH:
            return
        now = datetime.now(UTC)
        with engine.begin() as c:
            c.execute(insert(CallRecord), [
                {"call_id": f"batch-{run}-{i}-{k}", "caller_channel": f"batch-{run}-{i}-{k}",
                 "direction": "inbound", "started_at": now, "tenant_id": tenant,
                 "caller": "4860001", "callee": DID, "status": "active", "phase": "ivr"}
                for k in range(BATCH)])

    out = {
        "inbound_binding_ms": cpu_ms(lambda i: routing.inbound_binding(factory, DID, tenant),
                                     args.calls),
        "flow_lookup_ms": cpu_ms(lambda i: lookup(DID), args.calls),
        "calendars_ms": cpu_ms(calendars, args.calls),
        "records_save_x2_ms": cpu_ms(save_twice, args.calls),
    }
    out["per_call_total_ms"] = round(sum(out.values()), 3)
    out["core_insert_update_ms"] = cpu_ms(core_twice, args.calls)
    out[f"core_insert_batched_{BATCH}_ms"] = cpu_ms(core_batched, args.calls * 4)
    engine.dispose()
    if args.json:
        print(json.dumps(out))
        return 0
    for k, v in out.items():
        print(f"{k:32} {v:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
