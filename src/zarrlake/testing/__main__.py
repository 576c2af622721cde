"""``python -m zarrlake.testing postgres|postgres-stop DIR``: a PostgreSQL server for CI.

``DIR`` is created when missing; errors are one line on stderr (exit status 1).
"""

from __future__ import annotations

import sys

from zarrlake.errors import ZarrlakeError
from zarrlake.testing._servers import LocalPostgresServer


def _main(argv: list[str]) -> int:
    try:
        return _run(argv)
    except ZarrlakeError as error:  # one line, not a traceback
        print(f"error: {error}", file=sys.stderr)
        return 1


def _run(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "postgres":
        server = LocalPostgresServer(argv[1])
        server.start()
        print(server.url)
        return 0
    if len(argv) == 2 and argv[0] == "postgres-stop":
        LocalPostgresServer(argv[1]).stop()
        return 0
    print("usage: python -m zarrlake.testing postgres|postgres-stop DIR", file=sys.stderr)
    return 2


sys.exit(_main(sys.argv[1:]))
