"""Marks a view carries to say how it may be reached (read by ``web.auth`` and the tests).

* :func:`public` -- deliberately reachable without login (``test_web_routes`` checks every
  route is either guarded or marked);
* :func:`signed_post` -- machines post to it, signed (an SMS gateway's webhook): no browser,
  no cookie, so no CSRF token; the view checks the signature itself;
* :func:`cookieless` -- a public view that never reads the session cookie (its caller proves
  itself otherwise, e.g. a chat's secret id): the CSRF check has nothing to protect there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    """Mark a view as deliberately reachable without login (checked by the tests)."""
    view.centrala_public = True  # type: ignore[attr-defined]
    return view


def signed_post(view: F) -> F:
    """Mark a signed machine post (see the module docstring)."""
    view.centrala_signed_post = True  # type: ignore[attr-defined]
    return view


def cookieless(view: F) -> F:
    """Mark a view that reads no session cookie (see the module docstring)."""
    view.centrala_cookieless = True  # type: ignore[attr-defined]
    return view
