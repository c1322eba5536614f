"""The API's own pages: its OpenAPI description and the reference page built from it.

* :mod:`.openapi` -- the OpenAPI 3.1 document, generated from the URL map and the views'
  declared schemas, roles and responses.
* :mod:`.responses` -- :func:`~.responses.responds` and the one error shape.
* :mod:`.docs` -- ``/api/v1/openapi.json`` and ``/api/docs`` (blueprint ``api_docs``).
"""

from __future__ import annotations
