"""Outbound campaigns, data side: numbers (E.164), the miniCRM store, CSV import, the CLI.

The dialing logic (record selection, retries, caller ID, dispositions) is pure and lives
in :mod:`controlplane.dialer`; this package reads and writes the tables it works on
(:mod:`controlplane.models.campaigns`).
"""
