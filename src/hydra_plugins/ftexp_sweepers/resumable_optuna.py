"""An Optuna sweeper that resumes a stopped study instead of starting ``n_trials`` more.

``hydra.sweeper.n_trials`` is the study's total: a second invocation on the same sqlite storage
runs only the trials still missing. A trial the crash left ``RUNNING`` is marked failed and its
parameters are tried again first, so a killed sweep continues where it stopped and no finished
trial is repeated. Needs ``pip install 'ftexp[sweeps]'``.
"""

from __future__ import annotations

import logging
from typing import Any

from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper

log = logging.getLogger(__name__)


class ResumableOptunaSweeper(OptunaSweeper):
    """``hydra/sweeper: optuna`` with ``n_trials`` counted over the whole stored study."""

    def sweep(self, arguments: list[str]) -> None:
        """Settle the stored study, then run the trials still missing."""
        impl: Any = self.sweeper
        done = settle_study(impl.storage, impl.study_name)
        if done:
            log.info(f"Study {impl.study_name}: {done} trials already complete in {impl.storage}")
        impl.n_trials = max(0, int(impl.n_trials) - done)
        super().sweep(arguments)


def settle_study(storage: str | None, name: str) -> int:
    """Mark trials a crash left running as failed and queue their parameters again.

    Returns the number of complete trials (0 for a new study or in-memory storage).
    """
    import optuna

    if not storage:
        return 0
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:  # no such study yet
        return 0
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study._storage.set_trial_state(trial._trial_id, optuna.trial.TrialState.FAIL)
        study.enqueue_trial(trial.params)
        log.info(f"Trial {trial.number} was interrupted: its parameters run again first")
    return len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
