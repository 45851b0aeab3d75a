"""The LightningModules of the objectives: steps, losses and metrics (heavy imports)."""
