"""The call domain's pure machines: ``step(state, event, now) -> (state, commands)``, no I/O.

* :mod:`.call_state` — a call's state (:class:`~.call_state.CallState`), the ids derived
  from the call id, and what the carrier bills.
* :mod:`.call_events` — the events the machines understand and the commands they emit
  besides the engine's (:mod:`controlplane.engine.commands`).
* :mod:`.call` — the call-leg machine: its transition table and ``step``.
* :mod:`.campaign` — a campaign call before it reaches the queue (dial, answer, AMD).

Older import paths (``controlplane.calls.machine``, ``controlplane.calls.campaign_machine``)
re-export these names.
"""
