"""Segment: saved customer groups from a small filter language over golden records.

A segment is a name and a filter such as
`country = 'DE' and clv_12m > 500 and last_order_at < now() - interval '90 days'`.
`expr` turns the filter into a SQLAlchemy Core condition with every value bound as a parameter
and rejects bad filters with a message that points at the offending token; the query that
provides the fields (golden records joined with scores and aggregates) is built elsewhere and
passed in as `Field`s, so the language knows nothing about tables.
"""
