"""Asterisk's own ``AMD()`` on a second snoop of the same party, for comparison only.

The reference snoop ``<id>-amd-ref`` is sent to the ``[centrala-amd]`` context, whose
``AMD()`` leaves ``STATUS/CAUSE/epoch`` in ``CENTRALA_AMD``; this polls that channel
variable with ARI GETs (through the executor) until it is set or the party is gone.
"""

from __future__ import annotations

import asyncio
import logging
import time

from controlplane.amd_live.objects import retry
from controlplane.amd_live.result import AMD_CONTEXT, AMD_RESULT_VAR, parse_app_amd
from controlplane.engine import commands as c
from controlplane.engine.ari_ import AriError
from controlplane.engine.executor import Executor

log = logging.getLogger(__name__)


async def app_amd(ari: Executor, ref_id: str, deadline: float) -> tuple[str, str, float] | None:
    """Send the reference snoop to ``AMD()`` and poll for its answer (status, cause, epoch s)."""
    try:
        await retry(
            lambda: ari.run(c.ContinueInDialplan(ref_id, AMD_CONTEXT, "s", 1)),
            until=min(deadline, time.monotonic() + 3),
            statuses=(404, 409, 422),
        )
        # AMD()'s total_analysis_time is 5 s from its start; allow for it past our deadline.
        poll_until = max(deadline, time.monotonic() + 5.5)
        while time.monotonic() < poll_until:
            await asyncio.sleep(0.1)
            try:
                value = await ari.channel_variable(ref_id, AMD_RESULT_VAR)
            except AriError as err:
                if err.status == 404:
                    return None  # "Provided channel was not found": the party hung up
                continue
            if value is None:
                continue  # not set yet: AMD() has not answered
            parsed = parse_app_amd(value)
            if parsed is not None:
                return parsed
        return None
    except AriError as err:
        log.warning("app_amd comparison on %s failed: %s", ref_id, err)
        return None
