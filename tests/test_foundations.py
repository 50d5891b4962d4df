"""The project's foundations: packaging, lazy imports, the README's commands and CI agree."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile

import pytest

import tui
from tests.conftest import ROOT

HEAVY = ("textual", "llama_cpp", "huggingface_hub", "numpy", "gguf", "httpx", "httpx2")


def _python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return out.stdout.strip()


def test_core_imports_no_textual():
    import pkgutil

    import tui.core

    names = [m.name for m in pkgutil.walk_packages(tui.core.__path__, "tui.core.")]
    assert len(names) >= 5
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print('textual' in sys.modules, [m for m in sys.modules if m.startswith('textual')][:3])\n"
    )
    assert _python(code).startswith("False")


def test_cli_parser_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from tui.cli import build_parser\n"
        "build_parser()\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    assert _python(code) == "[]"


def test_help_answers():
    """``--help`` answers (its speed is measured by scripts/bench_reader.py; that it imports nothing heavy is
    ``test_cli_parser_imports_nothing_heavy``)."""
    out = subprocess.run([sys.executable, "-m", "tui", "--help"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0
    assert "localai-tui" in out.stdout


def test_version_flag():
    out = subprocess.run([sys.executable, "-m", "tui", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0
    assert out.stdout.strip() == f"localai-tui {tui.__version__}"


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", setup, flags=re.S)


def test_readme_has_exactly_two_setup_commands():
    commands = _readme_commands()
    assert len(commands) == 2, commands
    assert "localai-tui" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = _readme_commands()[1].strip()
    assert test_command in ci.splitlines()
    assert "python3 -m venv" in ci


@pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(), reason="needs the source tree")
def test_wheel_ships_stylesheet(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = tmp_path.glob("localai_tui-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tui/tui.tcss" in names
    assert any(n.startswith("tui/data/") for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)  # MIT's notice travels with the code
    assert not any(n.startswith("tests/") for n in names)
