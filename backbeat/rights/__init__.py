"""Rights core: works, recordings, parties and splits; split-sheet intake, validation rules and review.

Plain Python: no Dagster import; the Dagster definitions live in assets/rights/.
"""
