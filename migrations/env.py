"""Alembic environment: the URL comes from the caller (controlplane.migrate), never from a file."""

from alembic import context

from controlplane.db import make_engine
from controlplane.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "controlplane.migrate sets sqlalchemy.url"


def run() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
