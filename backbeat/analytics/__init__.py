"""Analytics: plain-Python helpers around the dbt project (test descriptions, manifest freshness, target folders).

The dbt models themselves live in `dbt_project/`; their Dagster assets in `assets/analytics/`.
"""
