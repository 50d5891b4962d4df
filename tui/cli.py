"""The ``localai-tui`` command: argument parsing and dispatch, nothing heavy at import time."""

from __future__ import annotations

import argparse
import importlib
import sys

from tui import __version__

#: Subcommand modules under ``tui.commands``, in the order ``--help`` lists them.
COMMANDS = (
    "inspect",
    "fit",
    "gpus",
    "labels",
    "search",
    "files",
    "download",
    "chat",
    "chats",
    "bench",
    "recommend",
    "compare",
)


class CommandParser(argparse.ArgumentParser):
    """argparse as the CLI wants it: whole option names only, errors on one line.

    Prefix matching is off (``--gpu`` must never be read as ``--gpu-layers``), and a wrong
    argument prints ``localai-tui fit: error: ...`` with where to find help, not the usage block.
    Subcommand parsers are made with this class too (``add_subparsers`` uses the parent's class).
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="localai-tui",
        description="Will it fit? Will it run fast? Find, size and run GGUF models on your own hardware.",
    )
    parser.add_argument("--version", action="version", version=f"localai-tui {__version__}")
    parser.add_argument("--model", metavar="MODEL", default=None,
                        help="open the app at the Fit screen for MODEL (a .gguf path or OWNER/REPO:LABEL)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"tui.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tui.commands.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        return open_app(model=args.model)
    return run_command(args)


def open_app(model: str | None = None, open_chat: bool = False, settings=None, resume: int | None = None) -> int:
    """Start the Textual app (imported only now, so the subcommands stay fast).

    ``settings`` (a LlamaSettings) carries llama.cpp flags typed with ``chat MODEL``.
    """
    from tui.app import run_app

    return run_app(model=model, open_chat=open_chat, settings=settings, resume=resume)


def run_command(args: argparse.Namespace) -> int:
    """Run a subcommand; user-facing errors become one line on stderr, never a traceback."""
    from tui.core.errors import LocalAIError

    try:
        return int(args.func(args) or 0)
    except LocalAIError as exc:
        print(f"localai-tui: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("localai-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: keep the traceback in the log, not on the screen
        log_path = _log_unexpected(exc)
        print(f"localai-tui: unexpected error: {type(exc).__name__}: {exc} (details in {log_path})", file=sys.stderr)
        return 70


def _log_unexpected(exc: BaseException) -> str:
    import traceback

    from tui.core.paths import default_log_file

    path = default_log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write("".join(traceback.format_exception(exc)))
    except OSError:
        return "<log unavailable>"
    return str(path)
