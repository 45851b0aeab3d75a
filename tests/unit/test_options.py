"""The one table of test options covers every option, and each objective's data fits it."""

from __future__ import annotations

from hydra.utils import get_object

from ftexp.checks.config_check import data_partners
from ftexp.checks.contract import fits
from tests.conftest import compose_cfg, group_options
from tests.options import DATA, OBJECTIVE, OBJECTIVE_DATA, SAVED_FILES, SHORT_RUN


def test_the_tables_cover_every_option() -> None:
    assert set(DATA) == set(group_options("data"))
    assert set(OBJECTIVE) == set(OBJECTIVE_DATA) == set(group_options("objective"))
    assert set(SAVED_FILES) | set(SHORT_RUN) <= set(group_options("method"))


def test_each_objective_is_checked_on_data_that_fits_it() -> None:
    for objective, data in OBJECTIVE_DATA.items():
        spec = get_object(compose_cfg([f"objective={objective}"]).objective._target_)
        assert fits(spec, data_partners()[data]), (objective, data)
