"""Builds one report: reads the tenant's rows (:mod:`.store`), folds them with the pure
builders, and names what the rows hold (agents, queues, campaigns, periods).

Theory of operation
-------------------
The filters' local days become buckets in the tenant's zone (:mod:`.periods`); the store
reads the rows of ``[first midnight, last midnight + 1 day)``; a builder returns a
:class:`~.tables.Table` whose subjects are ids and whose periods are bucket indexes;
:func:`run` then resolves them: ``period`` becomes the bucket's local start (ISO 8601 with
the offset), and each subject column gets a ``<subject>_name`` column next to it. The
page, the API and both file formats print that one result. During a request the reads are
capped (:data:`~.filters.MAX_ROWS_INLINE` rows, :data:`~.filters.MAX_DAYS_INLINE` days):
beyond, :class:`~.exceptions.ReportTooLong` says to export it, which runs the same code in
an RQ job without the cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from controlplane.reports import agent_time, calls, outcomes, store
from controlplane.reports.exceptions import ReportTooLong
from controlplane.reports.filters import MAX_DAYS_INLINE, MAX_ROWS_INLINE, Filters
from controlplane.reports.periods import Buckets, buckets
from controlplane.reports.tables import Column, Table

SUBJECTS = ("agent", "queue", "campaign", "source")


@dataclass
class Report:
    name: str
    filters: Filters
    zone: str
    buckets: Buckets
    columns: list[Column]
    rows: list[dict[str, Any]]
    break_labels: dict[str, str]


def _check(rows: Sequence[Any], limit: int | None) -> None:
    if limit is not None and len(rows) > limit:
        raise ReportTooLong(
            f"this report reads more than {limit} rows; export it (it is built in the "
            "background) or narrow the range",
            details={"limit": limit})


def run(s: Session, tenant_id: int, name: str, f: Filters, now: float,
        *, inline: bool = True) -> Report:
    """Report ``name`` of ``tenant_id`` for filters ``f``; ``inline``: within a request
    (capped; see the module docstring)."""
    if inline and f.days > MAX_DAYS_INLINE:
        raise ReportTooLong(
            f"a range of more than {MAX_DAYS_INLINE} days is exported, not shown; "
            "export it (it is built in the background) or narrow the range",
            details={"days": f.days, "limit": MAX_DAYS_INLINE})
    limit = MAX_ROWS_INLINE if inline else None
    zone = store.time_zone(s, tenant_id)
    b = buckets(f.first, f.last, zone, f.interval)
    table = _build(s, tenant_id, name, f, b, now, limit)
    return _resolve(s, tenant_id, name, f, zone, b, table)


def _agent_seconds(statuses: Sequence[Any], b: Buckets, now: float
                   ) -> dict[tuple[int, str], float]:
    t = agent_time.agent_time(statuses, b, now)
    return {(r["period"], r["agent"]): float(r["logged_in"]) for r in t.rows}


def _build(s: Session, tenant_id: int, name: str, f: Filters, b: Buckets, now: float,
           limit: int | None) -> Table:
    agents_ = f.agents
    if name == "agent_time":
        rows = store.status_records(s, tenant_id, b.start, b.end, agents_, limit)
        _check(rows, limit)
        return agent_time.agent_time(rows, b, now)
    if name in ("calls_by_queue", "calls_by_agent", "abandons"):
        records = store.queue_records(s, tenant_id, b.start, b.end, f.queues, limit)
        _check(records, limit)
        if name == "calls_by_queue":
            thresholds = {str(q): thr for q, (_, thr) in store.queues(s, tenant_id).items()}
            return calls.calls_by_queue(records, b, thresholds, now)
        if name == "abandons":
            return calls.abandons(records, b)
        table = calls.calls_by_agent(records, b)
        if agents_:
            wanted = {str(a) for a in agents_}
            table.rows = [r for r in table.rows if r["agent"] in wanted]
        return table
    if name == "dispositions":
        wrapups = [] if f.campaign is not None else store.wrapups(
            s, tenant_id, b.start, b.end, agents_, limit)
        _check(wrapups, limit)
        tries = store.attempts(s, tenant_id, b.start, b.end, f.campaign, agents_, limit)
        _check(tries, limit)
        return outcomes.dispositions(wrapups, tries, b)
    if name == "campaigns":
        tries = store.attempts(s, tenant_id, b.start, b.end, f.campaign, agents_, limit)
        _check(tries, limit)
        info = store.campaigns(s, tenant_id)
        queue_members = store.members(s, tenant_id)
        members = {str(cid): [str(u) for u in queue_members.get(qid or -1, [])]
                   for cid, (_, qid, _) in info.items()}
        people = sorted({int(a) for m in members.values() for a in m})
        statuses = store.status_records(s, tenant_id, b.start, b.end, people, limit)
        _check(statuses, limit)
        caps = {str(cid): cap for cid, (_, _, cap) in info.items()}
        return outcomes.campaigns(tries, b, _agent_seconds(statuses, b, now), members, caps)
    if name == "hlr":
        found = store.lookups(s, tenant_id, b.start, b.end, limit)
        _check(found, limit)
        return outcomes.hlr(found, b)
    raise KeyError(name)


def _resolve(s: Session, tenant_id: int, name: str, f: Filters, zone: str, b: Buckets,
             table: Table) -> Report:
    keys = set(table.keys())
    names: dict[str, dict[str, str]] = {}
    if "agent" in keys:
        names["agent"] = {str(k): v for k, v in store.agents(s, tenant_id).items()}
    if "queue" in keys:
        names["queue"] = {str(k): n for k, (n, _) in store.queues(s, tenant_id).items()}
    if "campaign" in keys or "source" in keys:
        names["campaign"] = {str(k): n for k, (n, _, _) in store.campaigns(s, tenant_id).items()}
        names["source"] = names["campaign"]
    labels = store.disposition_labels(s, tenant_id) if name == "dispositions" else {}
    columns: list[Column] = []
    for c in table.columns:
        if c.key in SUBJECTS:
            columns += [Column(c.key, "id"), Column(f"{c.key}_name", "text")]
        else:
            columns.append(c)
        if name == "dispositions" and c.key == "code":
            columns.append(Column("label", "text"))
    rows = []
    for r in table.rows:
        out = dict(r)
        out["period"] = b.items[r["period"]].key
        for subject in SUBJECTS:
            if subject in r:
                value = r[subject]
                out[subject] = int(value) if str(value).isdigit() else value
                out[f"{subject}_name"] = names.get(subject, {}).get(str(value), str(value))
        if name == "dispositions":
            out["label"] = (labels.get((r["source"], r["code"]))
                            or labels.get(("*", r["code"])) or r["code"])
        rows.append(out)
    breaks = store.break_labels(s, tenant_id) if name == "agent_time" else {}
    return Report(name, f, zone, b, columns, rows, breaks)
