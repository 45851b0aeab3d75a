"""Thin command-line mains over ``ftexp.serve``: ``python -m ftexp.cli.<name>``."""
