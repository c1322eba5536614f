"""Mail out of the platform, and the local catcher that stands in for a mail server.

* :mod:`.send` -- :func:`~.send.send_mail` over SMTP to ``CENTRALA_SMTP_URL`` (plain,
  SMTPS or STARTTLS, optional login). Called from RQ jobs only, never from a request
  thread: a slow or absent mail server must not hold a page (``controlplane.jobs.mail``).
* :mod:`.catcher` -- an aiosmtpd server on loopback that keeps each message as an ``.eml``
  file (mode 0600) under ``<runtime>/mail``; ``make up`` runs it (``centrala mailcatcher``)
  when no ``CENTRALA_SMTP_URL`` is given, so a laptop install sends real SMTP and nobody's
  inbox receives it.
* :mod:`.mailbox` -- reads those files back (subject, recipients, time, text) for the
  platform operator's page and for tests.
"""
