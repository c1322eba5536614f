"""The desk's e-mail channel: a tenant's mailboxes (IMAP to read, SMTP to answer).

* :mod:`.vault` keeps the mailbox passwords encrypted at rest (Fernet, key under the
  runtime folder);
* :mod:`.parse` (pure) turns a raw message into what a ticket needs (ids for threading,
  text, attachments, "automatic?"); :mod:`.rules` (pure) picks the queue;
* :mod:`.reader` polls one mailbox over IMAP into :func:`controlplane.desk.threads.receive`;
  :mod:`.poller` is the process (``centrala desk mail-poller``) that polls every active
  mailbox on its cadence;
* :mod:`.outgoing` sends an agent's reply through the mailbox's SMTP with the threading
  headers (:func:`.outgoing.deliver`, called by the tickets' reply job);
* :mod:`.survey` the satisfaction survey linked from a reply that solves a ticket;
* :mod:`.service`/:mod:`.store`/:mod:`.http` the admin pages and API (``/admin/mailboxes``,
  ``/api/v1/mailboxes``) and :mod:`.connection` their "test connection".
"""
