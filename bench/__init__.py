"""Benchmarks of atqbo against the sandbox: seconds and, above all, API calls."""
