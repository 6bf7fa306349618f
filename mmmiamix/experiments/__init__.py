"""Experiments: what the command-line tools share (sweep plans, summaries,
studies)."""
