"""The databases of a distributed atqbo (BEY-06), before Airflow starts: says plainly when PostgreSQL or
Redis does not answer, creates the metadata and state databases when missing, and (``--reset-state``)
empties the state database, because the sandbox starts from its seed every time and the state (sync
records, the rotated QBO refresh token) must start with it.

Run by scripts/run_distributed.sh (`make run-distributed`) and by docker-compose.yaml's airflow-init.
"""

from __future__ import annotations

import argparse
import sys

import psycopg2
from psycopg2 import sql


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg-url", required=True, help="the server, as postgresql://user[:password]@host:port")
    parser.add_argument("--create", nargs="+", default=[], metavar="DB", help="databases to create when missing")
    parser.add_argument("--reset-state", metavar="DB", help="the state database to empty (atqbo_* tables dropped)")
    parser.add_argument("--redis-url", help="the Celery broker, checked to answer")
    args = parser.parse_args(argv)

    try:
        admin = psycopg2.connect(f"{args.pg_url}/postgres", connect_timeout=5)
    except Exception as exc:
        # the URL may hold a password: name the error's class only
        print(f"atqbo: PostgreSQL does not answer ({exc.__class__.__name__}); set ATQBO_PG_URL", file=sys.stderr)
        return 1
    admin.autocommit = True
    with admin.cursor() as cur:
        for name in args.create:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if not cur.fetchone():
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"atqbo: created PostgreSQL database {name}")
    admin.close()
    if args.reset_state:
        state = psycopg2.connect(f"{args.pg_url}/{args.reset_state}", connect_timeout=5)
        state.autocommit = True
        with state.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'atqbo%%'")
            for (table,) in cur.fetchall():
                cur.execute(sql.SQL("DROP TABLE {} CASCADE").format(sql.Identifier(table)))
        state.close()
    if args.redis_url:
        import redis

        try:
            redis.Redis.from_url(args.redis_url, socket_connect_timeout=5).ping()
        except Exception as exc:
            print(f"atqbo: Redis does not answer ({exc.__class__.__name__}); set ATQBO_REDIS_URL", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
