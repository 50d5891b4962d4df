"""Hostile inputs shared by the ``test_hostile_*`` suites: escape-laden strings and crafted GGUF bytes."""

from __future__ import annotations

import re
import struct
from pathlib import Path

#: Sets the window title, clears the screen and writes the clipboard (OSC 52) on a real terminal.
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b]52;c;aGk=\x07"
#: Rich markup that crashes an unescaped ``Static`` (closing a tag never opened) or eats text.
MARKUP = "[/]weird[/x][bold red]"
#: C1 CSI and a bidi override, for good measure.
C1_AND_BIDI = "\x9b2J\u202egnp.exe"

_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


def control_bytes(data: bytes | str) -> list[bytes]:
    """The control bytes (other than newline and tab) in terminal output, UTF-8 encoded C1 included."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    return _CONTROL_BYTES.findall(raw)


def _string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def raw_gguf(kvs: list[tuple[str | bytes, int, bytes]], tensors: list[bytes] = (), n_tensors: int | None = None,
             n_kv: int | None = None) -> bytes:
    """GGUF v3 bytes: ``kvs`` as (key, value type, encoded value), ``tensors`` as encoded tensor infos."""
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors) if n_tensors is None else n_tensors,
                                  len(kvs) if n_kv is None else n_kv)
    body = b"".join(_string(k) + struct.pack("<I", t) + v for k, t, v in kvs)
    return head + body + b"".join(tensors)


def string_kv(key: str | bytes, value: str | bytes) -> tuple[str | bytes, int, bytes]:
    return key, 8, _string(value)


def u32_kv(key: str, value: int) -> tuple[str, int, bytes]:
    return key, 4, struct.pack("<I", value)


def tensor_info(name: str | bytes, shape: tuple[int, ...], ggml_type: int = 0, offset: int = 0) -> bytes:
    return _string(name) + struct.pack("<I", len(shape)) + struct.pack(f"<{len(shape)}q", *shape) + \
        struct.pack("<IQ", ggml_type, offset)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


#: A child-process snippet printing ``peak_kib N``: the peak resident set of this process image (VmHWM).
#: ``ru_maxrss`` would do on a fresh process, but Linux carries it over from the parent across
#: fork and exec, so a big test runner would inflate it.
PEAK_SNIPPET = ("import re, sys\nfrom tui.cli import main\ncode = main(sys.argv[1:])\n"
                "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())\n"
                "print('peak_kib', hwm.group(1) if hwm else 0, file=sys.stderr)\nsys.exit(code)\n")


def peak_kib(stderr: str) -> int:
    return int(stderr.split("peak_kib")[1].split()[0])
