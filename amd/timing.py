"""Timing features of the answer, updated every 20 ms frame (pure function).

Theory of operation: the speech gate (:mod:`amd.vad`) gives, per frame,
``raw`` (this frame is speech) and ``active`` (inside a speech segment, with
onset and hangover).  From these we keep what tells a person from a recording:
a person answers after a short pause with a short greeting and then waits in
silence; a recording talks long and nearly continuously.

* a *segment* is a run of active frames;
* the *first utterance* is speech from the first onset until the first pause
  of ``utt_gap_ms`` (pauses inside it are shorter);
* ``silence_ms`` is the time since the last raw speech frame;
* ``strong_ms`` counts raw speech frames at the level of the loudest voice
  heard (the gate's foreground reference): a recording keeps talking at its
  own level, while a person's short greeting over babble or TV leaves most of
  the "speech" span to a quieter background.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

UTT_GAP_MS = 400


@dataclass(frozen=True, slots=True)
class Timing:
    """All timing features at time ``t_ms`` (−1 means 'not yet')."""

    t_ms: int = 0
    first_speech_ms: int = -1
    last_speech_ms: int = -1
    seg_count: int = 0
    cur_seg_ms: int = 0
    longest_seg_ms: int = 0
    speech_ms: int = 0
    first_utt_end_ms: int = -1
    first_utt_segments: int = 0
    resume_ms: int = -1
    strong_ms: int = 0
    last_strong_ms: int = -1

    @property
    def heard_speech(self) -> bool:
        """True once the first speech segment started."""
        return self.first_speech_ms >= 0

    @property
    def silence_ms(self) -> int:
        """Time since the last raw speech frame (since the start when none yet)."""
        return self.t_ms - max(self.last_speech_ms, 0)

    @property
    def span_ms(self) -> int:
        """From first speech to the last speech frame (or now, mid-segment)."""
        if not self.heard_speech:
            return 0
        end = self.t_ms if self.cur_seg_ms else self.last_speech_ms
        return max(end - self.first_speech_ms, 0)

    @property
    def first_utt_ms(self) -> int:
        """Length of the first utterance (so far, while it lasts)."""
        if self.first_utt_end_ms >= 0:
            return self.first_utt_end_ms - self.first_speech_ms
        return self.span_ms

    @property
    def pause_after_first_ms(self) -> int:
        """Silence after the first utterance (until speech resumes)."""
        if self.first_utt_end_ms < 0:
            return 0
        end = self.resume_ms if self.resume_ms >= 0 else self.t_ms
        return end - self.first_utt_end_ms

    @property
    def strong_fraction(self) -> float:
        """Foreground-level speech time over the greeting span (1.0 before any span)."""
        span = self.span_ms
        return min(self.strong_ms / span, 1.0) if span > 0 else 1.0

    @property
    def strong_silence_ms(self) -> int:
        """Time since the last foreground-level speech frame."""
        return self.t_ms - max(self.last_strong_ms, self.first_speech_ms, 0)

    @property
    def speech_fraction(self) -> float:
        """Active speech time over the time since first speech."""
        if not self.heard_speech:
            return 0.0
        return self.speech_ms / max(self.t_ms - self.first_speech_ms, 1)


def update(
    tm: Timing,
    raw: bool,
    active: bool,
    frame_ms: int,
    strong: bool | None = None,
    jump: bool = False,
) -> Timing:
    """Return the timing features after one more frame.

    ``strong`` (default: ``raw``) marks raw speech at the level of the loudest
    voice heard so far; a background (babble, TV) stays below it.  ``jump``
    marks a voice much louder than anything before: what was counted as strong
    until then was background, so ``strong_ms`` restarts.
    """
    t = tm.t_ms + frame_ms
    changes: dict[str, int] = {"t_ms": t}
    if raw:
        changes["last_speech_ms"] = t
    strong_ms = 0 if jump else tm.strong_ms
    if (raw if strong is None else strong) and (tm.heard_speech or active):
        strong_ms += frame_ms
        changes["last_strong_ms"] = t
    if strong_ms != tm.strong_ms:
        changes["strong_ms"] = strong_ms
    if active:
        cur = tm.cur_seg_ms + frame_ms
        changes["cur_seg_ms"] = cur
        changes["speech_ms"] = tm.speech_ms + frame_ms
        changes["longest_seg_ms"] = max(tm.longest_seg_ms, cur)
        if tm.cur_seg_ms == 0:
            changes["seg_count"] = tm.seg_count + 1
            if tm.first_speech_ms < 0:
                changes["first_speech_ms"] = t - frame_ms
                changes["last_speech_ms"] = t
            elif tm.first_utt_end_ms >= 0 and tm.resume_ms < 0:
                changes["resume_ms"] = t - frame_ms
    elif tm.cur_seg_ms:
        changes["cur_seg_ms"] = 0
    new = dataclasses.replace(tm, **changes)
    if (
        new.first_utt_end_ms < 0
        and new.heard_speech
        and not active
        and new.silence_ms >= UTT_GAP_MS
    ):
        new = dataclasses.replace(
            new, first_utt_end_ms=new.last_speech_ms, first_utt_segments=new.seg_count
        )
    return new
