"""Reporting: summaries and their provenance, the registry of seed claims and their verdicts, figures,
atomic writes and the results/README.md report."""
