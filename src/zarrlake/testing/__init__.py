"""What tests of zarrlake, and of its plugins, need: real servers and conformance suites.

- :class:`LocalS3Server` runs ``python -m moto.server`` on 127.0.0.1 and a free port;
  :class:`LocalPostgresServer` a throw-away PostgreSQL cluster (``python -m
  zarrlake.testing postgres DIR`` starts one for CI and prints its URL).
- :class:`zarrlake.testing.backends.BackendTests` is the contract every file-path
  storage backend keeps: a plugin author subclasses it, names the backend class, and
  pytest runs the whole contract on it (as zarr ships ``StoreTests``);
  :class:`zarrlake.testing.stores.StoreTests` is the same for store kinds (URLs).

These need the ``dev`` extra (pytest, moto).
"""

from zarrlake.testing._servers import (
    TEST_CREDENTIALS,
    LocalPostgresServer,
    LocalS3Server,
    create_postgres_database,
    postgres_binaries,
)

__all__ = [
    "TEST_CREDENTIALS",
    "LocalPostgresServer",
    "LocalS3Server",
    "create_postgres_database",
    "postgres_binaries",
]
