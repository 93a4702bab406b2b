"""Benchmarks, each run as `python -m bench.<name> [--db sqlite|postgres] [--quick]`."""
