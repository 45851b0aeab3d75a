"""Objectives: what is optimised. One folder per option (or a few related options).

Each folder holds the light spec (``spec.py``: the ``objective.*`` settings, checked before
torch loads; exported by the folder's ``__init__``) and the LightningModule that trains it
(``module.py`` or a file named after the option). ``module.py`` here is their shared base.
"""
