"""``python -m web``: serve the panel with settings from the environment (logging is set
up by :func:`web.server.serve`, as for ``centrala web``)."""

from controlplane.config import load_settings
from web.server import serve

if __name__ == "__main__":
    serve(load_settings())
