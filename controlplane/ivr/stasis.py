"""The IVR domain's ARI events: playbacks and recordings named ``<call>~<id>``.

A flow's Asterisk objects carry the call id, the separator ``~`` and the flow's own id
(:func:`controlplane.ivr.session.ari_id`); the router hands every such object's events
here, whatever the flow's id ends with. Keys pressed in a flow reach it through the call
service's DTMF handling (the caller's channel is the call's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controlplane.engine import events as ev
from controlplane.ivr.session import SEP, split_id
from ivr_flows import events as ie

if TYPE_CHECKING:
    from controlplane.calls.stasis import StasisRouter
    from controlplane.ivr.service import IvrCalls


def register(router: StasisRouter, ivr: IvrCalls) -> None:
    async def object_event(call_id: str, event: ev.Event) -> None:
        """A playback or recording of a flow ended."""
        if isinstance(event, ev.PlaybackFinished) and (ids := split_id(event.playback_id)):
            await ivr.to_flow(call_id, ie.PlaybackFinished(ids[1]))
        elif isinstance(event, ev.RecordingFinished) and (ids := split_id(event.name)):
            await ivr.to_flow(call_id, ie.RecordingFinished(ids[1], event.duration_s))
        elif isinstance(event, ev.RecordingFailed) and (ids := split_id(event.name)):
            await ivr.to_flow(call_id, ie.RecordingFinished(ids[1], None, event.cause))

    router.object_separator(SEP, object_event)
