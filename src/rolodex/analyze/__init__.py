"""Analyze: customer value, churn risk, retention, campaigns and forecasts on golden records.

Each module is pure computation over Polars frames (one row per order, contact or campaign
member, with the columns its docstring names); `pipeline/` reads the frames from the store and
the CLI prints what comes back. Nothing here touches the database.
"""
