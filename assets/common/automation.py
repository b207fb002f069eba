"""When downstream assets refresh on their own: after their upstream data changed."""

from dagster import AutomationCondition

after_upstream_updates = (
    (AutomationCondition.newly_missing() | AutomationCondition.any_deps_updated()).since_last_handled()
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
).with_label("after upstream updates")
"""Like `eager()`, but not blocked by the many historical station-days that were never captured."""
