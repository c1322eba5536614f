"""The IVR domain's errors (flow store, prompt uploads, speech synthesis), under the one
root :class:`controlplane.errors.CentralaError`: each carries the HTTP ``status`` and the
machine-readable ``error_id`` the panel and the API answer with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from controlplane.errors import CentralaError

if TYPE_CHECKING:
    from ivr_flows.errors import FlowError


class IvrError(CentralaError):
    """Base of the IVR domain's errors."""

    status = 400
    error_id = "ivr_error"


class IvrStoreError(IvrError):
    """Base of the flow store's errors; ``str()`` says what was wrong."""


class FlowInvalid(IvrStoreError):
    """The document failed validation; ``errors`` holds every :class:`FlowError`."""

    status = 422
    error_id = "invalid_flow"

    def __init__(self, errors: list[FlowError]) -> None:
        self.errors = list(errors)
        super().__init__(
            f"flow document has {len(self.errors)} error(s): "
            + "; ".join(str(e) for e in self.errors[:5])
            + (" ..." if len(self.errors) > 5 else ""),
            details={"errors": [dict(e.__dict__) for e in self.errors]},
        )


class FlowNotFound(IvrStoreError):
    """No such flow, version or DID in this tenant (also said for other tenants' objects)."""

    status = 404
    error_id = "not_found"


class PublishedVersionImmutable(IvrStoreError):
    """A published version was about to be changed."""

    status = 409
    error_id = "conflict"


class NotPublished(IvrStoreError):
    """Rollback to a version that was never published."""

    status = 409
    error_id = "conflict"


class AudioRejected(IvrError, ValueError):
    """An uploaded prompt is not usable; the message says why. Also a ValueError, as it
    was before the one root (callers validating input catch that)."""

    error_id = "audio_rejected"


class TtsError(IvrError):
    """Synthesis failed; the message names the step and what the tool said."""

    status = 502
    error_id = "tts_failed"
