"""Create or drop a scratch PostgreSQL database on the CI server.

``python .ci/scratch_postgres.py create NAME`` prints the database's SQLAlchemy URL;
``drop NAME`` removes it. The server is ``AGENTFOLD_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import os
import sys

import psycopg
from sqlalchemy.engine import make_url


def main(action: str, name: str) -> None:
    """Run ``action`` ("create" or "drop") for the database ``name``."""
    server = make_url(os.environ["AGENTFOLD_TEST_POSTGRES_URL"])
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        if action == "create":
            conn.execute(f'CREATE DATABASE "{name}"')
            print(server.set(database=name).render_as_string(hide_password=False))
        else:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
