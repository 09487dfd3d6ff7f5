"""Benchmarks of tap-chartmogul against the fake ChartMogul API (not part of the test suite)."""
