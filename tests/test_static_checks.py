"""The static checks run with the tests, so ``python -m pytest`` (the README's command, and CI) fails on a finding.

ruff (pyflakes, pycodestyle, bugbear, import order, pyupgrade), mypy (strict on ``tui.core``,
checked on the rest) and import-linter's layering contracts, all configured in pyproject.toml.
Each runs from this interpreter's environment, in the repository root; mypy keeps its
incremental cache in ``.mypy_cache`` (git-ignored), so a second run takes seconds. The three
tools share no files, so xdist may run them side by side.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHECKS = {
    "ruff": [sys.executable, "-m", "ruff", "check", "--no-cache", "tui", "tests", "scripts"],
    "mypy": [sys.executable, "-m", "mypy"],
    "import-linter": ["lint-imports", "--no-cache"],
}


def _command(name: str) -> list[str]:
    command = list(CHECKS[name])
    if command[0] == "lint-imports":  # a console script: the one beside this interpreter
        beside = Path(sys.executable).with_name("lint-imports")
        found = str(beside) if beside.exists() else shutil.which("lint-imports")
        if found is None:
            pytest.fail("lint-imports is not installed: python -m pip install -e '.[test]'")
        command[0] = found
    return command


@pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(), reason="needs the source tree")
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_static_check_is_clean(name: str) -> None:
    env = {**os.environ, "NO_COLOR": "1", "MYPY_FORCE_COLOR": "0"}
    env.pop("FORCE_COLOR", None)
    out = subprocess.run(_command(name), cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    report = (out.stdout + out.stderr)[-8000:]
    assert out.returncode == 0, f"{name} found problems (exit {out.returncode}):\n{report}"
