"""The contract between the chosen objective, data and model, checked before anything loads.

An objective reads batch fields the data must provide (``Objective.fields`` against
``FinetuneData.provides``) and trains a ``ModelTask`` the model spec must be able to load; a
refusal names the options that would fit.
"""

from __future__ import annotations

from collections.abc import Callable

from ftexp.data.base import DataOption, FinetuneData
from ftexp.models.base import ModelSpec
from ftexp.objectives.objective import Objective


def contract_problems(
    objective: Objective,
    data: FinetuneData,
    spec: ModelSpec | None,
    names: dict[str, str],
    partners: Callable[[], dict[str, type[FinetuneData]]],
) -> list[str]:
    """Problems between the chosen objective, data and model, each naming the valid partners.

    ``names`` gives the chosen option of each group (``{"objective": "dpo", ...}``) for the
    message; ``partners`` gives every data option's data class (asked only for a refusal).
    """
    issues = []
    missing = sorted(needed_fields(objective, data) - set(data.provides))
    if missing:
        valid = sorted(name for name, cls in partners().items() if fits(objective, cls))
        issues.append(
            f"objective={names['objective']} cannot train on data={names['data']}: it needs the "
            f"batch fields {sorted(needed_fields(objective, data))}, the data provides "
            f"{sorted(data.provides)} "
            f"(missing {missing}); data options that fit objective={names['objective']}: "
            f"{', '.join(valid) or 'none'}"
        )
    tasks = (objective.model_task(data), *objective.auxiliary_tasks)
    for task in tasks:
        if spec is not None and not task.served_by(spec):
            issues.append(
                f"objective={names['objective']} needs a model that can load a {task.name} "
                f"({task.loader_method}()); model={names['model']} ({type(spec).__name__}) cannot: "
                "pick a matching model=..."
            )
    return issues


def needed_fields(objective: Objective | type[Objective], data: DataOption) -> set[str]:
    """The batch fields an objective reads on this data (``Objective.fields``)."""
    return set(objective.fields(data))


def fits(objective: Objective | type[Objective], data: DataOption) -> bool:
    """Whether a data option (class or instance) provides what the objective needs."""
    return needed_fields(objective, data) <= set(data.provides)
