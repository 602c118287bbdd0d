"""The QaTa-COV19 findings sentence: render it from zone flags and parse it back.

The sentence is a template over six zone flags, so the model predicts flags and the text is
rendered from them; parsing exists to read training labels, including the noisy LViT sentences
("midlle", "uppper", "rlower ight", "all left lung", missing periods).

Side convention (settled from the masks, see docs/model.md, "Data"): the annotations' "left" is the
image's left half, i.e. the patient's right on a standard PA film.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ZONE_ORDER: tuple[str, ...] = (
    "left_upper",
    "left_middle",
    "left_lower",
    "right_upper",
    "right_middle",
    "right_lower",
)
_LEVELS = ("upper", "middle", "lower")
_COUNT_WORDS = ("no", "one", "two", "three", "four", "five", "six")
NO_LESION_SENTENCE = "no pulmonary infection, no infected areas."
_VOCAB = ("upper", "middle", "lower", "all", "left", "right", "lung")


class FindingsParseError(ValueError):
    """A sentence that names no lung zone we can recognise."""


@dataclass(frozen=True)
class Findings:
    zones: tuple[bool, bool, bool, bool, bool, bool]

    @property
    def count(self) -> int:
        return sum(self.zones)

    @property
    def left(self) -> bool:
        return any(self.zones[:3])

    @property
    def right(self) -> bool:
        return any(self.zones[3:])

    @property
    def laterality(self) -> str:
        """'bilateral', 'unilateral' or 'none'."""
        if self.left and self.right:
            return "bilateral"
        return "unilateral" if self.left or self.right else "none"

    def sentence(self) -> str:
        return render(self.zones)


def render(zones: tuple[bool, ...] | list[bool]) -> str:
    if len(zones) != 6:
        raise ValueError(f"expected 6 zone flags, got {len(zones)}")
    flags = [bool(z) for z in zones]
    n = sum(flags)
    if n == 0:
        return NO_LESION_SENTENCE
    sides = []
    for side, part in (("left", flags[:3]), ("right", flags[3:])):
        if any(part):
            levels = " ".join(lv for lv, on in zip(_LEVELS, part, strict=True) if on)
            sides.append(f"{levels} {side} lung")
    lat = "bilateral" if len(sides) == 2 else "unilateral"
    areas = "area" if n == 1 else "areas"
    return f"{lat} pulmonary infection, {_COUNT_WORDS[n]} infected {areas}, {' and '.join(sides)}."


def _damerau(a: str, b: str) -> int:
    """Optimal-string-alignment distance: typos in the LViT text are single edits or swaps."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def _normalise_word(word: str) -> str | None:
    if word in _VOCAB:
        return word
    best = min(_VOCAB, key=lambda v: _damerau(word, v))
    limit = 1 if len(word) <= 4 else 2
    return best if _damerau(word, best) <= limit else None


def parse(sentence: str) -> Findings:
    """Zone flags from a findings sentence; raises FindingsParseError when none are named."""
    text = sentence.lower()
    # The zone list is everything after the area count ("... infected areas, <zones>").
    m = re.search(r"infected\s+areas?\s*,?(.*)$", text)
    tail = m.group(1) if m else text
    words = [w for w in (_normalise_word(t) for t in re.findall(r"[a-z]+", tail)) if w]
    flags = [False] * 6
    pending: list[str] = []
    for w in words:
        if w in _LEVELS or w == "all":
            pending.append(w)
        elif w in ("left", "right"):
            base = 0 if w == "left" else 3
            levels = _LEVELS if "all" in pending or not pending else pending
            for lv in levels:
                flags[base + _LEVELS.index(lv)] = True
            pending = []
    if not any(flags):
        if text.strip().startswith("no "):
            return Findings(zones=(False, False, False, False, False, False))
        raise FindingsParseError(f"no lung zone found in {sentence!r}")
    return Findings(zones=tuple(flags))  # type: ignore[arg-type]
