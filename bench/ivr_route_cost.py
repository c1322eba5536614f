"""CPU of one inbound IVR call's routing look-ups: the ORM path against ``RouteCache``.

Same set-up as ``bench/ivr_db_cost.py`` (fresh SQLite, seeded, the ``ivr_capacity`` flow
bound to its DID). "before": ``routing.inbound_binding`` + ``did_store.did_lookup`` +
``calendar_store.calendars`` (three sessions, three thread hops in the daemon); "after":
``RouteCache.route`` warm (one session, one hop; the IVR then takes the calendars from
the cache). ms of process CPU per call.

Usage: python bench/ivr_route_cost.py [--calls 300] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import ivr_db_cost  # noqa: E402
from ivr_capacity import DID, deploy_flow  # noqa: E402
from sqlalchemy import select  # noqa: E402

from controlplane import stack  # noqa: E402
from controlplane.calls import routing  # noqa: E402
from controlplane.calls.routing_cache import RouteCache  # noqa: E402
from controlplane.config import load_settings  # noqa: E402
from controlplane.db import make_engine, make_sessionmaker  # noqa: E402
from controlplane.ivr import calendar_store, did_store  # noqa: E402
from controlplane.models import Tenant  # noqa: E402
from controlplane.seed import DEMO_DOMAIN  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import os

    os.environ["CENTRALA_RUNTIME_DIR"] = ivr_db_cost.RUNTIME + "-route"
    settings = load_settings()
    (Path(os.environ["CENTRALA_RUNTIME_DIR"]) / "centrala.db").unlink(missing_ok=True)
    stack.database(settings)
    deploy_flow(settings)
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    with factory() as s:
        tenant = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
    assert tenant is not None
    lookup = did_store.did_lookup(factory)
    routes = RouteCache(factory)

    def before(i: int) -> None:
        routing.inbound_binding(factory, DID, tenant)
        lookup(DID)
        with factory() as s:
            calendar_store.calendars(s, tenant)

    def after(i: int) -> None:
        route = routes.route(DID, tenant)
        assert route.flow is not None

    out = {"before_orm_ms": ivr_db_cost.cpu_ms(before, args.calls),
           "after_route_cache_ms": ivr_db_cost.cpu_ms(after, args.calls),
           "binding_only_orm_ms": ivr_db_cost.cpu_ms(
               lambda i: routing.inbound_binding(factory, DID, tenant), args.calls)}
    engine.dispose()
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:24} {v:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
