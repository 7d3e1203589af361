"""Maintain: the data-quality scorecard, staleness and re-validation."""
