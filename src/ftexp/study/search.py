"""The rate search of a study: each method's rate tuned on validation, then its seeds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftexp.study.jobs import Job, JobStore, compose, first_line, latency


@dataclass
class Study:
    """Which jobs each row of the comparison takes, and its row from their kept results."""

    jobs: JobStore
    overrides: list[str]
    seeds: list[int]
    lr_factors: list[float]
    widen: int = 0  # steps the rate search may take past the grid's edge while the best is on it
    # method -> overrides for its jobs alone (its row names them), e.g. a longer budget
    method_overrides: dict[str, list[str]] = field(default_factory=dict)

    def own_overrides(self, name: str) -> tuple[tuple[str, ...], str]:
        """A method's or baseline's job overrides (shared + its own) and its name in the table."""
        own = self.method_overrides.get(name, [])  # e.g. a longer budget, a task's label words
        return (*self.overrides, *own), f"{name} ({' '.join(own)})" if own else name

    def method_rows(self, method: str) -> dict[str, Any]:
        """Search the rate, run the seeds at the best one; the method's row of the table."""
        overrides, name = self.own_overrides(method)
        try:
            base = compose([*overrides, f"method={method}"])
        except Exception as err:  # e.g. an unknown method: its row says why
            return {"method": name, "failed": [first_line(err)], "runs": []}
        metric = f"best/{base.optimized_metric}"
        sign = 1 if str(base.optimized_mode) == "max" else -1
        rates = [float(base.method.lr) * f for f in self.lr_factors]
        grid = [Job(method, lr, self.seeds[0], overrides) for lr in rates]
        search = dict(zip(rates, self.jobs.results(grid), strict=True))
        scored = _scored(search, metric, sign)
        for _ in range(self.widen):  # the best rate on the grid's edge: one step beyond it
            beyond = rate_beyond(scored)
            if beyond is None or beyond in search:
                break
            search[beyond] = self.jobs.result(Job(method, beyond, self.seeds[0], overrides))
            scored = _scored(search, metric, sign)
        rates = sorted(search)
        failed = [r["reason"] for r in search.values() if r["status"] == "failed"]
        missing = sum(r["status"] == "missing" for r in search.values())
        if not scored:
            return {
                "method": name,
                "failed": failed,
                "runs": [],
                "rates": rates,
                "missing": missing,
            }
        best = max(scored, key=lambda lr: scored[lr])
        headline = str(base.optimized_metric).replace("val/", "test/", 1)
        seeds = [Job(method, best, seed, overrides) for seed in self.seeds[1:]]
        runs = [search[best], *self.jobs.results(seeds)]
        failed += [r["reason"] for r in runs if r["status"] == "failed"]
        missing += sum(r["status"] == "missing" for r in runs)
        done = [r for r in runs if r["status"] == "done"]
        return {
            "missing": missing,
            "latency": latency([Path(r["run_dir"]) for r in done], measure=not self.jobs.kept_only),
            "method": name,
            "objective": str(base.objective._target_),  # whose rules the columns follow
            "headline": headline,
            "best_lr": best,
            "rates": rates,
            "search": {lr: sign * v for lr, v in scored.items()},
            "edge": grid_edge(scored),
            "runs": done,
            "failed": failed,
        }

    def baseline_rows(self, name: str) -> dict[str, Any]:
        """A ``+baseline=`` config (e.g. prompting with no update) at every seed: its row."""
        from ftexp.checks.config_check import check_light

        overrides, shown = self.own_overrides(name)
        label = f"{shown} (baseline)"
        jobs = [Job(name, None, seed, overrides, baseline=True) for seed in self.seeds]
        try:
            base = compose(jobs[0].arguments())
            seeded = check_light(base).objective.seeded
        except Exception as err:  # e.g. an unknown baseline: its row says why
            failed = [first_line(err)]
            return {"method": label, "best_lr": None, "runs": [], "failed": failed}
        runs = self.jobs.results(jobs if seeded else jobs[:1])
        return {
            "missing": sum(r["status"] == "missing" for r in runs),
            "method": label,
            "objective": str(base.objective._target_),
            "best_lr": None,
            "runs": [r for r in runs if r["status"] == "done"],
            "failed": [r["reason"] for r in runs if r["status"] == "failed"],
            "latency": None,
        }


def _scored(search: dict[float, dict[str, Any]], metric: str, sign: int) -> dict[float, float]:
    """The searched rates that finished, each with its score (higher is better)."""
    return {
        lr: sign * r["metrics"][metric]
        for lr, r in search.items()
        if r["status"] == "done" and metric in r["metrics"]
    }


def grid_edge(scored: dict[float, float]) -> str | None:
    """``top`` or ``bottom`` where the best rate is the grid's highest or lowest, else None.

    A best rate on the edge means the search did not bracket the optimum: a rate beyond it
    may be better still.
    """
    if len(scored) < 2:
        return None
    best = max(scored, key=lambda lr: scored[lr])
    return "top" if best == max(scored) else "bottom" if best == min(scored) else None


def rate_beyond(scored: dict[float, float]) -> float | None:
    """The next rate past the best one on the grid's edge, one grid step (its own ratio) out."""
    edge = grid_edge(scored)
    rates = sorted(scored)
    if edge == "top":
        return rates[-1] * rates[-1] / rates[-2]
    if edge == "bottom":
        return rates[0] * rates[0] / rates[1]
    return None
