"""The admin room (DESIGN.md "Rooms"): a tenant's phones, DIDs and agent skills, run from the
panel and the API with no SQL and no CLI step.

* :mod:`.schemas` -- one request schema per resource (pages, ``/api/v1``, API description).
* :mod:`.service` -- the rules (each broken one named by field) and the changes.
* :mod:`.store` -- the SQL, always tenant-scoped, with paging, filter and sort.
* :mod:`.apply` -- every change re-renders Asterisk's configuration, refused as a whole
  before the commit when Asterisk would not take it, then swapped in and reloaded.
* :mod:`.exceptions` -- the errors a user sees.
* :mod:`.http` -- the blueprints: ``/admin/...`` pages and ``/api/v1/phones``, ``dids``,
  ``agent-skills``, ``skills``.
"""
