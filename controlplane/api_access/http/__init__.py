"""API access in the panel: the "API tokens" page, ``/api/v1/tokens`` and the bearer hook.

* :mod:`.tokens` -- the page and the API (blueprint ``api_tokens``), which also installs
  :mod:`.bearer`'s hooks on the app (token → user, scope, monthly quota, headers).
* :mod:`.schemas` -- request and response models.

Like every ``controlplane.<domain>.http`` it imports no daemon code; ``web.create_app``
registers :data:`BLUEPRINTS`.
"""

from __future__ import annotations

from flask import Blueprint

from controlplane.api_access.http import tokens

BLUEPRINTS: tuple[Blueprint, ...] = (tokens.bp,)
