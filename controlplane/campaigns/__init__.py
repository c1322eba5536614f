"""Outbound campaigns, data side: numbers (E.164), the miniCRM store, CSV import, HLR, the CLI.

The dialing logic (record selection, retries, caller ID, dispositions) is pure and lives
in :mod:`controlplane.dialer`; this package reads and writes the tables it works on
(:mod:`controlplane.models.campaigns`). The pure modules below are on
``pyproject.toml``'s ``pure`` import contract (``tests/unit/test_purity_contract.py``).

Pure (no asyncio, network, database, Redis or processes):

* :mod:`.exceptions` -- the campaign errors (under ``controlplane.errors.CentralaError``).
* :mod:`.fields` -- the values a campaign or contact may take (time zone, priority, …).
* :mod:`.numbers` -- phone numbers to E.164, their kind and region (``phonenumbers``).
* :mod:`.csv_rows` -- reading a contacts CSV: limits, columns, each row parsed or rejected.

I/O:

* :mod:`.store` -- campaigns, contacts, records and the blacklist in the database.
* :mod:`.recontacts` -- scheduled call-backs of records.
* :mod:`.bulk_contacts` -- the SQL of a CSV import batch (look-ups, inserts, updates).
* :mod:`.csv_import` -- a CSV file of contacts into a campaign, batch by batch.
* :mod:`.import_runs` -- an import run: file, progress, rejected rows (the RQ job's code).
* :mod:`.settings` -- a campaign's settings from the panel or the API: every field checked
  with the dialer's own rules, all errors at once, then written (create, update, archive).
* :mod:`.dispositions` -- dispositions: the admin's codes and an agent disposing a call.
* :mod:`.hlr` -- HLR look-ups of campaign numbers (policy, and the HTTP provider).
* :mod:`.blacklist` -- the blacklist as people keep it: typed patterns, files, scopes.
* :mod:`.caller_ids` -- the caller-ID pool: numbers, campaign, tainted, cap, today's use.
* :mod:`.recontact_list` -- recontacts listed for supervisors, rescheduled, cancelled.
* :mod:`.cli`, :mod:`.import_cli` -- the ``centrala campaign`` commands.
* :mod:`.http` -- the panel's campaign pages, ``/api/v1`` and contact imports.
"""
