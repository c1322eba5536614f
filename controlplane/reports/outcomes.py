"""Reports of what calls came to: dispositions, campaign results, HLR look-ups (pure).

Theory of operation
-------------------
* Dispositions: every wrap-up an agent gave an inbound call (``call_wrapup``) and every
  campaign attempt's disposition (``dial_attempt.disposition_code``), counted per interval,
  source (``inbound`` or the campaign) and code. A wrap-up counts when it was written, an
  attempt when it was dialled.
* Campaign results: per interval and campaign, the attempts dialled, their outcomes
  (``outcome:<outcome>``), the AMD verdicts (``amd:<verdict>``), the connects to an agent,
  the disposed ones, and the wallboard's talk minutes per agent-hour and abandon rate
  (:func:`controlplane.acd.wallboard_figures.campaign_figures`, same formula as the live
  board): talk = agent connect → end of the connected attempts; agent-hours = the seconds
  the campaign queue's members were logged in during the interval (the agent-time report's
  ``logged_in``).
* HLR: look-ups per interval, status and provider.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controlplane.acd import wallboard_figures as wf
from controlplane.reports.periods import Buckets
from controlplane.reports.tables import Column, Table, dynamic


@dataclass(frozen=True, slots=True)
class Wrapup:
    at: float
    agent: str | None
    code: str


@dataclass(frozen=True, slots=True)
class Attempt:
    campaign: str
    at: float  # dialled
    agent: str | None
    outcome: str | None
    amd_verdict: str | None
    abandoned: bool
    disposition: str | None
    connect_at: float | None
    ended_at: float | None


@dataclass(frozen=True, slots=True)
class Lookup:
    at: float
    status: str
    provider: str


def dispositions(wrapups: Iterable[Wrapup], attempts: Iterable[Attempt], b: Buckets) -> Table:
    counts: dict[tuple[int, str, str], int] = {}
    for w in wrapups:
        n = b.index(w.at)
        if n is not None and w.code:
            counts[(n, "inbound", w.code)] = counts.get((n, "inbound", w.code), 0) + 1
    for a in attempts:
        n = b.index(a.at)
        if n is not None and a.disposition:
            key = (n, a.campaign, a.disposition)
            counts[key] = counts.get(key, 0) + 1
    rows = [{"period": n, "source": src, "code": code, "count": c}
            for (n, src, code), c in sorted(counts.items(), key=lambda kv: (
                kv[0][0], kv[0][1] != "inbound", kv[0][1], kv[0][2]))]
    return Table("dispositions", [Column("period", "period"), Column("source", "text"),
                                  Column("code", "text"), Column("count")], rows)


def campaigns(attempts: Iterable[Attempt], b: Buckets,
              agent_seconds: Mapping[tuple[int, str], float],
              members: Mapping[str, Sequence[str]], caps: Mapping[str, float]) -> Table:
    """``agent_seconds``: (interval, agent) → seconds logged in; ``members``: campaign →
    its queue's agents; ``caps``: campaign → abandon cap, %."""
    acc: dict[tuple[int, str], dict[str, Any]] = {}
    for a in attempts:
        n = b.index(a.at)
        if n is None:
            continue
        row = acc.setdefault((n, a.campaign), {"attempts": 0, "connects": 0, "live": 0,
                                               "abandoned": 0, "disposed": 0, "talk": 0.0})
        row["attempts"] += 1
        abandoned = a.abandoned or a.outcome == "abandoned"
        row["abandoned"] += abandoned
        row["live"] += abandoned or a.outcome == "human"  # the wallboard's "live answers"
        row["disposed"] += bool(a.disposition)
        if a.outcome:
            row[f"outcome:{a.outcome}"] = row.get(f"outcome:{a.outcome}", 0) + 1
        if a.amd_verdict:
            key = f"amd:{a.amd_verdict.lower()}"
            row[key] = row.get(key, 0) + 1
        if a.connect_at is not None:
            row["connects"] += 1
            if a.ended_at is not None:
                row["talk"] += max(0.0, a.ended_at - a.connect_at)
    rows = []
    for (n, cid), r in sorted(acc.items(), key=lambda kv: (kv[0][0], _order(kv[0][1]))):
        seconds = sum(agent_seconds.get((n, agent), 0.0) for agent in members.get(cid, ()))
        day = wf.CampaignDay(0, r["attempts"], r["connects"], r["live"], r["abandoned"],
                             r["talk"])
        fig = wf.campaign_figures(day, seconds, caps.get(cid, 3.0))
        out = {"period": n, "campaign": cid, "attempts": r["attempts"],
               "connects": r["connects"], "disposed": r["disposed"],
               "talk_s": round(r["talk"]), "agent_hours": fig["agent_hours"],
               "talk_min_per_agent_hour": fig["talk_min_per_agent_hour"],
               "abandon_rate_pct": fig["abandon_rate_pct"]}
        out.update({k: v for k, v in r.items() if ":" in k})
        rows.append(out)
    columns = [Column("period", "period"), Column("campaign", "text"), Column("attempts"),
               *dynamic("outcome", rows, "count"), *dynamic("amd", rows, "count"),
               Column("connects"), Column("disposed"), Column("talk_s", "seconds"),
               Column("agent_hours", "number"), Column("talk_min_per_agent_hour", "number"),
               Column("abandon_rate_pct", "pct")]
    for row in rows:
        for c in columns:
            if ":" in c.key:
                row.setdefault(c.key, 0)
    return Table("campaigns", columns, rows)


def hlr(lookups: Iterable[Lookup], b: Buckets) -> Table:
    counts: dict[tuple[int, str, str], int] = {}
    for x in lookups:
        n = b.index(x.at)
        if n is not None:
            counts[(n, x.status, x.provider)] = counts.get((n, x.status, x.provider), 0) + 1
    rows = [{"period": n, "status": st, "provider": p, "count": c}
            for (n, st, p), c in sorted(counts.items())]
    return Table("hlr", [Column("period", "period"), Column("status", "text"),
                         Column("provider", "text"), Column("count")], rows)


def _order(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (1 << 62, key)
