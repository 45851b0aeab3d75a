"""The bundled reward functions for on-policy RL (``objective=rl`` / ``rloo``).

Each is a callable ``reward(prompts, completions, **fields)`` as ``ftexp.objectives.rl.rewards``
describes; a function of your own needs no registration, only a ``_target_``. Importing this
package loads no model: ``ClassifierReward`` loads its run on first use.
"""

from ftexp.rewards.characters import CharacterReward
from ftexp.rewards.classifier import ClassifierReward
from ftexp.rewards.exact_answer import ExactAnswer, final_number

__all__ = ["CharacterReward", "ClassifierReward", "ExactAnswer", "final_number"]
