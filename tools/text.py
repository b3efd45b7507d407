"""Text helpers shared by finding, planning, verifying and judging: one home for each.

- `squeeze`: text without spaces (OCR inserts and drops them: "6, 001 , 271").
- `shared_ends`: what an old and a new word share at their start and end (a re-set word keeps
  those characters; verification compares them at their new places).
- `LOOK_ALIKES`: characters the recogniser confuses, in groups of shapes that are the same up to
  case or nearly so. Verification lets only these stand for each other, and only when the
  recogniser's own likelihoods say so (agent/policy.py).
- `confusable`: a looser canonical form for *finding* a word the user typed in what OCR read
  (tools/locate.py, a last resort): the look-alike groups, plus confusions too loose to verify
  with. Finding may err toward a candidate; verifying may not.
"""

from __future__ import annotations

LOOK_ALIKES = ("0OoQD", "1Il|", "5Ss", "2Zz", "8B", "9gq", "6b", "Cc", "Uu", "Vv", "Ww", "Xx", "Kk", "Pp")

# Confusions that finding accepts on top of LOOK_ALIKES: a 7 read as Z or 2 in a condensed face, an
# i without its dot read as l or 1, an E whose bottom bar is lost read as F, and the marks below read
# for one another (a time's "12:30" read "12.30" on a photo was "not found").
FIND_ALSO = ("7Z", "1i", "EF", ".:", ",;")


# Punctuation the recogniser reads for one another at text sizes (a full stop as a colon, a comma as
# a semicolon) and drops at a crop's edge: where its pixels are checked instead (agent/verify.py's
# marks_free), the readings are compared without it.
MARKS = ".,:;"


def without_marks(text: str) -> str:
    """text without MARKS."""
    return "".join(c for c in text if c not in MARKS)


def squeeze(text: str) -> str:
    """Text without whitespace."""
    return "".join(text.split())


def shared_ends(old: str, new: str) -> tuple[int, int]:
    """(head, tail): how many characters old and new share at their start and, after that, at their end."""
    n = min(len(old), len(new))
    head = 0
    while head < n and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < n - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return head, tail


def squeeze_indexed(text: str) -> tuple[str, list[int]]:
    """Text without whitespace, and for each kept character its index in the original."""
    kept = [(c, i) for i, c in enumerate(text) if not c.isspace()]
    return "".join(c for c, _ in kept), [i for _, i in kept]


def look_alike(a: str, b: str) -> bool:
    """Two different characters the recogniser may read for each other."""
    return a != b and any(a in g and b in g for g in LOOK_ALIKES)


def lower(text: str) -> str:
    """Lower case, character for character (a character whose lower case is longer, such as "İ",
    stays as it is), so indices into the text still hold."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _find_classes() -> dict[str, str]:
    """Each character of a find group mapped to one representative (groups that share a
    character are merged: "2Zz" and "7Z" are one class)."""
    classes: list[set[str]] = []
    for group in LOOK_ALIKES + FIND_ALSO:
        merged = set(group)
        for c in [c for c in classes if c & merged]:
            merged |= c
            classes.remove(c)
        classes.append(merged)
    return {ch: min(c) for c in classes for ch in c}


_FIND_TABLE = str.maketrans(_find_classes())


def confusable(text: str) -> str:
    """The canonical form for finding: every character of a confusable class as one representative."""
    return text.translate(_FIND_TABLE)


# Characters that share their ink's top and bottom in a font: the x-height letters, capitals
# without tails, figures, ascender letters, descender letters.
HEIGHT_CLASSES = ("acemnorsuvwxz", "ABCDEFGHIKLMNOPRSTUVWXYZ", "0123456789", "bdhkl", "gpqy")


def height_class(c: str) -> int | None:
    """Which of HEIGHT_CLASSES c belongs to (None: a character of its own height, punctuation)."""
    return next((i for i, g in enumerate(HEIGHT_CLASSES) if c in g), None)
