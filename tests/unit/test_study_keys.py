"""When a result kept under an older version's config still holds for today's config."""

from __future__ import annotations

from ftexp.study.keys import flat, still_holds

DEFAULTS = {"optim": {"lr": 1e-4, "head_lr_scale": 1.0, "new_rows_lr": None}, "seed": 42}
KEPT = {"optim": {"lr": 1e-3}, "seed": 43}


def test_settings_are_compared_leaf_by_leaf() -> None:
    assert flat({"optim": {"lr": 1e-3, "betas": [0.9, 0.99]}, "tags": {}}) == {
        "optim.lr": 1e-3,
        "optim.betas": [0.9, 0.99],
        "tags": {},
    }


def test_a_key_added_since_at_its_default_keeps_the_result() -> None:
    now = {"optim": {"lr": 1e-3, "head_lr_scale": 1.0, "new_rows_lr": None}, "seed": 43}
    assert still_holds(KEPT, now, DEFAULTS)


def test_a_key_added_with_another_value_or_a_changed_or_removed_setting_does_not() -> None:
    added = {"optim": {"lr": 1e-3, "head_lr_scale": 10.0}, "seed": 43}  # set by an experiment
    changed = {"optim": {"lr": 3e-3}, "seed": 43}
    removed = {"optim": {"lr": 1e-3}}
    unknown = {"optim": {"lr": 1e-3, "warmup": 0.1}, "seed": 43}  # not in the base config
    for now in (added, changed, removed, unknown):
        assert not still_holds(KEPT, now, DEFAULTS), now


def test_a_result_kept_under_an_objective_path_that_moved_still_holds() -> None:
    kept = {"objective": {"_target_": "ftexp.objectives.sft.SFT"}, "seed": 43}
    now = {"objective": {"_target_": "ftexp.objectives.lm.SFT"}, "seed": 43}
    assert still_holds(kept, now, DEFAULTS)
    other = {"objective": {"_target_": "ftexp.objectives.lm.MLM"}, "seed": 43}
    assert not still_holds(kept, other, DEFAULTS)
