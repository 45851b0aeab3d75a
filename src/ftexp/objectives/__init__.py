"""Objectives: what is optimised. One folder per option (or a few related options).

Each folder holds the light spec (``spec.py``: the ``objective.*`` settings, checked before
torch loads; exported by the folder's ``__init__``) and the LightningModule that trains it
(``module.py`` or a file named after the option). ``module.py`` here is their shared base.
"""

# where objectives lived before each had its folder: finished run dirs name them in their
# config.yaml (``objective._target_``), and they must still reload
MOVED_TARGETS = {
    "ftexp.objectives.sft.SFT": "ftexp.objectives.lm.SFT",
    "ftexp.objectives.mlm.MLM": "ftexp.objectives.lm.MLM",
    "ftexp.objectives.reward.Reward": "ftexp.objectives.preference.Reward",
    "ftexp.objectives.dpo.DPO": "ftexp.objectives.preference.DPO",
    "ftexp.objectives.upft.UPFT": "ftexp.objectives.rl.UPFT",
    "ftexp.objectives.weighting.Static": "ftexp.objectives.multitask.weighting.Static",
    "ftexp.objectives.weighting.Linear": "ftexp.objectives.multitask.weighting.Linear",
    "ftexp.objectives.weighting.Cosine": "ftexp.objectives.multitask.weighting.Cosine",
    "ftexp.objectives.weighting.Uncertainty": "ftexp.objectives.multitask.weighting.Uncertainty",
}


def current_target(target: str) -> str:
    """The ``_target_`` an objective has now, given the one a run dir recorded."""
    return MOVED_TARGETS.get(target, target)
