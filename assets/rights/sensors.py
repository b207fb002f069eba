"""Rights' sensor: new or changed files in the rights inbox start the rights assets."""

from dagster import DefaultSensorStatus, SensorEvaluationContext, sensor

from assets.common.inbox import inbox_run
from assets.common.paths import DataDirResource
from assets.rights.jobs import rights_job

RIGHTS_INBOX = ("split_sheets", "review_decisions", "parties.csv", "contracts.csv")


@sensor(job=rights_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def rights_inbox_sensor(context: SensorEvaluationContext, data_dir: DataDirResource):
    """Watches `inbox/rights/`: a new or changed split sheet, reviewer decision file (written by
    `backbeat rights review approve|reject`), party register or contract list re-runs the rights assets.

    The rights assets queue restatements for the plays whose approved splits changed.
    """
    return inbox_run(context, data_dir.inbox / "rights", RIGHTS_INBOX, "rights")
