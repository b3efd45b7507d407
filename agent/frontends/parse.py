"""A plain grammar for how people ask for text edits in an image (no language model needed).

Public API
    parse_requests(text) -> list[ParsedRequest]      one or more edits, in the order asked
    parse_request(text, *, allow_last=False, allow_delete=False) -> ParsedRequest      exactly one edit
    ParsedRequest(find, replace, occurrence)         .deletes: True for an explicit delete/remove request
    ParseError                                       names the part not understood and the closest form
    LAST = -1                                        the occurrence of "the last X"

Forms (X: the text in the image now, Y: what it should read; quoted or not)
    replace X with|by|w/ Y         substitute X with Y            substitute Y for X          (reversed)
    swap (out) X for|with Y        change|turn|edit|rename|correct|update|fix X to|into Y
    edit X to read Y               make X say|read Y              update the price from X to Y
    X -> Y   X => Y   X → Y   X = Y   s/X/Y/   and a bare "X to Y"
    make it say Y instead of X     use|write|put Y instead of X   instead of X, write Y        (reversed)
    X should be|should read|needs to be Y            X is misspelled, it should be Y
    it should say Y(,) not X       Y(,) not X        Y instead of X                             (reversed)
    it says X but should say Y     it says X instead of Y         where it says X, put Y
    I need X changed to Y          I want X replaced with Y       I would like X to be changed to Y
    fix the typo: <any form>       remove the word X | delete X (from the banner)    -> replace ""
  Which one: the first|2nd|third|last X, the 2nd occurrence of X, X (the second one), X (occurrence 3), X #3
  One character (find is the whole word W, replace is W with that character changed):
    the first|3rd|last letter|character|digit of W to C        the 5th character in W should be C
    the (second) C in W to D       make the C in W a D            in W, change the C to D
  Several edits: joined by "and", ",", ";", "and also", "then", or in separate sentences.  A split is made
    only where every part reads as an edit on its own; a part without its own verb borrows the previous
    one ("replace A with B and C with D").  Quoted text is never split.
  Filler is ignored: please, pls, can/could you (please), I need/want/would like, hey, hi, thanks, ?, !, .

Quotes ("…", '…', “…”, ‘…’) keep a phrase whole: nothing inside is read as grammar.  Apostrophes inside
words (Joe's, don't, Rock 'n' Roll) stay as they are.  Unquoted words are taken literally, except a leading
"the" and a describing noun before the text ("the word cat", "the price $4.99", "the label "Total"").

Refused with ParseError: questions, style and layout requests, and requests whose "text" is a property of
the image (the font, the colour of the text, the background), a pronoun (it, this) or a description of text
instead of the text itself (the date on this).  So `change colour to color` is an edit, while
`change the colour to red` is not.

replace == "" only for an explicit delete/remove request; occurrence == LAST for "the last X".
parse_request refuses both unless allowed, because its callers pass the result to EditRequest, which needs
a non-empty replacement and a 1-based occurrence.

Limits, by design: unquoted text is read greedily toward more edits ("change A to B and C to D" is two),
so quote a phrase that itself reads as "X to Y"; a trailing unquoted "please"/"thanks" is filler; the
verbless forms ("X to Y", "Y not X") take at most three unquoted words; a one-edit reading fails when what
follows an "and" is a refused edit or a command ("change A to B and make it nicer"); at most 2000
characters and 31 parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LAST", "ParseError", "ParsedRequest", "parse_request", "parse_requests"]


class ParseError(ValueError):
    """Not an edit request this grammar understands; the message says which part and the closest form."""


class _Refusal(ParseError):
    """A soft failure: another form may still read the text; if none does, it becomes the message."""

    def __init__(self, reason: str, kind: str = "form"):
        super().__init__(reason)
        self.reason, self.kind = reason, kind


LAST = -1


@dataclass(frozen=True)
class ParsedRequest:
    find: str
    replace: str  # "" only for an explicit delete/remove request
    occurrence: int | None = None  # 1-based, reading order; LAST (-1): the last one; None: the first/only one

    @property
    def deletes(self) -> bool:
        return self.replace == ""


# --- vocabulary ------------------------------------------------------------------------------------------

ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "last": LAST, "final": LAST,
}
_ORD = "(?:" + "|".join(ORDINALS) + r"|\d+(?:st|nd|rd|th))"

# Verbs that open a form, by family.  A space stands for any whitespace.
VERBS = {
    "replace": r"replace|substitute",
    "substitute": r"substitute",
    "swap": r"swap out|swap|switch out|switch|exchange",
    "change": r"change|turn|correct|edit|rewrite|fix|convert|rename|update|alter|modify|amend|set",
    "make": r"make|have",
    "use": r"use|write|put|type|say",
    "delete": r"remove|delete|erase|take out|get rid of|drop",
    "char": r"change|replace|make|turn|set|swap|correct|fix|edit|update",
}
# Words between X and Y.
CONNECTORS = {
    "with": r"with|by",
    "for": r"for|with|to|into",
    "to": r"to read|to say|to|into|so that it reads|so that it says|so it reads|so it says|as",
    "say": r"say|read|show|display",
    "says": r"says|reads|shows|displays",
    "should": r"should|must|needs to|need to|has to|have to|ought to|is supposed to",
    "instead": r"instead of|rather than",
    "passive": r"changed|replaced|swapped|switched|corrected|updated|turned|edited|altered|fixed|amended|rewritten",
    "subj": r"it|this|that|the \w+ \w+|the \w+",  # what "says" something: it, this, the sign
}

# (example, template, bare).  {X} is the text to find, {Y} the new text, whatever order they come in;
# (?P<lead>...) is the verb a later part may borrow.  bare: both sides must be short literal phrases.
FORMS: list[tuple[str, str, bool]] = [
    ("update the price from X to Y",
     r"(?:(?P<lead><change>|<replace>|<swap>)(?: (?:the|this|that|its) [^\ue000]*?| it| this| that)? )?"
     r"from {X} to {Y}", False),
    ("make it say Y instead of X",
     r"(?P<lead>(?:<make> <subj>|<subj> to|<change> <subj> to) <say>) {Y},? (?:<instead>|not) {X}", False),
    ("it should say Y, not X", r"<subj> <should> (?:<say>|be) {Y},? (?:<instead>|and not|not) {X}", False),
    ("it says X but should say Y",
     r"<subj> <says> {X},? (?:but |and |whereas )?(?:(?:it|I (?:want|need|would like|'d like) it to) )?"
     r"(?:<should> )?(?:<say>|be) {Y}", False),
    ("it says X instead of Y", r"<subj> <says> {X} <instead> {Y}", False),
    ("where it says X, put Y",
     r"where <subj> <says> {X},? (?:please )?(?:put|write|use|type|say|make it <say>|have it <say>"
     r"|change it to|replace it with|it should (?:<say>|be)) {Y}", False),
    ("instead of X, write Y",
     r"<instead> {X},? (?:please )?(?:<use>|make it <say>|have it <say>|it should (?:<say>|be)) {Y}", False),
    ("use Y instead of X", r"(?P<lead><use>) {Y} <instead> {X}", False),
    ("substitute Y for X", r"(?P<lead><substitute>) {Y} for {X}", False),
    ("replace X with Y", r"(?P<lead><replace>) {X} <with> {Y}", False),
    ("swap X for Y", r"(?P<lead><swap>) {X} <for> {Y}", False),
    ("change X to Y", r"(?P<lead><change>) {X} <to> {Y}", False),
    ("make X say Y", r"(?P<lead><make>) {X} <say> {Y}", False),
    ("I need X changed to Y",
     r"{X} (?:(?:to be|be|being|to get|should be|must be|needs to be) )?<passive> (?:to|with|into|by|for|as) {Y}",
     False),
    ("X should be Y",
     r"{X}(?: (?:is|was|looks|seems) (?:misspel+ed|misspelt|wrong|incorrect|a typo|spelled wrong|spelt wrong))?"
     r",? (?:and |but |so )?(?:it )?<should> (?:be|read|say|become)(?: changed to)? {Y}", False),
    ("X -> Y", r"(?:(?P<lead><change>|<replace>) )?{X}\s*(?:->|=)\s*{Y}", False),
    ("Y instead of X", r"{Y} <instead> {X}", True),
    ("Y, not X", r"{Y},? not {X}", True),
    ("X to Y", r"{X} (?:to|into) {Y}", True),
]

# Suggestions: the form to show first for the verb a request starts with, then the common ones.
_CLOSEST = {
    "replace": "replace X with Y", "substitute": "substitute X with Y", "swap": "swap X for Y",
    "switch": "swap X for Y", "change": "change X to Y", "turn": "turn X into Y", "edit": "edit X to read Y",
    "rename": "rename X to Y", "correct": "correct X to Y", "fix": "fix the typo: X -> Y",
    "typo": "fix the typo: X -> Y", "update": "update X to Y", "set": "change X to Y",
    "make": "make it say Y instead of X", "use": "use Y instead of X", "write": "instead of X, write Y",
    "put": "where it says X, put Y", "instead": "instead of X, write Y", "remove": "remove the word X",
    "delete": "delete X", "erase": "delete X", "it": "it should say Y, not X", "where": "where it says X, put Y",
}
_COMMON = ("replace X with Y", "change X to Y", "X -> Y", "make it say Y instead of X", "change the 2nd X to Y",
           "change the A in CAT to O")

# Words that name a property of the image or a kind of text, not the text itself.
PROPERTIES = {
    "font", "fonts", "typeface", "colour", "color", "colours", "colors", "background", "size", "style", "layout",
    "image", "picture", "photo", "contrast", "brightness", "watermark", "logo", "border", "shadow", "outline",
    "resolution", "spacing", "alignment", "kerning", "weight", "orientation", "poster", "look",
}
_VISUAL_ONLY = {"font", "fonts", "typeface", "background", "watermark", "logo", "contrast", "brightness", "layout"}
TEXT_NOUNS = {
    "text", "word", "words", "number", "numbers", "price", "year", "date", "time", "heading", "header",
    "headline", "title", "subtitle", "label", "name", "phrase", "caption", "line", "sign", "button", "amount",
    "total", "value", "figure", "slogan", "tagline", "banner", "message", "entry", "item", "field", "row",
    "column", "letters", "string", "tag", "sentence", "writing", "lettering",
}
_POSITION_NOUNS = {"word", "line", "row", "column", "item", "entry", "sentence"}
_PRONOUNS = {"it", "this", "that", "these", "those", "them", "everything", "all", "something", "anything"}
_DEICTIC = {"this", "that", "it", "these", "those", "me", "my", "you", "your", "here", "there"}
_QUESTION = {"what", "why", "how", "where", "when", "who", "which", "is", "are", "does", "do", "did", "can",
             "could", "would", "will", "should"}
_DET = r"the|this|that|these|those|its|my|your|our|their"
_VERB_WORDS = {alt.split()[0] for alts in VERBS.values() for alt in alts.split("|")} | {
    "translate", "add", "move", "resize", "crop", "rotate", "improve", "enhance", "read", "go", "let", "tell",
    "give", "help", "show", "print", "apply", "keep",
}

# --- quoting ---------------------------------------------------------------------------------------------

_QUOTED = re.compile(
    r'["\u201c\u201d\u201e](?P<d>[^"\u201c\u201d]*)["\u201c\u201d]'
    r"|(?<!\w)['\u2018\u2019](?P<s>(?:(?!\s).+?)?)['\u2019](?!\w)"
)
_PH = "\ue000\\d+\ue001"  # a quoted phrase, masked
_CLOSING = {"'": "'\u2019", "\u2018": "'\u2019", '"': '"\u201d', "\u201c": '"\u201d'}


def _mask(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Replace each quoted phrase by a placeholder so no rule looks inside it; normalise the rest."""
    quotes: list[tuple[str, str]] = []

    def keep(m: re.Match) -> str:
        quotes.append((m["d"] if m["d"] is not None else m["s"], m[0]))
        return f"\ue000{len(quotes) - 1}\ue001"

    text = text.replace("\ue000", "").replace("\ue001", "")  # the placeholder marks are ours alone
    t = _QUOTED.sub(keep, " ".join(text.split()))
    t = re.sub(r"\s*(?:\u2192|\u21d2|\u27f6|=>|-->|\u2013>|\u2014>)\s*", " -> ", t)
    t = re.sub(r"(?i)\bw/(?=\s)", "with", t)
    return t.strip(), quotes


def _unmask(s: str, quotes: list[tuple[str, str]]) -> str:
    """The text a phrase stands for: a lone quoted phrase without its quotes, else the words as written."""
    s = s.strip()
    m = re.fullmatch(_PH, s)
    if m:
        return quotes[int(s[1:-1])][0]
    s = re.sub(_PH, lambda m: quotes[int(m[0][1:-1])][1], s)
    # 'Rock 'n' Roll': a quoted phrase with quotes inside reads as pieces; drop the outer pair
    if len(s) > 2 and s[-1] in _CLOSING.get(s[0], ""):
        return s[1:-1]
    return s


# --- filler ----------------------------------------------------------------------------------------------

_HEAD = re.compile(
    r"^(?:(?:hey|hi|hello|ok|okay)(?:[\s,!.:;]+|$)"
    r"|(?:also|and|then|plus|just|please|pls|plz|kindly)\b[\s,:]*"
    r"|(?:can|could|would|will)\s+(?:you|u|someone|somebody|anyone)\b\s*"
    r"|(?:i|we)(?:\s+(?:need|want|would\s+like)|['\u2019]d\s+like)\s+(?:(?:you|someone)\s+)?to\s+(?=\S)"
    r"|(?:i|we)(?:\s+(?:need|want|would\s+like)|['\u2019]d\s+like)\s+(?=\S))",
    re.I,
)
_TAIL = re.compile(
    r"(?:[\s,;:.!?]*\b(?:please\s+fix(?:\s+(?:it|this|that))?|please|pls|plz"
    r"|thanks(?:\s+(?:so|very)\s+much|\s+a\s+lot)?|thank\s+you(?:\s+(?:so|very)\s+much)?|thx|cheers|asap"
    r"|for\s+me|if\s+(?:possible|you\s+can))\b)+[\s,;:.!?]*$",
    re.I,
)
_TYPO = re.compile(
    r"^(?:(?:fix|correct)\s+)?(?:(?:the|a|this|that|my|one)\s+)?"
    r"(?:typo|spelling\s+(?:mistake|error)|misspelling|spelling)s?\b(?:\s+(?:in|of|on)\b)?[\s:,\-\u2013\u2014]*",
    re.I,
)


def _strip_filler(s: str) -> str:
    prev = None
    while prev != s:
        prev = s
        s = _TAIL.sub("", s).strip()
        s = _HEAD.sub("", s, count=1).strip()
        s = re.sub(r"[\s,;:.!?]+$", "", s)
    return s


# --- the parts of a form -----------------------------------------------------------------------------------

def _ordinal(word: str | None) -> int | None:
    if not word:
        return None
    w = word.lower()
    if w in ORDINALS:
        return ORDINALS[w]
    m = re.fullmatch(r"(\d+)(?:st|nd|rd|th)?", w)
    if m and int(m.group(1)) >= 1:
        return int(m.group(1))
    raise ParseError(f"not an ordinal: {word!r} (say first, second, 2nd, ..., last)")


_PAREN_ORD = re.compile(rf"\s*\(\s*(?:the\s+)?(?P<o>{_ORD})(?:\s+(?:one|occurrence|instance))?\s*\)$", re.I)
_OCC_TAIL = re.compile(
    rf"(?:\s+|\s*[(,]\s*)(?:(?:occurrence|instance)\s*|#)(?P<n>\d+)\s*\)?$"
    rf"|\s*\(\s*(?:the\s+)?(?P<o>{_ORD})(?:\s+(?:one|occurrence|instance))?\s*\)$",
    re.I,
)


def _target(phrase: str, quotes: list[tuple[str, str]], strict: bool = False) -> tuple[str, int | None]:
    """The text to find and which occurrence: `the 2nd "X"`, `the label "X"`, `X (the second one)`, `the 2023`.

    Refuses (softly) phrases that name a property, a pronoun or a description instead of text.
    strict (deletions): an unquoted phrase with an article names an object ("the watermark"), not text.
    """
    p = phrase.strip(" ,:")
    occ = None
    m = _PAREN_ORD.search(p)
    if m:
        occ, p = _ordinal(m["o"]), p[: m.start()].rstrip(" ,")
    det = None
    m = re.match(rf"({_DET})\s+(?=\S)(.*)$", p, re.I)
    if m:
        det, p = m[1].lower(), m[2]
    if det == "the":
        m = re.match(rf"({_ORD})\s+(?:(?:occurrence|instance|appearance)\s+of\s+(?:the\s+)?)?(?=\S)(.*)$", p, re.I)
    else:
        m = re.match(rf"({_ORD})\s+(?:occurrence|instance|appearance)\s+of\s+(?:the\s+)?(?=\S)(.*)$", p, re.I)
    if m:  # "the 2nd Total" counts occurrences of Total; "the 2nd word" still describes
        occ, p = _ordinal(m[1]), m[2]
        det = "the" if p.split()[0].lower() in _POSITION_NOUNS else None
    described = False
    m = re.match(r"(?:[^\ue000]*?\s)?(?:that|which|where it)\s+(?:says|reads|shows)\s+(?=\S)(.*)$", p, re.I)
    if m:
        p, described = m[1], True
    # a describing phrase and then the quoted text: the label "Total", the first word, "Welcome"
    m = re.fullmatch(rf"(?P<words>[^\ue000]*?)[\s,]*(?P<ph>{_PH})[\s,]*", p)
    if m and (not m["words"] or det or described or m["words"].split()[-1].lower() in TEXT_NOUNS):
        words = m["words"].lower().split()
        if words and occ is not None and words[0] in _POSITION_NOUNS:
            occ = None  # "the first word, X": first names the word, not an occurrence of X
        return _unmask(m["ph"], quotes), occ
    # unquoted: the number 42, the price $19.99, the word cat
    m = re.fullmatch(r"(\w+)\s+(\S+)", p)
    if det == "the" and m and m[1].lower() in TEXT_NOUNS:
        return _unmask(m[2], quotes), occ
    low = p.lower()
    first = low.split()[0] if low.split() else ""
    shown = phrase.strip(" ,:")
    if det is None and low in _PRONOUNS:
        raise _Refusal(f'"{p}" does not say which text to change; quote the words as they appear', "target")
    if first in PROPERTIES and (det or re.match(r"\w+\s+of\b", low)) or low in _VISUAL_ONLY:
        raise _Refusal(f'"{shown}" is a property of the image, not text in it (only words can be changed)', "target")
    if det and (first in TEXT_NOUNS or det != "the"):
        raise _Refusal(f'"{shown}" describes text instead of quoting it; write the words as they appear',
                       "target")
    if strict and det and "\ue000" not in p:
        raise _Refusal(f'"{shown}" names a thing, not text; quote the words to delete', "target")
    if not p:
        raise _Refusal("it names no text to change")
    return _unmask(p, quotes), occ


def _value(phrase: str, quotes: list[tuple[str, str]]) -> str:
    """The new text: `"Yes"`, `a 'Yes'`, `an a`, `a 6`, or the words as written."""
    p = re.sub(r"\s+instead$", "", phrase.strip(" ,:"), flags=re.I)
    m = re.fullmatch(rf"(?:an?|the)\s+({_PH}|[^\s\ue000]|[$\u20ac\u00a3]?\d[\d.,:%]*)", p, re.I)
    if m:
        p = m[1]
    v = _unmask(p, quotes)
    if not v.strip():
        raise _Refusal("it does not say what the new text should be")
    return v


def _bare_ok(phrase: str) -> bool:
    """A verbless form ("X to Y", "Y not X") only reads short literal phrases, never commands or questions."""
    words = [w.strip(",.!?").lower() for w in phrase.split()]
    return (0 < len(words) <= 3 and words[0] not in _VERB_WORDS | _QUESTION and not _DEICTIC & set(words)
            and "?" not in phrase)


def _checked(find: str, replace: str, occ: int | None, delete: bool = False) -> ParsedRequest:
    if not find.strip():
        raise _Refusal("it names no text to change")
    if not replace.strip() and not delete:
        raise _Refusal("it does not say what the new text should be")
    if find == replace:
        raise ParseError(f'"{find}" already reads like that: nothing to change')
    return ParsedRequest(find, replace, occ)


# --- the rules -------------------------------------------------------------------------------------------

_TABLE = {**VERBS, **CONNECTORS}


def _compile(template: str) -> re.Pattern:
    pat = re.sub(r"(?<!\?P)<(\w+)>", lambda m: f"(?:{_TABLE[m[1]]})", template)
    pat = pat.replace("{X}", r"(?P<x>.+?)").replace("{Y}", r"(?P<y>.+?)").replace(" ", r"\s+")
    return re.compile(f"^{pat}$", re.I)


_FORMS = [(example, _compile(template), bare) for example, template, bare in FORMS]
_SED = re.compile(r"s/(?P<x>[^/]+)/(?P<y>[^/]*)/?")
_DELETE = _compile(r"(?P<lead><delete>) {X}(?: from (?:the|this|that|my|our|your|its|it)\b.*)?")

_CHAR_ORD = r"(?P<ord>(?!(?:letter|character|char|digit|number)\b)\w+)"
_CHAR_TO = (r"(?:to|into|with|by|for|as|->|an?|be|become"
            r"|(?:should|must|needs\s+to|has\s+to)\s+(?:be|read|become))")
_CHAR_NEW = rf"(?:an?\s+)?(?P<d>{_PH}|\S+)"
_CHAR_VERB = rf"(?P<lead>{VERBS['char']})"
# "the 3rd letter of W": a position among letters, characters or digits
_UNIT = rf"the\s+{_CHAR_ORD}\s+(?P<unit>letter|character|char|digit)"
# "the (second) o in W": a character (or quoted string) by value
_VALUE = rf"the\s+(?:{_CHAR_ORD}\s+)?(?:(?:letter|character|char|digit|number)\s+)?(?P<c>{_PH}|[^\s\ue000])"
_CHAR_FORMS = [
    re.compile(rf"^(?:{_CHAR_VERB}\s+)?{_UNIT}\s+(?:of|in)\s+(?P<w>.+?)\s+{_CHAR_TO}\s+{_CHAR_NEW}$", re.I),
    re.compile(rf"^(?:{_CHAR_VERB}\s+)?{_VALUE}\s+in\s+(?P<w>.+?)\s+{_CHAR_TO}\s+{_CHAR_NEW}$", re.I),
    *(re.compile(rf"^(?:in|for)\s+(?P<w>.+?),?\s+(?:{_CHAR_VERB}\s+)?{spec}\s+{_CHAR_TO}\s+{_CHAR_NEW}$", re.I)
      for spec in (_UNIT, _VALUE)),
]
_UNIT_TEST = {"letter": str.isalpha, "digit": str.isdigit, "character": lambda ch: not ch.isspace()}


def _char_edit(m: re.Match, quotes: list[tuple[str, str]], occ: int | None) -> ParsedRequest:
    word, _ = _target(m["w"], quotes)
    new = _value(m["d"], quotes)
    nth = _ordinal(m["ord"])
    unit = m.groupdict().get("unit")
    if unit:
        unit = "character" if unit.lower() == "char" else unit.lower()
        positions = [i for i, ch in enumerate(word) if _UNIT_TEST[unit](ch)]
        old, what = 1, f"{unit}s"
        if not positions:
            raise ParseError(f'there is no {unit} in "{word}"')
    else:
        c = _unmask(m["c"], quotes)
        positions = [i for i in range(len(word)) if word.startswith(c, i)]
        if not positions:  # "the a in CAT": fall back to any case, and keep the case of the word
            positions = [i for i in range(len(word)) if word[i : i + len(c)].lower() == c.lower()]
            if positions and word[positions[0] : positions[0] + len(c)].isupper():
                new = new.upper()
        old, what = len(c), f'"{c}"'
        if not positions:
            raise ParseError(f'there is no "{c}" in "{word}"')
    nth = len(positions) if nth == LAST else nth or 1
    if nth > len(positions):
        raise ParseError(f'"{word}" has only {len(positions)} {what}')
    i = positions[nth - 1]
    return _checked(word, word[:i] + new + word[i + old :], occ)


def _match(s: str, quotes: list[tuple[str, str]], occ: int | None, lead: str | None = None
           ) -> tuple[ParsedRequest, str | None]:
    """Read one edit from a masked clause.  With lead, only forms that open with that same verb count."""

    def same(m: re.Match) -> bool:
        got = m.groupdict().get("lead")
        return lead is None or (got is not None and " ".join(got.lower().split()) == lead)

    def lead_of(m: re.Match) -> str | None:
        got = m.groupdict().get("lead")
        return " ".join(got.lower().split()) if got else None

    m = _SED.fullmatch(s)
    if m and lead is None:
        return _checked(m["x"], m["y"], occ, delete=True), None
    for rx in _CHAR_FORMS:
        m = rx.match(s)
        if m and same(m):
            return _char_edit(m, quotes, occ), lead_of(m)
    first_error: ParseError | None = None
    m = _DELETE.match(s)
    if m and same(m):
        try:
            find, occ_x = _target(m["x"], quotes, strict=True)
            return _checked(find, "", occ_x or occ, delete=True), lead_of(m)
        except ParseError as e:
            first_error = e
    for _example, rx, bare in _FORMS:
        m = rx.match(s)
        if not m or not same(m) or (bare and not (_bare_ok(m["x"]) and _bare_ok(m["y"]))):
            continue
        try:
            find, occ_x = _target(m["x"], quotes)
            return _checked(find, _value(m["y"], quotes), occ_x or occ), lead_of(m)
        except ParseError as e:
            first_error = first_error or e
    if first_error:
        raise first_error
    raise _Refusal(_why(s))


def _why(s: str) -> str:
    """Why a clause matched no form, in words."""
    low = s.lower()
    words = re.findall(r"[\w']+", low)
    quoted = "\ue000" in s
    if not words and not quoted:
        return "it names no text to change"
    if words and words[0] in _QUESTION and not quoted:
        return "it is a question, not an edit"
    m = re.search(rf"\b(?:{_DET})\s+(\w+)", low)
    if m and m[1] in PROPERTIES:
        return f'"{m[0]}" is a property of the image, not text in it (only words can be changed)'
    if m and m[1] in TEXT_NOUNS and not quoted:
        return f'it names no text to change ("{m[0]}" describes text instead of quoting it)'
    if quoted or (words[0] in _VERB_WORDS and len(words) > 1 and words[1] not in _PRONOUNS):
        return "it does not say both the old and the new text"
    return "it names no text to change"


def _suggest(s: str) -> str:
    first = (re.findall(r"[\w']+", s.lower()) or [""])[0]
    forms = ([_CLOSEST[first]] if first in _CLOSEST else []) + list(_COMMON)
    return "try: " + " | ".join(dict.fromkeys(forms))


# --- clauses and splitting ---------------------------------------------------------------------------------

def _starts_with_verb(s: str) -> bool:
    first = (re.findall(r"[\w']+|\S", s.lower()) or [""])[0]
    return first in _VERB_WORDS | {"it", "this", "where", "instead", "in", "i", "s"}


def _parse_segment(seg: str, quotes: list[tuple[str, str]], lead: str | None
                   ) -> tuple[ParsedRequest | None, str | None]:
    """One part of a request: (edit, verb for later parts), or (None, lead) for filler such as "thanks"."""
    s = _strip_filler(seg)
    if not s:
        return None, lead
    typo = _TYPO.match(s)
    if typo:
        s = s[typo.end() :]
        if not s:
            raise _explain(_Refusal("it names no text to change"), seg, quotes)
    readings: list[tuple[str, int | None]] = [(s, None)]
    m = _OCC_TAIL.search(s)
    if m and m.start() > 0:
        occ = int(m["n"]) if m["n"] else _ordinal(m["o"])
        readings.insert(0, (s[: m.start()], occ))
    tries = [(f"{lead} {t}", occ, lead) for t, occ in readings] if lead and not _starts_with_verb(s) else []
    tries += [(t, occ, None) for t, occ in readings]
    own_error: ParseError | None = None
    for text, occ, want in tries:
        try:
            edit, new_lead = _match(text, quotes, occ, want)
            return edit, new_lead or lead
        except ParseError as e:
            if want is None and own_error is None:
                own_error = e
    raise _explain(own_error or _Refusal(_why(s)), seg, quotes)


def _explain(err: ParseError, seg: str, quotes: list[tuple[str, str]]) -> ParseError:
    if not isinstance(err, _Refusal):
        return err
    s = _strip_filler(seg) or seg
    e = _Refusal(f'could not understand "{_unmask(seg, quotes)}": {err.reason}; {_suggest(s)}', err.kind)
    e.reason = err.reason
    return e


# Places a request may hold several edits: ";", a sentence end, ",", and/then/also/plus.
_CUT = re.compile(
    r"\s*;\s*(?:(?:and|then|also|plus)\s+)*"
    r"|(?<=[.!?])\s+(?:(?:and|then|also|plus)\s+)*"
    r"|\s*,\s+(?:(?:and|then|also|plus)\s+)*"
    r"|\s+(?:(?:and|then|also|plus)\s+)+",
    re.I,
)
_MAX_LEN = 2000  # characters
_MAX_CUTS = 30  # places where a request may split (the search grows with their cube)


class _Splitter:
    """Finds the reading with the most edits in which every part is an edit (or filler) on its own."""

    def __init__(self, text: str, quotes: list[tuple[str, str]]):
        self.t, self.quotes = text, quotes
        self.cuts = [(m.start(), m.end()) for m in _CUT.finditer(text) if 0 < m.start() and m.end() < len(text)]
        self.memo: dict = {}
        self.seen: dict = {}

    def segment(self, start: int, end: int, lead: str | None) -> tuple[ParsedRequest | None, str | None]:
        """t[start:end] read as one part (cached); ParseError if it is no edit."""
        key = (start, end, lead)
        if key not in self.seen:
            try:
                got = _parse_segment(self.t[start:end], self.quotes, lead)
                if got[0] is not None:
                    self._no_hidden_request(start, end, lead)
                self.seen[key] = got
            except ParseError as e:
                self.seen[key] = e
        got = self.seen[key]
        if isinstance(got, ParseError):
            raise got
        return got

    def _no_hidden_request(self, start: int, end: int, lead: str | None) -> None:
        """ "change A to B and the font to C" is not one edit whose new text is "B and the font to C": when,
        after an inner cut, the rest is an edit that was refused or a command of its own ("... and make it
        nicer"), the part fails with the reason for that rest."""
        for c0, c1 in self.cuts:
            if c0 <= start or c1 >= end:
                continue
            try:
                edit, left_lead = self.segment(start, c0, lead)
            except ParseError:
                continue
            if edit is None:
                continue
            try:
                self.segment(c1, end, left_lead)
            except _Refusal as e:
                words = _strip_filler(self.t[c1:end]).lower().split()
                if e.kind == "target" or (len(words) > 1 and words[0] in _VERB_WORDS):
                    raise
            except ParseError:
                continue

    def best(self, pos: int = 0, k: int = 0, lead: str | None = None) -> tuple[ParsedRequest, ...] | None:
        key = (pos, k, lead)
        if key in self.memo:
            return self.memo[key]
        result = None
        for j in range(k, len(self.cuts) + 1):
            end = self.cuts[j][0] if j < len(self.cuts) else len(self.t)
            if end <= pos:
                continue
            try:
                edit, new_lead = self.segment(pos, end, lead)
            except ParseError:
                continue
            mine: tuple[ParsedRequest, ...] = (edit,) if edit else ()
            if j == len(self.cuts):
                candidate = mine
            else:
                rest = self.best(self.cuts[j][1], j + 1, new_lead)
                if rest is None:
                    continue
                candidate = mine + rest
            if result is None or len(candidate) > len(result):
                result = candidate
        self.memo[key] = result
        return result

    def diagnose(self) -> ParseError:
        """The first part that reads as no edit, with the reason (parts are taken as long as they parse)."""
        pos, k, lead = 0, 0, None
        while True:
            found = None
            for j in range(len(self.cuts), k - 1, -1):
                end = self.cuts[j][0] if j < len(self.cuts) else len(self.t)
                if end <= pos:
                    continue
                try:
                    _, new_lead = self.segment(pos, end, lead)
                except ParseError:
                    continue
                found = (j, new_lead)
                break
            if found is None or found[0] == len(self.cuts):
                try:
                    self.segment(pos, len(self.t), lead)
                except ParseError as e:
                    return e
                return ParseError(f'could not understand "{_unmask(self.t, self.quotes)}"; {_suggest("")}')
            j, lead = found
            pos, k = self.cuts[j][1], j + 1


# --- public ----------------------------------------------------------------------------------------------

def parse_requests(text: str) -> list[ParsedRequest]:
    """All the edits a request asks for, in order; ParseError if any part is not an edit.

    replace is "" only for an explicit delete/remove request; occurrence is LAST (-1) for "the last X".
    """
    raw = (text or "").strip()
    if not raw:
        raise ParseError(f"empty request; {_suggest('')}")
    if len(raw) > _MAX_LEN:
        raise ParseError(f"request too long ({len(raw)} characters, at most {_MAX_LEN}): ask for fewer edits")
    t, quotes = _mask(raw)
    sp = _Splitter(t, quotes)
    if len(sp.cuts) > _MAX_CUTS:
        raise ParseError(f"request too long ({len(sp.cuts) + 1} parts, at most {_MAX_CUTS + 1}): ask for fewer edits")
    edits = sp.best()
    if edits is None:
        raise ParseError(str(sp.diagnose())) from None
    if not edits:
        raise ParseError(f'could not understand "{" ".join(raw.split())}": it names no text to change; '
                         f"{_suggest(_strip_filler(t))}")
    return list(edits)


def parse_request(text: str, *, allow_last: bool = False, allow_delete: bool = False) -> ParsedRequest:
    """The one edit a request asks for (see parse_requests); ParseError if it asks for several.

    By default "the last X" and deletions are refused with a message, since EditRequest needs a 1-based
    occurrence and a non-empty replacement; allow_last / allow_delete let them through.
    """
    edits = parse_requests(text)
    if len(edits) > 1:
        listed = "; ".join(f'"{e.find}" -> "{e.replace}"' for e in edits)
        raise ParseError(f"the request holds {len(edits)} edits ({listed}): ask for one edit at a time here, "
                         "or use the multi-edit form (parse_requests)")
    edit = edits[0]
    if edit.occurrence == LAST and not allow_last:
        raise ParseError(f'"the last {edit.find}" is not supported here; give its number instead '
                         f'(e.g. "the 2nd {edit.find}" or --occurrence 2)')
    if edit.deletes and not allow_delete:
        raise ParseError(f'deleting "{edit.find}" is not supported here; say what it should read instead '
                         "(replace X with Y)")
    return edit
