"""Outbound dialer: pacing policy, baselines, estimators and compliance formulas.

Every module in this package is pure (STYLE.md §1): no asyncio, no database, no
Redis. The campaign service feeds :mod:`controlplane.dialer.events` into
``step(state, event, now)`` functions and executes the ``Dial`` commands they
return. ``docs/dialer-pacing.md`` is the written specification;
``bench/dialer_sim.py`` measures the policy against the baselines.

Modules:

* :mod:`.events` -- the floor snapshot, events and commands (frozen dataclasses).
* :mod:`.estimators` -- online answer/machine-rate and duration estimators.
* :mod:`.compliance` -- abandon-rate formulas (US TSR, UK Ofcom) and redial lockouts.
* :mod:`.regulator` -- abandon budget per window, hard cap, allowed marginal risk.
* :mod:`.pacing` -- the Centrala predictive policy.
* :mod:`.baselines` -- progressive, fixed ratio and a port of VICIdial ADAPT_TAPERED.
"""
