"""Terminal injection: text from outside never reaches the terminal as control bytes (CLI side).

Crafted GGUF metadata, key and tensor names in error messages, and streamed model output go
through the CLI's terminal boundary (``tui.commands.terminal``) and the core sanitiser
(``tui.core.safe_text``); the tests run the real command line and look at the bytes it wrote.
"""

from __future__ import annotations

import io
import subprocess
import sys

from tests.conftest import ROOT
from tests.gguf_factory import ModelSpec, make_header_only
from tests.hostile_data import C1_AND_BIDI, ESCAPES, MARKUP, control_bytes, raw_gguf, string_kv, write
from tui.commands.terminal import SafeStream, redraw_line, safe_terminal
from tui.core.safe_text import has_unsafe, one_line, printable


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, cwd=ROOT, timeout=timeout)


def test_printable_shows_controls_and_keeps_text():
    assert printable(ESCAPES) == "␛]0;pwned␇␛[2J␛]52;c;aGk=␇"
    assert printable("a\nb\tc") == "a\nb\tc"
    assert one_line("a\nb\tc\r") == "a␊b␉c␍"
    assert printable(C1_AND_BIDI) == "\\x9b2J\\u202egnp.exe"
    assert printable("\x7f") == "␡"
    assert printable("ordinary ünïcødé 漢字 ▁token") == "ordinary ünïcødé 漢字 ▁token"
    assert not has_unsafe(printable(ESCAPES + C1_AND_BIDI))
    assert printable(42) == "42"


def test_safe_stream_sanitises_every_write_but_draws_progress():
    raw = io.StringIO()
    stream = SafeStream(raw)
    stream.write("reply: " + ESCAPES + "\n")
    stream.writelines([C1_AND_BIDI, "\n"])
    redraw_line(stream, "50% " + ESCAPES)
    text = raw.getvalue()
    assert "pwned" in text and "\x07" not in text
    # the app's own "carriage return + erase line" passes; the data never does
    assert text.count("\x1b") == 1 and "\r\x1b[2K50% ␛]0;pwned" in text


def test_safe_terminal_wraps_and_restores_stdio(capsys):
    before = sys.stdout
    with safe_terminal():
        print("name: " + ESCAPES)
        print("err: " + ESCAPES, file=sys.stderr)
    assert sys.stdout is before
    out, err = capsys.readouterr()
    assert control_bytes(out) == [] and control_bytes(err) == []
    assert "pwned" in out and "pwned" in err


def test_inspect_of_a_crafted_name_writes_no_control_bytes(tmp_path):
    path = tmp_path / "evil.gguf"
    make_header_only(path, ModelSpec(name=ESCAPES + MARKUP + C1_AND_BIDI))
    done = run_cli("inspect", str(path))
    assert done.returncode == 0, done.stderr
    assert control_bytes(done.stdout) == [] and control_bytes(done.stderr) == []
    assert "␛]0;pwned␇" in done.stdout.decode()


def test_error_quoting_a_hostile_key_name_is_one_safe_line(tmp_path):
    evil_key = "general." + ESCAPES
    path = write(tmp_path / "dup.gguf", raw_gguf([string_kv(evil_key, "a"), string_kv(evil_key, "b")]))
    done = run_cli("inspect", str(path))
    assert done.returncode == 1
    err = done.stderr.decode()
    assert control_bytes(done.stderr) == [] and control_bytes(done.stdout) == []
    assert "duplicate key" in err and err.count("\n") == 1


def test_hostile_file_name_in_messages(tmp_path):
    evil = tmp_path / ("model" + ESCAPES.replace("/", "_") + ".gguf")
    evil.write_bytes(b"not a gguf file at all")
    done = run_cli("inspect", str(evil))
    assert done.returncode == 1
    assert control_bytes(done.stderr) == [] and control_bytes(done.stdout) == []


def test_fit_of_a_crafted_file_writes_no_control_bytes(tmp_path):
    path = tmp_path / ("evil" + ESCAPES + ".gguf")
    make_header_only(path, ModelSpec(name=ESCAPES + MARKUP))
    done = run_cli("fit", str(path), "--gpu", "cpu", "--ram", "16")
    assert done.returncode == 0, done.stderr
    assert control_bytes(done.stdout) == [] and control_bytes(done.stderr) == []
    assert "␛]0;pwned␇" in done.stdout.decode()
