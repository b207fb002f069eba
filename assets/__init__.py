"""Asset code by business domain; each domain package exposes one `Definitions` as `defs`."""

import warnings

from dagster import BetaWarning, PreviewWarning

# Partition-scoped asset checks (preview) and backfill policies (beta) are used on purpose: a check of one
# station-day reads only that station-day, and a range backfill runs once per station.
warnings.filterwarnings("ignore", category=PreviewWarning, message=".*partitions_def on an AssetCheckSpec.*")
warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy.*")
