"""Hydra plugin: a ``conf/`` folder in the working directory holds the user's own configs."""
