"""The agent desktop: what the agent's phone is doing now, and what the agent says after.

* :mod:`.interaction` -- the current interaction card: the agent's live call (Redis) with
  its caller's miniCRM contact and history, queue, wait, DID, IVR variables and campaign
  record fields (database), as one JSON document;
* :mod:`.wrapup` -- dispositions for every call (the tenant's list), notes and a
  scheduled recontact: :func:`.wrapup.wrap_up`;
* :mod:`.screen_pop` -- the tenant's screen-pop URL template: validation and filling;
* :mod:`.http` -- the agent's API and SSE stream, the admin's settings.
"""
