"""The miniCRM room: a tenant's contacts shown, searched, edited, merged and deleted.

Contacts are written by the CSV importer (:mod:`controlplane.campaigns.csv_import`) and
read by the dialer; this room is where people see and change them. Rooms as in DESIGN.md:
:mod:`.store` (SQL), :mod:`.service` (rules: numbers, custom fields, merges),
:mod:`.history` (one timeline of a contact), :mod:`.schemas`, :mod:`.exceptions` and
:mod:`.http` (pages and ``/api/v1/contacts`` together).
"""
