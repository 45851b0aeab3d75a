"""ftexp: fine-tuning experiments on Lightning + Hydra."""

__version__ = "0.1.0"
