"""One rule for every text input: no control characters and no bidi formatting characters.

Why: PostgreSQL refuses NUL in text (a 500 where a 400 belongs), terminals and CSV viewers act
on other controls, and the bidi embeddings, overrides, isolates and marks reorder what a person
reads (a right-to-left override in a patient reference can make "MRN-\u202e2400" read as
"MRN-0042" in the worklist). Refused: C0 controls except tab, line feed and carriage return (a
browser's textarea sends CRLF), DEL and the C1 controls, U+061C, U+200E, U+200F,
U+202A-U+202E, U+2066-U+2069, and lone surrogates (not text; PostgreSQL cannot store them).

The rule is applied by backend.http.input_guard to everything a client sends as text, so that
a new field is covered without anyone remembering to.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from litestar.exceptions import ValidationException

REFUSED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # C0 (but tab, LF, CR), DEL, C1
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi marks, embeddings, overrides, isolates
    "\ud800-\udfff]"  # lone surrogates
)
RULE = (
    "control characters (other than tab and line breaks) and bidirectional formatting "
    "characters are not allowed"
)


def first_refused(text: str) -> tuple[int, str] | None:
    """(position, character) of the first refused character, or None."""
    match = REFUSED.search(text)
    return (match.start(), match.group()) if match else None


def printable(name: str) -> str:
    """A field name fit to quote back: refused characters shown as U+XXXX escapes."""
    return REFUSED.sub(lambda m: f"<U+{ord(m.group()):04X}>", name)


def refusal(field: str, source: str, text: str, what: str = "") -> ValidationException | None:
    """The 400 for ``text`` given as ``field``, or None. ``what`` says which part of the field
    the text is ("the file name of", "a key in")."""
    found = first_refused(text)
    if found is None:
        return None
    position, char = found
    name = printable(field)
    about = f"{what} {name}" if what else name
    message = f"{RULE} (U+{ord(char):04X} at position {position} of {about})."
    return ValidationException(
        f"Invalid {name}: {message}", extra=[{"key": name, "message": message, "source": source}]
    )


def check(field: str, source: str, text: str, what: str = "") -> None:
    if (exc := refusal(field, source, text, what)) is not None:
        raise exc


def walk_json(value: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """(field path, text, what) for every string in a decoded JSON value, object keys included.
    Iterative, so a deeply nested body cannot exhaust the stack."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where or "body", item, ""
        elif isinstance(item, dict):
            for key, child in item.items():
                key = str(key)
                child_path = f"{where}.{key}" if where else key
                if first_refused(key):
                    yield where or "body", key, "a key in"
                stack.append((child_path, child))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", child) for i, child in enumerate(item))
