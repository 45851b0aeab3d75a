"""Error types that carry every problem found, each with its fix."""

from __future__ import annotations


class ConfigError(ValueError):
    """The composed config is invalid. The message lists every problem at once."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Invalid config ({len(self.problems)} problem(s)):\n{lines}")


class DataError(ValueError):
    """A data file is malformed. The message names the file, the line and the fix."""

    def __init__(self, path: object, problem: str, line: int | None = None, fix: str = "") -> None:
        where = f"{path}, line {line}" if line is not None else f"{path}"
        text = f"{where}: {problem}"
        if fix:
            text += f". Fix: {fix}"
        super().__init__(text)
        self.path, self.line = path, line
