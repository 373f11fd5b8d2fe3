"""Benchmarks and the fault suite: `make bench`, `make faults` (see docs/benchmarks.md)."""
