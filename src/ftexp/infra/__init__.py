"""Infrastructure a run leans on.

Pinned artifacts, SLURM requeue, sweep resume, multirun x DDP,
experiment trackers (W&B / MLflow) and the console.
"""
