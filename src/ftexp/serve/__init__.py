"""Serving a finished run.

Predictions, chat replies, exports, latency and harness scores (the library side; ``ftexp.cli``
holds the command-line mains).
"""
