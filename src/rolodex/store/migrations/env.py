"""Alembic environment: runs on the engine handed over by rolodex.store.migrate."""

from __future__ import annotations

from alembic import context

import rolodex.model
from rolodex.store.engine import make_engine

config = context.config
target_metadata = rolodex.model.Base.metadata


def run_migrations() -> None:
    """Run migrations on the configured engine (or on -x url=... from the alembic CLI)."""
    engine = config.attributes.get("engine")
    if engine is None:
        engine = make_engine(context.get_x_argument(as_dictionary=True)["url"])
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
