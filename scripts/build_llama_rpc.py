"""Build llama.cpp's RPC pieces from the pinned llama-cpp-python's vendored sources, once.

The app sizes RPC plans (``--rpc``) the way llama.cpp does; this build is what proves it:
``scripts/bench_rpc.py`` and ``tests/test_rpc_vs_llama.py`` start ``rpc-server``s on 127.0.0.1
and load models through an RPC-enabled ``libllama.so`` built from *the same* llama.cpp the app's
rules follow (the one vendored in llama-cpp-python 0.3.36, pinned in pyproject.toml).

What it does, idempotently (a finished build is found and reused; a ``.done`` marker is written
last, so an interrupted build resumes where ninja/make left off):

1. the sdist: ``pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36`` into the
   cache (pip's own cache makes a repeat free), ``vendor/llama.cpp`` extracted;
2. cmake with ``-DGGML_RPC=ON -DLLAMA_CURL=OFF -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=ON`` and tools
   on, tests and examples off;
3. only the targets needed, niced, ``-j2`` by default (the machine is shared):
   ``ggml-rpc-server`` (tools/rpc; that is the binary's name in this llama.cpp), ``llama`` (``libllama.so`` with ``libggml-rpc.so`` next to it, for llama-cpp-python's
   ``LLAMA_CPP_LIB_PATH``) and ``llama-server`` (to start the split the app prints).

Everything lives in ``$XDG_CACHE_HOME/localai-tui/llama-rpc-0.3.36`` (``~/.cache/...``), never in
the repository. ``--print-dir`` prints the binary directory of a finished build (exit 1 if none).

    python scripts/build_llama_rpc.py [--jobs 2] [--targets ggml-rpc-server,llama,llama-server]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
DEFAULT_TARGETS = ("ggml-rpc-server", "llama", "llama-server")
CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_RPC=ON",
    "-DLLAMA_CURL=OFF",
    "-DGGML_NATIVE=ON",
    "-DBUILD_SHARED_LIBS=ON",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",  # no download of web assets at build time
    "-DLLAMA_BUILD_UI=OFF",
)


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/localai-tui/llama-rpc-<version>`` (platformdirs' user cache dir)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "localai-tui" / f"llama-rpc-{LLAMA_CPP_PYTHON_VERSION}"


def bin_dir(root: Path | None = None) -> Path:
    """Where the executables and shared libraries land (cmake puts both in ``build/bin``)."""
    return (root or cache_root()) / "build" / "bin"


def done_marker(target: str, root: Path | None = None) -> Path:
    """Written after ``target`` built successfully (so a half-linked file is never taken as done)."""
    return (root or cache_root()) / f".done-{target}"


def find_build(targets: tuple[str, ...] = ("ggml-rpc-server", "llama")) -> Path | None:
    """The binary directory of a build where every one of ``targets`` finished, or None."""
    root = cache_root()
    if all(done_marker(t, root).is_file() for t in targets):
        return bin_dir(root)
    return None


def _run(cmd: list[str], cwd: Path | None = None) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, check=True)


def _sdist(root: Path) -> Path:
    """Download (or reuse) the sdist and extract ``vendor/llama.cpp``; return the source dir."""
    src = root / "src" / f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}" / "vendor" / "llama.cpp"
    if (src / "CMakeLists.txt").is_file():
        return src
    dl = root / "sdist"
    dl.mkdir(parents=True, exist_ok=True)
    tarballs = list(dl.glob(f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}.tar.gz"))
    if not tarballs:
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
              f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}", "-d", str(dl)])
        tarballs = list(dl.glob(f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}.tar.gz"))
    if not tarballs:
        raise SystemExit(f"pip did not leave llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}.tar.gz in {dl}")
    dest = root / "src"
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarballs[0]) as tar:
        prefix = f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}/vendor/llama.cpp/"
        members = [m for m in tar.getmembers() if m.name.startswith(prefix) and (m.isfile() or m.isdir())]
        tar.extractall(dest, members=members)  # noqa: S202 - our own pinned sdist, regular files only
    return src


def build(jobs: int, targets: tuple[str, ...]) -> Path:
    root = cache_root()
    found = find_build(targets)
    if found is not None:
        print(found)
        return found
    src = _sdist(root)
    build_dir = root / "build"
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    if not (build_dir / "CMakeCache.txt").is_file():
        _run(["cmake", "-S", str(src), "-B", str(build_dir), *generator, *CMAKE_FLAGS])
    nice = ["nice", "-n", "15"] if shutil.which("nice") else []
    for target in targets:  # one by one: rpc-server and libllama are usable before llama-server is done
        if done_marker(target, root).is_file():
            continue
        _run([*nice, "cmake", "--build", str(build_dir), "--target", target, "-j", str(jobs)])
        done_marker(target, root).write_text("built\n")
    print(bin_dir(root))
    return bin_dir(root)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", "-j", type=int, default=2)
    ap.add_argument("--targets", default=",".join(DEFAULT_TARGETS))
    ap.add_argument("--print-dir", action="store_true", help="print the bin dir of a finished build and exit")
    ap.add_argument("--source-only", action="store_true",
                    help="only fetch and extract the vendored llama.cpp source (the tests read its rules); print its dir")
    args = ap.parse_args(argv)
    if args.source_only:
        print(_sdist(cache_root()))
        return 0
    if args.print_dir:
        found = find_build()
        if found is None:
            print(f"no finished build in {cache_root()}", file=sys.stderr)
            return 1
        print(found)
        return 0
    targets = tuple(t for t in args.targets.split(",") if t)
    try:
        build(args.jobs, targets)
    except subprocess.CalledProcessError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
