"""Regression verdicts between two samples: Mann-Whitney U, Hodges-Lehmann shift, tolerance, direction."""
