"""Checking a run's configuration before anything heavy.

The command line (``override_check``), the composed config (``config_check``), the run's own
settings, trainer values and devices, and an experiment's per-method settings
(``method_overrides``).
"""
