"""RQ jobs: HLR-check the numbers of a campaign (or of some phones) and act on the answers.

Take ids, not objects (STYLE.md §7); idempotent and safe to retry. Each provider batch is
written (its ``hlr_result`` rows and the records it closes) in one transaction, so a job
killed half-way keeps what it learnt: the retry reuses those answers from the cache
(:func:`controlplane.campaigns.hlr.cached_status`) and asks only about the rest. A second
run changes nothing. Only records waiting to be dialled (``fresh``/``scheduled``) are
acted on, with a conditional UPDATE, so a record the runner has just taken
(``in_progress``) is never closed under it. Closing is final: a number that comes back
to life later does not reopen its record.

The provider comes from the worker's settings (``CENTRALA_HLR_*``), never from the job's
arguments: those are stored in Redis and logged by RQ, and the key is a secret.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session, sessionmaker

from controlplane.campaigns import hlr
from controlplane.campaigns.exceptions import NotFound
from controlplane.config import Settings, load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models.base import utcnow
from controlplane.models.campaigns import Campaign, CampaignRecord, ContactPhone, HlrResult

log = logging.getLogger(__name__)
T = TypeVar("T")

WAITING = ("fresh", "scheduled")  # the states the runner dials
COUNTS = ("checked", "cached", "active", "inactive", "unknown", "errors", "ignored", "closed")


def check_campaign(
    campaign_id: int, *, skip_uncertain: bool = False, database_url: str | None = None
) -> dict[str, int]:
    """HLR-check the numbers of the campaign's records waiting to be dialled; close those
    whose number is inactive. Returns the counts (see :func:`run_check`)."""
    settings = load_settings()
    return run_campaign(
        settings, campaign_id, skip_uncertain=skip_uncertain, database_url=database_url
    )


def check_numbers(
    tenant_id: int,
    phone_ids: Sequence[int],
    *,
    skip_uncertain: bool = False,
    database_url: str | None = None,
) -> dict[str, int]:
    """HLR-check the tenant's phones ``phone_ids`` (other tenants' ids are ignored) and
    act on every waiting record dialling one of them, in any campaign of the tenant."""
    settings = load_settings()
    provider = hlr.provider_from_settings(settings)
    policy = hlr.HlrPolicy(skip_uncertain=skip_uncertain)
    with _factory(database_url or settings.database_url) as factory:
        with factory() as s:
            phones = _phones(
                s, ContactPhone.tenant_id == tenant_id, ContactPhone.id.in_(list(phone_ids))
            )
        scope = CampaignRecord.tenant_id == tenant_id
        counts = run_check(factory, provider, tenant_id, phones, scope, policy, utcnow())
    _report(f"{len(phone_ids)} phones of tenant #{tenant_id}", counts)
    return counts


def run_campaign(
    settings: Settings,
    campaign_id: int,
    *,
    skip_uncertain: bool = False,
    database_url: str | None = None,
    provider: hlr.HlrProvider | None = None,
) -> dict[str, int]:
    """:func:`check_campaign` with explicit settings (the CLI's ``--sync`` runs this)."""
    provider = provider or hlr.provider_from_settings(settings)
    policy = hlr.HlrPolicy(skip_uncertain=skip_uncertain)
    with _factory(database_url or settings.database_url) as factory:
        with factory() as s:
            campaign = s.get(Campaign, campaign_id)
            if campaign is None:
                raise NotFound(f"no campaign #{campaign_id}")
            tenant = campaign.tenant_id
            phones = _phones(
                s,
                ContactPhone.id.in_(
                    select(CampaignRecord.phone_id).where(
                        CampaignRecord.campaign_id == campaign_id,
                        CampaignRecord.state.in_(WAITING),
                    )
                ),
            )
        scope = CampaignRecord.campaign_id == campaign_id
        counts = run_check(factory, provider, tenant, phones, scope, policy, utcnow())
    _report(f"campaign #{campaign_id}", counts)
    return counts


def _report(what: str, counts: dict[str, int]) -> None:
    log.info("HLR check of %s: %s", what, ", ".join(f"{k} {v}" for k, v in counts.items()))


def run_check(
    factory: sessionmaker[Session],
    provider: hlr.HlrProvider,
    tenant: int,
    phones: Sequence[tuple[int, str, str]],
    scope: ColumnElement[bool],
    policy: hlr.HlrPolicy,
    now: datetime,
) -> dict[str, int]:
    """Check ``phones`` (id, number, kind) of ``tenant`` and act on the waiting records
    within ``scope``. Counts are of numbers, except ``closed`` (records closed now):
    ``checked`` asked now, ``cached`` answered from earlier results, ``active`` …
    ``errors`` by status, ``ignored`` not worth a look-up (not mobile)."""
    counts: Counter[str] = Counter({k: 0 for k in COUNTS})
    wanted = {number: pid for pid, number, kind in phones if hlr.should_check(kind, policy)}
    counts["ignored"] = len(phones) - len(wanted)
    with factory() as s:
        cached = _cached(s, tenant, list(wanted), now, policy)
    ask = [n for n in wanted if n not in cached]
    counts["cached"], counts["checked"] = len(cached), len(ask)
    if cached:
        with transaction(factory) as s:
            counts["closed"] += _act(s, scope, wanted, cached, policy)
    for batch in hlr.batches(ask, policy.batch_size):
        answers = _lookup(provider, batch)
        with transaction(factory) as s:
            s.add_all(
                HlrResult(
                    tenant_id=tenant,
                    number=n,
                    status=a.status,
                    provider=provider.name[: hlr.PROVIDER_MAX],
                    detail=a.describe(),
                    checked_at=now,
                )
                for n, a in answers.items()
            )
            statuses = {n: a.status for n, a in answers.items()}
            counts["closed"] += _act(s, scope, wanted, statuses, policy)
        cached.update(statuses)
        failed = [a.detail for a in answers.values() if a.status == "error"]
        if failed:
            log.warning(
                "HLR provider %s: %d of %d numbers unanswered (%s)",
                provider.name,
                len(failed),
                len(batch),
                "; ".join(sorted(set(failed)))[:300],
            )
    for status in cached.values():
        counts["errors" if status == "error" else status] += 1
    return dict(counts)


def _lookup(provider: hlr.HlrProvider, batch: Sequence[str]) -> dict[str, hlr.HlrAnswer]:
    """The provider's answers for ``batch``, completed with errors; a provider that
    raises (it should not) costs this batch, not the job."""
    try:
        answers = provider.lookup(batch)
    except Exception as err:  # noqa: BLE001  (a third-party provider's bug)
        answers = hlr.errors(batch, f"the HLR provider failed: {type(err).__name__}")
    answers = {n: a for n, a in answers.items() if n in batch and a.status in hlr.STATUSES}
    answers.update(
        hlr.errors(
            [n for n in batch if n not in answers],
            "the HLR provider gave no usable answer for this number",
        )
    )
    return answers


def _act(
    s: Session,
    scope: ColumnElement[bool],
    phone_of: dict[str, int],
    statuses: dict[str, str],
    policy: hlr.HlrPolicy,
) -> int:
    """Close the waiting records in ``scope`` whose number's status says skip; return how
    many were closed (records already closed or taken by the runner are left alone)."""
    skip = [phone_of[n] for n, status in statuses.items() if hlr.action(status, policy) == "skip"]
    closed = 0
    for chunk in _chunks(skip, 500):
        result = s.execute(
            update(CampaignRecord)
            .where(scope, CampaignRecord.phone_id.in_(chunk), CampaignRecord.state.in_(WAITING))
            .values(state="closed", last_outcome="skipped")
            .execution_options(synchronize_session=False)
        )
        closed += result.rowcount  # type: ignore[attr-defined]
    return closed


def _cached(
    s: Session, tenant: int, numbers: Sequence[str], now: datetime, policy: hlr.HlrPolicy
) -> dict[str, str]:
    """The reusable status of each of ``numbers`` that has one (:func:`hlr.cached_status`)."""
    since = now - timedelta(seconds=max(policy.max_age_s, policy.error_retry_s))
    history: dict[str, list[tuple[str, datetime]]] = {}
    for chunk in _chunks(list(numbers), 500):
        for number, status, checked_at in s.execute(
            select(HlrResult.number, HlrResult.status, HlrResult.checked_at).where(
                HlrResult.tenant_id == tenant,
                HlrResult.number.in_(chunk),
                HlrResult.checked_at >= since,
            )
        ):
            history.setdefault(number, []).append((status, checked_at))
    reusable = {number: hlr.cached_status(rows, now, policy) for number, rows in history.items()}
    return {number: status for number, status in reusable.items() if status is not None}


def _phones(s: Session, *where: ColumnElement[bool]) -> list[tuple[int, str, str]]:
    rows = s.execute(
        select(ContactPhone.id, ContactPhone.number, ContactPhone.kind)
        .where(*where)
        .order_by(ContactPhone.id)
    )
    return [(pid, number, kind) for pid, number, kind in rows]


def _chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


@contextmanager
def _factory(url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on its own engine, disposed afterwards (a job runs in a worker
    that outlives it)."""
    engine = make_engine(url)
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()
