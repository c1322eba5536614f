"""The recordings app's room: tags, deletion with audit, retention, ZIP exports.

* :mod:`.store` -- tags on recordings, the tenant's retention policy, and deletion of a
  recording (the file and its metadata, the call record kept, audited).

The page and ``/api/v1/recordings`` are in :mod:`controlplane.calls.http` (beside the call
records they read); the RQ jobs in :mod:`controlplane.jobs.recordings_retention` and
:mod:`controlplane.jobs.recordings_zip`.
"""
