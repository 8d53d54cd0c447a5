"""Benchmarks: `python -m bench.run` (see README, Benchmarks). Not tests: nothing here asserts a timing."""
