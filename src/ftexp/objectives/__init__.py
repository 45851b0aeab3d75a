"""Objectives: LightningModules with the steps, losses and metrics of each task."""
