"""ftexp's Hydra plugins (Hydra finds plugins only inside the ``hydra_plugins`` namespace)."""
