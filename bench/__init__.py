"""Benchmarks, run by ``make bench``: each prints ``RESULT name=... per_s=...`` lines next
to its baselines measured in the same run, then ``RATIO ...=...`` lines."""
