"""Outbound dialer: pacing, record selection, retries, compliance, and the campaign runner.

The pure core (STYLE.md §1) decides; the I/O modules read and write the campaign tables
and drive calls. The campaign runner feeds :mod:`controlplane.dialer.events` into
``step(state, event, now)`` functions and executes the ``Dial`` commands they return.
``docs/dialer-pacing.md`` is the written specification of pacing;
``bench/dialer_sim.py`` measures the policy against the baselines.
The pure modules below are on ``pyproject.toml``'s ``pure`` import contract
(``lint-imports``; ``tests/unit/test_purity_contract.py`` checks the list is whole).

Pure (no asyncio, network, database, Redis or processes; ``mypy --strict``):

* :mod:`.events` -- the floor snapshot, events and commands (frozen dataclasses).
* :mod:`.estimators` -- online answer/machine-rate and duration estimators.
* :mod:`.compliance` -- abandon-rate formulas (US TSR, UK Ofcom) and redial lockouts.
* :mod:`.regulator` -- abandon budget per window, hard cap, allowed marginal risk.
* :mod:`.pacing` -- the Centrala predictive policy.
* :mod:`.baselines` -- progressive, fixed ratio and a port of VICIdial ADAPT_TAPERED.
* :mod:`.records` -- the record vocabulary: outcomes, kinds, states, windows, blacklists.
* :mod:`.selection` -- which due records are dialled next (dialling order, calling hours).
* :mod:`.retry` -- what an attempt's outcome does to its record (retry rules, lockouts).
* :mod:`.callerid` -- which caller ID an attempt presents (fixed, local presence, pool).
* :mod:`.dispositions` -- what an agent's disposition does to a record.
* :mod:`.live` -- the ``dialer.place`` request and the attempt's result, as the call side
  sees them.
* :mod:`.exceptions` -- the dialer's errors (under ``controlplane.errors.CentralaError``).

I/O:

* :mod:`.store` -- the campaign tables as the pure core sees them (plans, records,
  blacklists, caller-ID use).
* :mod:`.attempt_store` -- the writes of an attempt's life (reserve, release, refuse,
  finish, recover).
* :mod:`.preview_store` -- preview campaigns' tables (an agent's batch, dial, skip).
* :mod:`.preview` -- preview dialing in the daemon (commands from the panel, the calls).
* :mod:`.runner` -- the campaign runner: once a second, how many calls each campaign starts.
"""
