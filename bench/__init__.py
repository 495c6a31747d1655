"""Benchmarks (not tests): each measures the service and its raw floor in the same run. See docs/performance.md."""
