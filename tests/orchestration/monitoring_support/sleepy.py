"""A code location with one job that waits, for the run-monitoring test (loaded by file path)."""

import time

from dagster import Definitions, job, op


@op
def wait_a_while() -> None:
    time.sleep(120)


@job
def sleepy_job() -> None:
    wait_a_while()


defs = Definitions(jobs=[sleepy_job])
