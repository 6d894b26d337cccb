"""Alembic environment: migrates the case database named in the Alembic config."""

from alembic import context
from sqlalchemy import create_engine

from models.tables.base import Base

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("the Alembic config names no database (sqlalchemy.url)")
    return url


def run_migrations_online() -> None:
    # a migration that seals or copies personal values never shows them in an error
    engine = create_engine(database_url(), hide_parameters=True)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=database_url(), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
