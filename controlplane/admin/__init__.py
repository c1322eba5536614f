"""The admin room (DESIGN.md "Rooms"): a tenant's phones, DIDs, trunks, outbound routes and
agent skills, run from the panel and the API with no SQL and no CLI step.

* :mod:`.schemas` -- one request schema per resource (pages, ``/api/v1``, API description).
* :mod:`.service` -- the rules (each broken one named by field) and the changes;
  :mod:`.trunks` the same for carriers' trunks (identified by address).
* :mod:`.outbound_routes` -- which trunk a dialled number leaves by (pure: longest prefix,
  strip/prepend); :mod:`.route_store` reads a tenant's routes for the call paths and the
  dialer; :mod:`.routes` and :mod:`.route_schemas` are their rules and request schemas.
* :mod:`.references` -- flows and the objects they name: publishing refuses a missing
  queue, sub-flow or prompt (JSON pointer); a queue a published flow uses is not deleted.
* :mod:`.store` -- the SQL, always tenant-scoped, with paging, filter and sort.
* :mod:`.apply` -- every change re-renders Asterisk's configuration, refused as a whole
  before the commit when Asterisk would not take it, then swapped in and reloaded.
* :mod:`.exceptions` -- the errors a user sees.
* :mod:`.http` -- the blueprints: ``/admin/...`` pages and ``/api/v1/phones``, ``dids``,
  ``trunks``, ``outbound-routes``, ``agent-skills``, ``skills``.
"""
