"""Benchmarks (run as scripts: `.venv/bin/python bench/NAME.py`); `bench.world` is shared with
the crash test."""
