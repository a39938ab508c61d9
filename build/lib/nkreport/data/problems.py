"""What is wrong with a data file: one :class:`Problem` per place, naming file, line, field
and the fix; :class:`DataValidationError` carries all of them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import paths


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one place of one file."""

    file: str
    line: int | None  # line of the file, 1 = header; None = the whole file
    field: str | None
    message: str
    fix: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.field is not None:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}. Fix: {self.fix}"


class DataValidationError(ValueError):
    """Raised when a data file is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = [str(p) for p in self.problems]
        super().__init__(f"{len(lines)} problem(s) in the data:\n" + "\n".join("  " + line for line in lines))


# --------------------------------------------------------------------------- raw reading


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(paths.project_root().resolve()))
    except (ValueError, OSError, RuntimeError):  # outside the project, or a symbolic-link loop
        return str(path)
