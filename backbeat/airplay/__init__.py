"""Airplay core: landing chunk names, programme schedules, truncated-chunk checks and the airplay tables.

Plain Python: no Dagster import; the Dagster definitions live in assets/airplay/.
"""
