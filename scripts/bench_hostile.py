"""How long a hostile server holds each command at the real default limits, and what a crafted header costs.

Prints one line per case: seconds until the command ended by itself, its exit code, the requests
the server saw and the command's one-line message. Loopback only (``tests.hostile_hub``).

    PYTHONPATH=$PWD python scripts/bench_hostile.py            # every case (about 2 minutes)
    PYTHONPATH=$PWD python scripts/bench_hostile.py redirect-loop
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hostile_hub import NastyServer  # noqa: E402

CASES = ("trickle", "slow-headers", "silent", "redirect-loop")
COMMANDS = (["files", "hostile/stories-GGUF", "--no-fit"], ["download", "hostile/stories-GGUF:Q4_K_M"])


def run_case(behaviour: str, command: list[str], home: Path) -> str:
    server = NastyServer(behaviour, interval_s=2.0)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCALAI_TUI_HUB", "HF_"))}
    env.update(HF_ENDPOINT=server.url, HF_HOME=str(home), PYTHONPATH=str(ROOT), XDG_CACHE_HOME=str(home / "xdg"))
    start = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "tui", *command], capture_output=True, text=True, env=env,
                              timeout=300)
        outcome = f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ''}"
    except subprocess.TimeoutExpired:
        outcome = "still running after 300 s"
    finally:
        server.stop()
    return f"{behaviour:14} {command[0]:9} {time.monotonic() - start:6.1f} s  {server.requests:3d} requests  {outcome}"


def main() -> None:
    wanted = sys.argv[1:] or list(CASES)
    with tempfile.TemporaryDirectory() as tmp:
        for behaviour in wanted:
            for command in COMMANDS:
                print(run_case(behaviour, command, Path(tmp)), flush=True)


if __name__ == "__main__":
    main()
