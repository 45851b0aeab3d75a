"""Packaged Hydra configs (a package, so `pkg://ftexp.conf` resolves when installed)."""
