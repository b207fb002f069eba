"""Prepare a celery broker database before the first worker starts: `python -m orchestration.celery_broker`.

kombu's SQLAlchemy transport creates its tables and its queue rows on first use, guarded only by a lock inside
one process. Workers starting together on a new broker database race: one fails on `CREATE SEQUENCE`, or on the
unique name of the `dagster` queue row (an IntegrityError, and the worker exits). Run once before the workers, it
creates both; run again, it changes nothing. Brokers other than `sqla+` need nothing and are left alone.
"""

from __future__ import annotations

import os
import sys

from dagster_celery.defaults import task_default_queue

from orchestration.definitions import CELERY_BROKER_ENV

SQLALCHEMY_SCHEME = "sqla+"
WORKER_QUEUES = (task_default_queue,)
"""The queues dagster-celery's workers consume (its app routes every step task to `dagster`)."""


def prepare_broker(broker_url: str, queues: tuple[str, ...] = WORKER_QUEUES) -> bool:
    """Create the transport's tables and a row for each queue; False when the broker needs no preparation."""
    if not broker_url.startswith(SQLALCHEMY_SCHEME):
        return False
    from kombu import Connection

    with Connection(broker_url) as connection:
        channel = connection.default_channel
        try:
            for queue in queues:
                channel.queue_declare(queue)  # the transport's get-or-create of the queue row (tables on first use)
        finally:
            channel.session.close()
            channel.close()
    return True


def main() -> int:
    broker_url = os.environ.get(CELERY_BROKER_ENV, "")
    if not broker_url:
        print(f"{CELERY_BROKER_ENV} is not set", file=sys.stderr)
        return 2
    prepared = prepare_broker(broker_url)
    scheme = broker_url.split("://", 1)[0]
    outcome = f"tables and queue(s) {', '.join(WORKER_QUEUES)} ready" if prepared else "nothing to prepare"
    print(f"celery broker ({scheme}): {outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
