"""Each objective option has one home: its spec and its LightningModule, in one folder."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra.utils import get_object

from ftexp import MOVED, current_path
from tests.conftest import CONF, group_options

ROOT = Path(__file__).parents[2]


def _target(option: str) -> str:
    node = yaml.safe_load((CONF / "objective" / f"{option}.yaml").read_text(encoding="utf-8"))
    return str(node["objective"]["_target_"])


@pytest.mark.parametrize("option", group_options("objective"))
def test_every_objective_names_a_module_of_its_own_folder(option: str) -> None:
    from ftexp.objectives.module import FinetuneModule

    spec = get_object(_target(option))
    folder = spec.__module__.rsplit(".", 1)[0]  # ftexp.objectives.<folder>.spec
    assert spec.module.startswith(folder + "."), (option, spec.module)
    module = spec.module_class(spec)  # a class-level path: no instance needed
    assert issubclass(module, FinetuneModule)
    assert option in importlib.import_module(folder).__doc__  # the folder says what it holds


OLD_OBJECTIVE_TARGETS = {
    "ftexp.objectives.sft.SFT": "ftexp.objectives.lm.SFT",
    "ftexp.objectives.mlm.MLM": "ftexp.objectives.lm.MLM",
    "ftexp.objectives.reward.Reward": "ftexp.objectives.preference.Reward",
    "ftexp.objectives.dpo.DPO": "ftexp.objectives.preference.DPO",
    "ftexp.objectives.upft.UPFT": "ftexp.objectives.rl.UPFT",
    "ftexp.objectives.weighting.Cosine": "ftexp.objectives.multitask.weighting.Cosine",
}


def test_moved_objective_paths_resolve_to_todays_classes() -> None:
    for old, new in OLD_OBJECTIVE_TARGETS.items():
        assert current_path(old) == new
        assert get_object(old) is get_object(new)  # the old spelling imports the same class
    assert (
        current_path("ftexp.objectives.classify.Classify") == "ftexp.objectives.classify.Classify"
    )


@pytest.mark.parametrize("old", sorted(MOVED))
def test_every_moved_module_still_imports_as_its_new_home(old: str) -> None:
    new = MOVED[old][0]
    assert importlib.import_module(old) is importlib.import_module(new)


def test_a_run_dir_of_the_earlier_layout_still_reloads_its_parts(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    from ftexp.contract import CAUSAL_LM
    from ftexp.run.reload import SavedRun
    from tests.conftest import compose_cfg

    cfg = compose_cfg(["objective=sft", "data=chat", "model=tiny_llama"])
    cfg.objective._target_ = "ftexp.objectives.sft.SFT"  # where sft lived before
    (tmp_path / "model").mkdir()
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(cfg), encoding="utf-8")
    assert SavedRun.read(tmp_path).task == CAUSAL_LM


def test_no_import_cycles_in_src() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "import_cycles.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout
