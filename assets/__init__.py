"""Asset code by business domain; each domain package exposes one `Definitions` as `defs`."""

import warnings

from dagster import PreviewWarning

# Partition-scoped asset checks are a Dagster preview feature that we use on purpose: a check of one
# station-day must read only that station-day.
warnings.filterwarnings("ignore", category=PreviewWarning, message=".*partitions_def on an AssetCheckSpec.*")
