"""Benchmarks: latency, pacing, fidelity and capacity, measured through the sandbox Asterisk.

    python -m benchmarks [--quick] [--only capacity,turns,fidelity,micro] [--json PATH]

Not a test: figures are printed (and written as JSON), never asserted.
"""
