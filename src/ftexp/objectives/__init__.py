"""Objectives: what is optimised. Light specs here; their LightningModules in ``lightning/``."""
