"""A plain grammar for how people ask for a text fix (no language model needed).

    replace hands with bands            change SPEED to SPEND          "6,001" -> "6,007"
    change the A in CAT to O            make the second o in "Mount Rose" an a
    fix the typo: Teh -> The            replace the 2nd hands with bands

parse_request(text) -> ParsedRequest(find, replace, occurrence) or ParseError with a suggestion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class ParseError(ValueError):
    pass


@dataclass(frozen=True)
class ParsedRequest:
    find: str
    replace: str
    occurrence: int | None = None  # 1-based, reading order; None: the first/only one


ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "last": -1,
}
EXAMPLES = 'try: replace hands with bands | change the A in CAT to O | "6,001" -> "6,007"'

_Q = r"""(?:"(?P<{0}q>[^"]+)"|(?P<{0}u>.+?))"""  # a quoted or an unquoted phrase


def _phrase(name: str) -> str:
    return _Q.format(name)


def _get(m: re.Match, name: str) -> str:
    q, u = m.group(f"{name}q"), m.group(f"{name}u")
    return q if q is not None else u.strip()


def _ordinal(word: str | None) -> int | None:
    if not word:
        return None
    w = word.lower()
    if w in ORDINALS:
        return ORDINALS[w]
    m = re.fullmatch(r"(\d+)(?:st|nd|rd|th)?", w)
    if m and int(m.group(1)) >= 1:
        return int(m.group(1))
    raise ParseError(f"not an ordinal: {word!r} (say first, second, 2nd, ...)")


def _normalise(text: str) -> str:
    t = text.strip()
    for a, b in (("\u201c", '"'), ("\u201d", '"'), ("\u2018", "'"), ("\u2019", "'"), ("\u2192", "->"), ("=>", "->")):
        t = t.replace(a, b)
    # Single-quoted phrases become double-quoted (but not apostrophes inside words).
    t = re.sub(r"(?<![\w])'([^']+)'(?![\w])", r'"\1"', t)
    t = re.sub(r"^(?:please|pls|can you|could you|kindly)\s+", "", t, flags=re.I)
    t = re.sub(r"\s*(?:,?\s*please)?[.!]?$", "", t, flags=re.I) if not t.endswith('"') else t
    t = re.sub(r"^(?:(?:fix|correct)\s+(?:the\s+)?)?typo\s*:?\s*", "typo ", t, flags=re.I)
    return t.strip()


_OCC = r"(?:\s*[\(,]?\s*(?:occurrence|#)\s*(?P<occ>\d+)\)?)?"
_ORD = r"(?:the\s+(?:(?P<ord>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|\d+(?:st|nd|rd|th))\s+)?)?"

_CHAR_RULE = re.compile(
    r"^(?:change|replace|make|turn|set|swap)\s+the\s+(?:(?P<cord>\w+)\s+)?(?P<c>\"[^\"]\"|\S)\s+in\s+"
    + _phrase("w")
    + r"\s+(?:to|into|with|by|for|as|an?|be|become)\s+(?:an?\s+|the\s+)?(?P<n>\"[^\"]\"|\S)" + _OCC + r"$",
    re.I,
)
_WORD_RULES = [
    re.compile(r"^(?:replace|substitute)\s+" + _ORD + _phrase("x") + r"\s+(?:with|by|for)\s+" + _phrase("y") + _OCC + r"$", re.I),
    re.compile(r"^(?:change|turn|correct|edit|rewrite|fix|convert|make)\s+" + _ORD + _phrase("x") + r"\s+(?:to|into|so it reads|to read|read|say|as)\s+" + _phrase("y") + _OCC + r"$", re.I),
    re.compile(r"^swap\s+" + _ORD + _phrase("x") + r"\s+(?:for|with|to)\s+" + _phrase("y") + _OCC + r"$", re.I),
    re.compile(r"^(?:typo\s+)?" + _ORD + _phrase("x") + r"\s*(?:->|-->|=)\s*" + _phrase("y") + _OCC + r"$", re.I),
    re.compile(r"^s/(?P<xq>[^/]+)/(?P<yq>[^/]*)/?(?P<xu>)(?P<yu>)" + _OCC + r"$"),
]


def _unquote_char(c: str) -> str:
    return c[1:-1] if len(c) == 3 and c[0] == '"' else c


def parse_request(text: str) -> ParsedRequest:
    t = _normalise(text)
    if not t:
        raise ParseError(f"empty request; {EXAMPLES}")
    m = _CHAR_RULE.match(t)
    if m:
        word, old, new = _get(m, "w"), _unquote_char(m.group("c")), _unquote_char(m.group("n"))
        nth = _ordinal(m.group("cord"))
        positions = [i for i, ch in enumerate(word) if ch == old]
        if not positions:
            raise ParseError(f'there is no "{old}" in "{word}"')
        if nth is None:
            nth = 1
        if nth == -1:
            nth = len(positions)
        if nth > len(positions):
            raise ParseError(f'"{word}" has only {len(positions)} "{old}"')
        i = positions[nth - 1]
        occ = int(m.group("occ")) if m.group("occ") else None
        return _checked(ParsedRequest(word, word[:i] + new + word[i + 1 :], occ))
    for rule in _WORD_RULES:
        m = rule.match(t)
        if m:
            find, replace = _get(m, "x"), _get(m, "y")
            occ = int(m.group("occ")) if m.groupdict().get("occ") else None
            if "ord" in m.groupdict() and m.group("ord"):
                occ = _ordinal(m.group("ord"))
                if occ == -1:
                    raise ParseError('"last" occurrence is not supported; give its number (e.g. --occurrence 2)')
            return _checked(ParsedRequest(find, replace, occ))
    raise ParseError(f"could not understand {text.strip()!r}; {EXAMPLES}")


def _checked(p: ParsedRequest) -> ParsedRequest:
    if not p.find.strip() or not p.replace.strip():
        raise ParseError(f"both the old and the new text must be non-empty; {EXAMPLES}")
    if p.find == p.replace:
        raise ParseError(f'"{p.find}" already reads like that: nothing to change')
    return p
