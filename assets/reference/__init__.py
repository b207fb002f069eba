"""Reference data: the slowly changing tables every play is matched and paid against (catalog, rights, stations,
programme schedules, tariffs, fingerprints, contacts). The assets belong to their domains; what is shared across
them lives here: the job that refreshes them all, and the check that flags a change held for a person.
"""

from dagster import Definitions

from assets.reference.checks import REFERENCE_CHECKS
from assets.reference.jobs import reference_data_job

defs = Definitions(asset_checks=REFERENCE_CHECKS, jobs=[reference_data_job])
