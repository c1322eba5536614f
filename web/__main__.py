"""``python -m web``: serve the panel with settings from the environment."""

import logging

from controlplane.config import load_settings
from web.server import serve

if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    serve(load_settings())
