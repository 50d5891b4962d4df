"""Text from outside made harmless for a terminal: the one sanitiser of the app.

Strings from GGUF metadata, the Hub (names, licenses, file paths), model output and template
errors can hold terminal control sequences: ``ESC ] 0 ; title BEL`` sets the window title,
``ESC [ 2 J`` clears the screen, ``ESC ] 52 ; c ; ...`` writes the clipboard. A terminal acts
on any C0 (U+0000-U+001F, U+007F) or C1 (U+0080-U+009F) control byte it receives, so every
such character is shown instead as a visible stand-in (``ESC`` as ``␛``, the C0 "control
pictures" block; C1 as ``\\x9b``). Bidirectional overrides and isolates (U+202A-U+202E,
U+2066-U+2069, "Trojan Source") make text display in an order other than the one stored, so
they are shown as ``\\u202e`` too.

``printable`` keeps newline and tab (the text stays readable); ``one_line`` shows those too, for
names and labels that must stay on one line. Rich markup escaping is a UI concern and lives in
``tui.widgets.safe_markup``, on top of this.
"""

from __future__ import annotations

import re

#: Characters a terminal may act on, plus bidi overrides/isolates and the line/paragraph separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_KEEP_DEFAULT = "\n\t"


def _stand_in(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ .. ␟: the Unicode "control pictures"
    if code == 0x7F:
        return "\u2421"  # ␡
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def printable(text: object, keep: str = _KEEP_DEFAULT) -> str:
    """``text`` with every control character except those in ``keep`` made visible.

    ``keep`` defaults to newline and tab; pass ``""`` to make those visible too.
    """
    value = text if isinstance(text, str) else str(text)
    if not _UNSAFE.search(value):
        return value
    return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _stand_in(m.group()), value)


def one_line(text: object) -> str:
    """``text`` for a single line (a name, a label, a header): newlines and tabs made visible too."""
    return printable(text, keep="")


def has_unsafe(text: str, keep: str = _KEEP_DEFAULT) -> bool:
    """Whether ``text`` holds a character ``printable`` would replace."""
    return any(m.group() not in keep for m in _UNSAFE.finditer(text))
