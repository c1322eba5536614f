"""Jobs are never lost while Redis is down: the outbox.

Every enqueue site calls :func:`enqueue`. It queues the job on RQ at once when Redis
answers; when it does not (down, restarting, loading its append-only file), the job — its
function's import path, its arguments (ids only, STYLE.md §7: they are stored and logged)
and its RQ job id — goes into the ``job_outbox`` table instead, and the caller carries on.
The control plane drains the table every few seconds (:func:`drain`, called in a thread by
the daemon's loop :func:`controlplane.jobs.outbox_drain.run_drain`): each row is queued,
then stamped ``sent_at``. This module is synchronous (SQL and RQ only): the panel leaves
jobs here too, and must not import the daemon's asyncio side.

Each job once: queuing writes the job *and* a marker key ``centrala:outbox:queued:<job
id>`` in one Redis transaction (MULTI/EXEC, under WATCH of the marker). A job whose marker
exists is not queued again, so a drain that died between queuing and stamping the row, a
second drainer, or an enqueue whose reply was lost with the connection (the job may or may
not have reached Redis) never run a job twice. The marker outlives any plausible outage
(``MARKER_TTL_S``). Jobs must still be idempotent (they are: STYLE.md §7), because Redis
itself may lose its last second of writes when killed (``appendfsync everysec``).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError, WatchError
from rq import Queue, Retry
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from controlplane.bus import OUTBOX_QUEUED_PREFIX
from controlplane.db import transaction
from controlplane.models.base import utcnow
from controlplane.models.outbox import JobOutbox

log = logging.getLogger(__name__)

MARKER_TTL_S = 7 * 86400
DRAIN_BATCH = 200
# RQ options an enqueue site may give, by their ``Queue.enqueue`` names.
OPTIONS = {"job_timeout": "timeout", "result_ttl": "result_ttl", "ttl": "ttl",
           "failure_ttl": "failure_ttl", "description": "description"}
# ``{"retry_schedule": {"max": n, "interval": [s, ...]}}``: RQ runs a failed job again after
# each interval in turn (its scheduler: ``centrala worker`` runs one), at most ``max`` times
# (RQ's own ``Retry`` object is not JSON, so it cannot wait in the outbox table).
RETRY = "retry_schedule"


def marker_key(job_id: str) -> str:
    return f"{OUTBOX_QUEUED_PREFIX}{job_id}"


@dataclass(frozen=True)
class JobSpec:
    """A job as it is stored: everything in it is plain JSON."""

    func: str
    job_id: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    queue: str = "default"


@dataclass(frozen=True)
class Outcome:
    job_id: str
    queued: bool  # False: kept in the outbox until Redis is back


def func_path(func: Callable[..., Any] | str) -> str:
    """``module.function`` of a top-level function (RQ imports it by that path)."""
    if isinstance(func, str):
        return func
    path = f"{func.__module__}.{func.__qualname__}"
    if "<" in path or func.__module__ == "__main__":
        raise TypeError(f"{path}: a job must be a top-level function of an importable module")
    return path


def _check_json(value: Any, where: str) -> None:
    """Ids, not objects: only JSON scalars, lists and string-keyed dicts are accepted."""
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{where}: {value!r} is not a JSON number")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: key {key!r} is not a string")
            _check_json(item, f"{where}.{key}")
        return
    raise TypeError(f"{where}: {type(value).__name__} is not JSON; jobs take ids, not objects")


def make_spec(func: Callable[..., Any] | str, args: tuple[Any, ...] = (),
              kwargs: Mapping[str, Any] | None = None, *, job_id: str | None = None,
              options: Mapping[str, Any] | None = None, queue: str = "default") -> JobSpec:
    path = func_path(func)
    _check_json(list(args), f"{path} args")
    _check_json(dict(kwargs or {}), f"{path} kwargs")
    unknown = set(options or {}) - set(OPTIONS) - {RETRY}
    if unknown:
        raise TypeError(f"{path}: unknown job options {sorted(unknown)}; known: {sorted(OPTIONS)}")
    _check_json(dict(options or {}), f"{path} options")
    if RETRY in (options or {}):
        _retry(dict(options or {})[RETRY])  # a bad one fails here, not when queued later
    return JobSpec(path, job_id or f"job-{uuid.uuid4().hex}", tuple(args), dict(kwargs or {}),
                   dict(options or {}), queue)


def enqueue(queue: Queue, factory: sessionmaker[Session], func: Callable[..., Any] | str,
            *args: Any, job_id: str | None = None, options: Mapping[str, Any] | None = None,
            **kwargs: Any) -> Outcome:
    """Queue ``func(*args, **kwargs)`` now, or keep it in the outbox when Redis is unreachable.

    Raises only for programming errors (arguments that are not JSON) and when the database
    cannot take the row either (then nothing could have kept the job)."""
    spec = make_spec(func, args, kwargs, job_id=job_id, options=options, queue=queue.name)
    try:
        push(queue, spec)
        return Outcome(spec.job_id, True)
    except RedisError as err:
        keep(factory, spec, err)
        log.warning("Redis unreachable (%s): job %s (%s) kept in the outbox", type(err).__name__,
                    spec.job_id, spec.func)
        return Outcome(spec.job_id, False)


def _retry(option: Any) -> Retry:
    """``{"max": n, "interval": [s, ...]}`` (as stored in the outbox) as RQ's :class:`Retry`."""
    if not isinstance(option, dict) or set(option) - {"max", "interval"}:
        raise TypeError(f"retry_schedule option {option!r}: expected "
                        "{'max': n, 'interval': [s, ...]}")
    return Retry(max=int(option["max"]), interval=option.get("interval", 0))


def push(queue: Queue, spec: JobSpec) -> bool:
    """Queue ``spec`` with its marker in one transaction; False if it was queued before."""
    marker = marker_key(spec.job_id)
    rq_options: dict[str, Any] = {OPTIONS[k]: v for k, v in spec.options.items() if k != RETRY}
    if RETRY in spec.options:
        rq_options["retry"] = _retry(spec.options[RETRY])
    with queue.connection.pipeline() as pipe:
        try:
            pipe.watch(marker)  # type: ignore[no-untyped-call]
            if pipe.exists(marker):
                return False
            pipe.multi()
            queue.enqueue_call(spec.func, args=spec.args, kwargs=dict(spec.kwargs),
                               job_id=spec.job_id, pipeline=pipe, **rq_options)
            pipe.set(marker, "1", ex=MARKER_TTL_S)
            pipe.execute()
        except WatchError:
            return False  # queued meanwhile by someone else (its marker appeared)
    return True


def keep(factory: sessionmaker[Session], spec: JobSpec, err: BaseException | None = None) -> None:
    """Store ``spec`` in the outbox (a second call with the same job id changes nothing)."""
    try:
        with transaction(factory) as s:
            s.add(JobOutbox(job_id=spec.job_id, queue=spec.queue, func=spec.func,
                            args=list(spec.args), kwargs=dict(spec.kwargs),
                            options=dict(spec.options),
                            last_error=f"{type(err).__name__}: {err}"[:500] if err else ""))
    except IntegrityError:
        pass  # already kept (same job id): once is enough


@dataclass(frozen=True)
class Drained:
    sent: int = 0  # queued now
    already: int = 0  # their marker said they were queued before
    left: int = 0  # still waiting (Redis failed again)


def pending(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return len(s.scalars(select(JobOutbox.id).where(JobOutbox.sent_at.is_(None))).all())


def drain(factory: sessionmaker[Session], queues: Callable[[str], Queue],
          batch: int = DRAIN_BATCH) -> Drained:
    """Queue what the outbox holds, oldest first; stop at the first Redis failure."""
    with factory() as s:
        rows = s.scalars(select(JobOutbox).where(JobOutbox.sent_at.is_(None))
                         .order_by(JobOutbox.id).limit(batch)).all()
        specs = [(r.id, JobSpec(r.func, r.job_id, tuple(r.args), dict(r.kwargs),
                                dict(r.options), r.queue)) for r in rows]
    sent = already = 0
    for i, (row_id, spec) in enumerate(specs):
        try:
            fresh = push(queues(spec.queue), spec)
        except RedisError as err:
            with transaction(factory) as s:
                s.execute(update(JobOutbox).where(JobOutbox.id == row_id).values(
                    attempts=JobOutbox.attempts + 1,
                    last_error=f"{type(err).__name__}: {err}"[:500]))
            return Drained(sent, already, len(specs) - i)
        with transaction(factory) as s:
            s.execute(update(JobOutbox).where(JobOutbox.id == row_id,
                                              JobOutbox.sent_at.is_(None))
                      .values(sent_at=utcnow(), attempts=JobOutbox.attempts + 1))
        if fresh:
            sent += 1
            log.info("outbox: job %s (%s) queued", spec.job_id, spec.func)
        else:
            already += 1
    return Drained(sent, already, 0)

