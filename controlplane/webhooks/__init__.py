"""Signed webhooks: a tenant's subscriptions to platform events, delivered at least once.

Rooms (DESIGN.md): :mod:`.events` (pure: event types, envelope, signature, backoff,
address rules), :mod:`.outbox` (the events written in the caller's transaction),
:mod:`.store` (subscriptions, fan-out, deliveries, the log), :mod:`.transport` (one POST to
a checked address), :mod:`.dispatch` (the due-time sweep) and :mod:`.service` (its daemon
loop), :mod:`.exceptions`, :mod:`.http` (pages and ``/api/v1/webhooks``). The RQ job is
:mod:`controlplane.jobs.webhooks`. See "Webhooks" in ``docs/ARCHITECTURE.md``.
"""
