"""Benchmarks: `python -m bench.<name> [--db sqlite|postgres] [--quick]` (DESIGN.md, "Performance yardsticks")."""
