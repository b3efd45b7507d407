"""Verify what the user asked, not what the plan intended.

The word-level check (agent/graph.py's verify node) reads the crop at the planned word box. When
the plan is wrong, that crop is wrong too, and the check agrees with the plan: on photos the
project had never seen, character boxes shifted onto the word before the target had a letter of
*that* word changed, a longer replacement overwrote the next word, and a full stop after the word
was erased, and each was verified. Two checks that do not trust the plan's boxes:

- `line_verdict`: the whole line, read again from scratch on the original and on the candidate
  (one crop round the line, no character boxes), must read the same except for the requested
  word, which must read as requested (edited characters exact and case-sensitive).
- `levelled_crop`: on a tilted line, the word is also read set level (the recogniser forgives a
  misdrawn glyph in tilted text that it does not forgive level).
- `split_word`: the text the user named must not read broken, in the word's crop and in the
  line's, by a space that the request and the original reading lack.
- `pixels_outside_word`: every changed pixel lies inside the target word's box plus a margin (or,
  on ground, the edited glyph's own zone, where the new letter is wider or taller than the old), and none on the ink of
  the neighbouring words.
- `cuts_kept_glyph`: inside the word too, a character edit leaves the kept letters' ink where it was.
- `joins_kept_glyph`: ... and its new strokes do not touch a kept mark (a hyphen) the old letter stood apart from.

A re-set word (agent/reflow.py) also fails when the text that closed up left a piece of itself in
the ground it vacated (`left_text_behind`), or when the ground filled in holds a colour the ground
round the text never showed (`stray_ink`); on a tilted line it is planned, drawn and checked in
the line's levelled frame (tools/level.py), where every check above reads a level line.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from agent.plan import crop_margin, observed_ink, word_columns
from agent.policy import diagnose
from agent.reflow import joined
from agent.repaint import text_effect
from agent.schemas import Box, EditPlan
from tools.fonts import vertical_shear
from tools.mask import changed as changed_pixels
from tools.mask import default_pad, longer_by, union
from tools.metrics import edit_distance
from tools.text import MARKS, confusable, look_alike, lower, shared_ends, squeeze, without_marks

LINE_MARGIN = 0.15  # vertical margin of the line crop, x line height (the judge's crop uses the same); none
# sideways: the detector's box already pads the text, and a wider crop took in the ledger's red table
# border, read "]" or "/" before the edit and not after
BORDERS = "|[]/\\(){}"  # what a box or table line at the line's end is read as; never a full stop or comma
# How far (x the word's height) changed pixels may reach past the old word's box: a new glyph wider
# than the old (a ledger's 1 -> 7 reached 4 px past a 14 px word), its halo and anti-aliasing.
WORD_MARGIN = 0.35
MIN_WORD_MARGIN = 3  # ... and at least this many pixels (a blur's reach on small text)
ZONE_GROUND = 0.3  # a zone pixel the text's ink covers less than this is ground the new letter may cover (more: a stroke of something)
NEAR = 2  # characters this close to the word are compared exactly; farther ones may read as look-alikes
MISREAD_FAR = 0.1  # of a side's characters (all of them, marks included): how many, farther than NEAR on a side
#   whose pixels did not change, may read as other letters or digits (one in ten: the recogniser's, not the edit's)
# Tick marks the recogniser reads for one another at a word's end, from the same few pixels (the
# sign's MARKET read "MARKET'" before an edit and "MARKEX\"" after); one may stand for another anywhere.
TICKS = "'\"`\u2018\u2019\u201c\u201d"


def word_margin(word_box) -> int:
    """The margin of `WORD_MARGIN` round a word's box, in pixels (also the held-out judge's)."""
    return max(MIN_WORD_MARGIN, round(WORD_MARGIN * (word_box[3] - word_box[1])))


def levelled_crop(image: np.ndarray, plan: EditPlan, mask_boxes: list) -> np.ndarray | None:
    """The word set level (its line's tilt undone, tools.fonts.vertical_shear: columns keep their
    x) and cropped as `verify_crop` crops a level word (grown to every mask, a margin of a fifth of
    its height, halfway to the ink outside it), or None for a level line. On a line turned 12
    degrees, easyocr read "DAIRY" where a new upright R crowded the I and the judge read "DARY";
    read level, the word reads as it looks. The band runs from the highest glyph top to the lowest
    foot, each carried along the tilt: the median glyph's height cut the G and the l of a sign's
    "Glass", read "Giass", and a band of the font's size took in a barrier sign's frame."""
    slope = plan.font.tilt
    inked = [tuple(b) for b in [*plan.char_boxes, *mask_boxes] if b is not None]
    if not slope or not inked:
        return None
    h, w = image.shape[:2]
    box = plan.word_box
    for b in mask_boxes:
        box = union(box, tuple(b))
    cx = (box[0] + box[2]) / 2
    # each box's top and foot where the line crosses cx
    tops = [b[1] - slope * ((b[0] + b[2]) / 2 - cx) for b in inked]
    feet = [b[3] - slope * ((b[0] + b[2]) / 2 - cx) for b in inked]
    top, foot = min(tops), max(feet)
    m = crop_margin(foot - top)
    x0, x1 = word_columns(plan, box, m, w)
    reach = abs(slope) * max(cx - x0, x1 - cx)
    y0, y1 = max(0, round(top - m - reach)), min(h, round(foot + m + reach) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    region = image[y0:y1, x0:x1].astype(np.float32) / 255.0
    level = np.stack([vertical_shear(region[..., c], -slope, cx - x0) for c in range(3)], -1)
    # the shear leaves the region's corners empty: fill them with the ground, as the recogniser sees paper
    inside = vertical_shear(np.ones(region.shape[:2], np.float32), -slope, cx - x0)[..., None]
    level = level + (1 - inside) * np.asarray(plan.font.bg, np.float32) / 255.0
    band = level[max(0, round(top - m) - y0) : max(0, round(foot + m) - y0 + 1)]
    return np.clip(band * 255 + 0.5, 0, 255).astype(np.uint8) if band.size else None


def line_crop(image: np.ndarray, plan: EditPlan, mask_boxes: list) -> np.ndarray:
    """The line round the word: the detector's line box joined with the word and every mask, with a
    vertical margin. The same geometry is read on the original and on the candidate."""
    box = plan.line_box
    if plan.reflow is not None:  # the line's end moved, and the detector's padding round it with it
        shift = plan.reflow.dx if plan.reflow.side == "after" else -plan.reflow.dx
        box = union(box, (box[0] + min(0, shift), box[1], box[2] + max(0, shift), box[3]))
    for b in [plan.word_box, *mask_boxes]:
        box = union(box, tuple(b))
    x0, y0, x1, y1 = box
    h, w = image.shape[:2]
    m = max(2, round(LINE_MARGIN * (y1 - y0)))
    return image[max(0, y0 - m) : min(h, y1 + m), max(0, x0) : min(w, x1)]


def _occurrences(line: str, word: str) -> list[int]:
    return [i for i in range(len(line) - len(word) + 1) if word and line[i : i + len(word)] == word]


def _word_span(line: str, plan: EditPlan) -> tuple[int, int] | None:
    """Where the untouched word sits in a squeezed reading of the line. When the word occurs in the
    reading exactly as often as in the planned line, the same occurrence (counted in reading order,
    not placed by character boxes); else the occurrence of the word (as the user spelt it, or as
    the recogniser read its crop) nearest its place in the planned line; else the same through
    confusable characters and case; else the closest window within a quarter of its length in
    edits (of about its length)."""
    word = squeeze(plan.word)
    planned_line = squeeze(plan.line_text)
    before = len(squeeze(plan.line_text[: plan.word_start]))
    where = before * len(line) / max(1, len(planned_line))
    found, planned = _occurrences(line, word), _occurrences(planned_line, word)
    if found and len(found) == len(planned) and before in planned:
        i = found[planned.index(before)]
        return i, i + len(word)
    spans = [(i, i + len(w)) for w in {word, squeeze(plan.original_read or "")} for i in _occurrences(line, w)]
    if not spans:
        loose = confusable(lower(line))
        spans = [(i, i + len(word)) for i in _occurrences(loose, confusable(lower(word)))]
    if not spans:
        allowed = max(1, len(word) // 4)
        scored = [(edit_distance(line[i:j], word), i, j) for i in range(len(line))
                  for j in range(i + max(1, len(word) - allowed), min(len(line), i + len(word) + allowed) + 1)]
        best = min((d for d, _, _ in scored), default=allowed + 1)
        if best > allowed:
            return None
        spans = [(i, j) for d, i, j in scored if d == best]
    return min(spans, key=lambda s: (abs(s[0] - where), abs(s[1] - s[0] - len(word))))


def _shared_edges(old: str, new: str) -> tuple[int, int]:
    """How many non-alphanumeric characters the old and the new word share at their start and at
    their end (the full stop of "sold." -> "sole.")."""
    n = min(len(old), len(new))
    lead = 0
    while lead < n and not old[lead].isalnum() and old[lead] == new[lead]:
        lead += 1
    trail = 0
    while trail < n - lead and not old[-1 - trail].isalnum() and old[-1 - trail] == new[-1 - trail]:
        trail += 1
    return lead, trail


def _droppable(c: str, distance: int) -> bool:
    """A character at a line's end, this far from the word, that may come and go between two
    readings of unchanged pixels: a box or table line anywhere, other punctuation (noise read as
    '-', "'", '.') farther than NEAR from the word."""
    return c in BORDERS or (not c.isalnum() and distance > NEAR)


def _trim_ends(text: str, a: int, tail: int) -> tuple[str, int, int]:
    """text without droppable characters at its two ends, never reaching into text[a : len-tail]
    (the word); returns it and how many went from the front and from the back."""
    lead = 0
    while lead < a and _droppable(text[lead], a - lead):
        lead += 1
    back = 0
    while back < tail and _droppable(text[len(text) - 1 - back], tail - back):
        back += 1
    return text[lead : len(text) - back], lead, back


def _context_matches(pre: str, post: str, word_at_end: bool, unchanged: bool = False) -> bool:
    """The text on one side of the word reads the same: exactly within NEAR characters of the
    word but for the case of a letter drawn alike in both ("To" read "TO" after the longer word
    before it moved it: words-0-0111), farther a look-alike may stand for a character (its pixels
    did not change: pixels_outside_word; moved, kept_intact). On a side where no pixel changed
    (unchanged_sides), a letter's case is the recogniser's: a barrier's capitals were read
    "NOparkInG" before the edit and "GOPARKING" after it; and farther than NEAR a few letters or
    digits may read as others: a console screen's line read "complete" before a "restart" five words
    on was edited, and "corplete" after, over the very same pixels (the recogniser reads a line as
    a whole)."""
    if len(pre) != len(post):
        return False
    n = len(pre)
    far = [(n - i if word_at_end else i + 1) > NEAR for i in range(n)]
    misread = 0
    for i, (x, y) in enumerate(zip(pre, post, strict=True)):
        if x == y or (x in TICKS and y in TICKS) or ((look_alike(x, y) or unchanged) and lower(x) == lower(y)):
            continue
        if far[i] and look_alike(x, y):
            continue
        if not (unchanged and far[i] and x.isalnum() and y.isalnum()):
            return False
        misread += 1
    return misread <= MISREAD_FAR * n


def unchanged_sides(before: np.ndarray, after: np.ndarray, plan: EditPlan) -> tuple[bool, bool]:
    """Whether no pixel changed left of the named word's box, and whether none changed right of it
    (over the whole image's height): what the line shows on such a side is what it showed."""
    columns = np.nonzero(changed_pixels(before, after).any(axis=0))[0]
    if len(columns) == 0:
        return True, True
    named, _ = _named(plan)
    return bool(columns[0] >= named[0]), bool(columns[-1] < named[2])


def _strip_marks(text: str, word: str, left: bool, right: bool) -> str:
    """text without the punctuation the recogniser read at the line's start (left) or end (right),
    but for the word's own first or last character."""
    while left and text and not text[0].isalnum() and text[0] != word[:1]:
        text = text[1:]
    while right and text and not text[-1].isalnum() and text[-1] != word[-1:]:
        text = text[:-1]
    return text


def line_verdict(before: str, after: str, plan: EditPlan, edited: list[int], word_read: str | None = None,
                 same_sides: tuple[bool, bool] = (False, False)) -> str | None:
    """None when the line reads `before` with only the word changed, and the word as requested (or
    exactly as `word_read`, the word crop's reading that the word check accepted: a look-alike of
    an unedited character that the recogniser's likelihoods confirmed); otherwise why not:
    "line-unreadable" (the word cannot be found in the line's reading of the original),
    "line-neighbour-changed" (text outside the word reads differently, or punctuation came or went
    at the word's ends), or the word's diagnosis on the line's reading ("line-" + policy.diagnose's
    reason). same_sides (unchanged_sides): on a side of the word where no pixel changed, punctuation
    read at the line's end there is the recogniser's, not the edit's (a textured ground read "~"
    before a line's first word in one reading and not the other: words-0-0042, "~green" -> "price")."""
    pre, post = squeeze(before), squeeze(after)
    if any(same_sides):
        # 0. Marks at the line's ends on an unchanged side: the same pixels, read twice.
        old, new = squeeze(plan.word), squeeze(plan.new_word)
        pre, post = _strip_marks(pre, old, *same_sides), _strip_marks(post, new, *same_sides)
    span = _word_span(pre, plan)
    if span is None:
        return "line-unreadable"
    a, b = span
    old, new = squeeze(plan.word), squeeze(plan.new_word)
    # 1. Punctuation at the word's ends that the edit keeps ("sold." -> "sole.") belongs to the
    #    text around the word here: it is compared exactly, so an erased full stop is seen.
    lead, trail = _shared_edges(old, new)
    lead = lead if pre[a : a + lead] == old[:lead] else 0
    trail = trail if trail and pre[b - trail : b] == old[len(old) - trail :] else 0
    a, b, old, new = a + lead, b - trail, old[lead : len(old) - trail], new[lead : len(new) - trail]
    edited = [i - lead for i in edited if i >= lead]
    # 2. A box or table line at the line's ends is read as a bracket or a slash in one reading and
    #    not in the other, and far from the word noise may be read as punctuation: neither is text
    #    the edit changed (pixels_outside_word sees any change there).
    #    (Never the word's own punctuation of step 1.)
    tail = len(pre) - b
    pre, cut, back = _trim_ends(pre, a - lead, tail - trail)
    a, b, tail = a - cut, b - cut, tail - back
    post, _, _ = _trim_ends(post, a + cut - lead, tail + back - trail)
    # 3. Outside the word, the line reads as before.
    if len(post) < a + tail or not _context_matches(pre[:a], post[:a], True, same_sides[0]) \
            or not _context_matches(pre[b:], post[len(post) - tail :], False, same_sides[1]):
        return "line-neighbour-changed"
    word = post[a : len(post) - tail]
    # 4. No punctuation came at the word's ends, and the word reads as requested.
    if word and ((not word[0].isalnum() and word[:1] != new[:1]) or (not word[-1].isalnum() and word[-1:] != new[-1:])):
        return "line-neighbour-changed"
    if word_read is not None and word == squeeze(word_read):
        return None
    was = pre[a:b]
    if len(word) == len(new) == len(old) == len(was) and not plan.exact_reading:
        # 5. Where the line's reading put a letter of the old word in the other case (a kiosk's
        #    "FIBRE" read "Fibre" in its line), it reads the new letter there in the other case
        #    too ("Fiber"): the line cannot tell that letter's case, and the word's own crop,
        #    read exactly, case included, has told it (ho-fibre-kiosk-3, refused as
        #    "line-neighbour-changed"). Nowhere else: a case the line read right must stay right;
        #    not for an edit of the case alone (read as the old letter, it went back); nor where
        #    the old letter's cases look alike (an O read "o" says nothing of how the line reads
        #    a G's case); nor where every character must read as typed (EditPlan.exact_reading).
        word = "".join(new[i] if i in edited and c != new[i] and c.swapcase() == new[i]
                       and lower(old[i]) != lower(new[i]) and was[i] != old[i] and was[i].swapcase() == old[i]
                       and not look_alike(was[i], old[i]) else c for i, c in enumerate(word))
    why = diagnose(word, 1.0, old, new, edited, 0.0, reference_reading(plan, was, old, new))
    return None if why is None else f"line-{why}"


def inner_spaces(text: str, lo: int = 0, hi: int | None = None) -> int:
    """How many spaces stand between two letters or digits of the text (not by punctuation), only
    counting those with more than lo and fewer than hi letters and digits before them."""
    t, count, seen = text.strip(), 0, 0
    hi = len(t) + 1 if hi is None else hi
    for i, c in enumerate(t):
        if c.isalnum():
            seen += 1
        elif c.isspace() and t[i - 1].isalnum() and t[i + 1].isalnum() and lo < seen < hi:
            count += 1  # (a stripped text neither starts nor ends with a space: i - 1 and i + 1 are in it)
    return count


def line_word(before: str, after: str, plan: EditPlan) -> str | None:
    """The edited word as the line's reading `after` shows it, its spaces kept: what stands between
    as many characters (spaces aside) as the line's reading `before` holds before and after the
    untouched word; None when `before` does not hold the word, or `after` is too short."""
    pre = squeeze(before)
    span = _word_span(pre, plan)
    if span is None:
        return None
    a, tail = span[0], len(pre) - span[1]
    kept = [i for i, c in enumerate(after) if not c.isspace()]
    if len(kept) <= a + tail:
        return None
    return after[kept[a] : kept[len(kept) - tail - 1] + 1]


def split_word(read: str, plan: EditPlan, line_before: str, line_after: str) -> bool:
    """Whether the word crop's reading `read` and the line's reading (`line_after`, aligned by
    `line_before`: line_word) both show the named text broken; see split_at_gap. The line is
    cropped and read apart from the word: a recogniser's own space in one crop ("Wo ffee" for a
    synthetic "Woffee", "Recursi ve}" on a slanted scan) is not in the other, where the gap the
    edit opened is in both ("as surance" in the word, "applications,as surance claims" in the
    line). A line that does not align keeps the word's verdict. In a fixed-pitch face a narrow
    letter stands alone in its cell, and the gaps round it are the face's: the synthetic suite's
    "centre" -> "cenjre" in a FreeMono-like face was drawn as the truth is, read "cen jre" in every
    crop, and refused."""
    if plan.font.category == "mono" or not split_at_gap(read, plan):
        return False
    in_line = line_word(line_before, line_after, plan)
    return in_line is None or split_at_gap(in_line, plan)


def named_in_new(plan: EditPlan) -> tuple[int, int, int]:
    """(a, b, end): the text the user named (plan.target, else the whole word) as plan.word[a:b],
    and its replacement as plan.new_word[a:end], which ends as far from the new word's end."""
    a, b = plan.target if plan.target is not None else (0, len(plan.word))
    return a, b, len(plan.new_word) - (len(plan.word) - b)


def split_at_gap(read: str, plan: EditPlan) -> bool:
    """Whether the text the user named reads broken where the request is whole: a space between
    two of its letters that neither the requested text nor the old word's reading has. Readings
    are compared without spaces, because the recogniser puts in spaces that are not there ("6,
    001"), but one that reads a space the original did not is seeing a gap the edit opened: a photo
    of a screen's "insurance" -> "assurance", its "in" redrawn glyph by glyph in the old places,
    read "as surance" (the new "s" narrower than the "n", with a gap after it), and the judge read
    "as:surance"; it was verified. Only spaces inside the named text count: at its edge a space may
    be the word space the recogniser missed before ("west old" read "westold", "west" -> "parking"
    read "parking old")."""
    a, _, end = named_in_new(plan)
    if not 0 <= a <= end <= len(plan.new_word):
        a, end = 0, len(plan.new_word)
    lo, hi = (sum(c.isalnum() for c in plan.new_word[:k]) for k in (a, end))
    allowed = max(inner_spaces(plan.new_word, lo, hi), inner_spaces(plan.original_read or ""))
    return inner_spaces(read, lo, hi) > allowed


def reference_reading(plan: EditPlan, before: str | None, old: str, new: str) -> str | None:
    """How the word's unedited characters read before the edit, for diagnose's "still reads as
    before" (the word check's crop and the line's reading each pass their own): a re-set word's
    aligned to the new one (aligned_before); None for a word found only by the recogniser's
    likelihoods, where every character must read as the user typed it (EditPlan.exact_reading)."""
    if plan.exact_reading:
        return None
    return aligned_before(before, old, new) if plan.reflow is not None else before


def aligned_before(before: str | None, old: str, new: str) -> str | None:
    """How a re-set word's kept characters read before the edit, at their places in the new word
    (the replaced middle as requested), for diagnose's "still reads as before"; None when the
    reading does not align with the old word. Compared index by index, an unaligned reading let
    "markers" -> "makers" pass read as "marers": the deletion shifted every later letter, and the
    r at the k's place was "as before"."""
    if before is None:
        return None
    b, o, n = squeeze(before), squeeze(old), squeeze(new)
    if len(b) != len(o):
        return None
    head, tail = shared_ends(o, n)
    return b[:head] + n[head : len(n) - tail] + b[len(b) - tail :]


def _named_span(plan: EditPlan) -> tuple[int, int]:
    """(a, b): the characters the user named as plan.word[a:b], grown over characters joined to it
    without a space (the "." of "sold.")."""
    a, b = plan.target if plan.target is not None else (0, len(plan.char_boxes))
    word = plan.word
    while a > 0 and not word[a - 1].isspace():
        a -= 1
    while b < len(word) and not word[b].isspace():
        b += 1
    return a, b


def _named(plan: EditPlan) -> tuple[tuple[int, int, int, int], list]:
    """The box of the characters the user named, and the ink boxes of the characters round them
    that must keep their pixels: the word's other space-separated tokens (OCR put a space there:
    "markers are" set close is two words) and the nearest ink outside the word."""
    boxes = plan.char_boxes
    a, b = _named_span(plan)
    box = None
    for cb in boxes[a:b]:
        box = union(box, cb)
    others = [cb for cb in boxes[:a] + boxes[b:] if cb is not None] + [cb for cb in plan.outside if cb is not None]
    return (box or plan.word_box), others


def allowed_box(plan: EditPlan, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where an edit of the word may change pixels: the box of what the user named plus
    word_margin (and an outline's or a shadow's reach); a re-set word of another length also the
    rest of its line, in its old and its new place, in the rows the plan set (agent/reflow.py)."""
    named, _ = _named(plan)
    x0, y0, x1, y1 = named
    h, w = shape
    m = word_margin(named)
    effect = plan.font.effect
    if effect is not None:
        m += effect.width + max(abs(effect.offset[0]), abs(effect.offset[1])) + int(np.ceil(2 * effect.blur))
    ax0, ax1 = x0 - m, x1 + m
    if plan.reflow is not None:  # one side of the line moves (agent/reflow.py): its old and new place
        r = plan.reflow
        if r.side == "after":
            end = max(ax1, r.run[1], r.run[1] + r.dx, r.frame[2] + r.dx if r.frame else 0)
            return max(0, ax0), r.band[0], min(w, end + m), r.band[1]
        return max(0, min(ax0, r.run[0] - r.dx - m)), r.band[0], min(w, ax1), r.band[1]
    return max(0, ax0), max(0, y0 - m), min(w, ax1), min(h, y1 + m)


def pixels_outside_word(before: np.ndarray, after: np.ndarray, plan: EditPlan, zones: list[Box] | tuple = ()) -> int:
    """How many changed pixels lie outside allowed_box and the edited glyphs' zones, or on the ink
    box of a neighbouring character outside the word (where that box is not also the word's: kerned
    letters overlap) (0 for an edit that kept to its word). A zone (GlyphEdit.zone: the old and the
    new glyph's ink with the painter's reach round them) is the letter the user asked for where it
    is wider or taller than the old: an "l" made a "c" at a word's end reached 2 px past the
    margin, an "n" made an "f" rose 1 px above an x-height word's (both right, both refused before).
    A zone frees only ground: never a neighbour's ink, nor another line's that it reaches."""
    changed = changed_pixels(before, after)
    allowed = np.zeros_like(changed)
    x0, y0, x1, y1 = allowed_box(plan, before.shape[:2])
    f = plan.font
    for b in zones:
        ground = observed_ink(before[b[1] : b[3], b[0] : b[2]], f.fg, f.bg, f.effect) < ZONE_GROUND
        allowed[b[1] : b[3], b[0] : b[2]] |= ground
    allowed[y0:y1, x0:x1] = True
    named, others = _named(plan)
    r = plan.reflow
    if r is not None:  # one side moves: the characters on the other, and past the moving run, keep their pixels
        if r.side == "after":
            others = [b for b in others if b[2] <= named[0] or b[0] >= r.run[1] + max(0, r.dx)]
        else:
            others = [b for b in others if b[0] >= named[2] or b[2] <= r.run[0] - max(0, r.dx)]
    for b in others:
        allowed[b[1] : b[3], b[0] : b[2]] = False
    allowed[named[1] : named[3], named[0] : named[2]] = True
    return int((changed & ~allowed).sum())


def pixels_moved_past_word(before: np.ndarray, after: np.ndarray, plan: EditPlan) -> int:
    """#17's count for a re-set word (0 for any other): changed pixels outside the named word's
    box and margin, or on its neighbours' ink, as pixels_outside_word counts them without the
    re-set's allowance for the rest of the line in its old and new place. Ground, never ink, is
    also the word's where the held-out judge's box grows: to the right of a longer word, by the
    extra characters' width (longer_by, raw lengths as the judge counts them); and in the line's
    band under the word, to twice the margin above and below (the letters' boxes can fall a
    descender short of a person's box for the word). What the rest of the
    line moved is counted: the heading "Daily" -> "Weekly" moved it 10 px, all outside the word the
    user named; and a longer word that grew past that width ("SILVER" -> "GOLDENS" condensed into
    the room at its line's end: 29 px, 19 allowed)."""
    r = plan.reflow
    if r is None:
        return 0
    named, _ = _named(plan)
    x0, y0, x1, y1 = named
    m = word_margin(named)
    a, b = _named_span(plan)
    grown_by = len(plan.new_word) - len(plan.word)
    extra = int(np.ceil(longer_by(named, plan.word[a:b], plan.new_word[a : b + grown_by])))
    # The ground of the rows the re-set erased and filled (the line's band: its letters' full
    # height) under the word, to twice the margin: the plan's letter boxes can fall a descender
    # short of a person's box for the word, whose own margin is the larger (a sign's "Germany" ->
    # "Hungary" filled the band's last row, a pixel past the margin round its letters, inside the
    # case's hand-set box and its margin).
    held = [(x1, y0 - m, x1 + m + extra, y1 + m), (x0 - m, max(r.band[0], y0 - 2 * m), x1 + m, min(r.band[1], y1 + 2 * m))]
    h, w = before.shape[:2]
    held = [(max(0, hx0), max(0, hy0), min(w, hx1), min(h, hy1)) for hx0, hy0, hx1, hy1 in held]
    return pixels_outside_word(before, after, plan.model_copy(update={"reflow": None}), held)


KEPT_SHARE = 0.25  # the most of an ink component inside the edited characters' boxes for it to be a kept letter's
KEPT_CUT = 0.1  # x a letter's mean ink: what an edit may erase of kept letters (a halo's reach into a touching one)
MIN_KEPT_CUT = 6  # px: ... and never fewer than this (a speck of JPEG noise is no letter)


def cuts_kept_glyph(before: np.ndarray, after: np.ndarray, plan: EditPlan) -> bool:
    """Whether a character edit erased part of a letter it was to keep: ink (observed over 0.5) of
    components lying mostly outside the edited characters' boxes (grown a pixel, and a shadow's
    reach; KEPT_SHARE: letters that touch are one component, and the edited one's own ink lies
    mostly in its box), that is ink no more: KEPT_CUT of a letter's mean ink or more. Also the part
    of such a letter deep inside an edited box (past the mask's halo from its edges): where boxes
    overlap (turned, italic or kerned text) a neighbour's overhang lies there, and the edit must
    leave it (a review found it unchecked). The
    recogniser forgives a half-erased letter that the eye does not: on a photo's word turned 10
    degrees, "descent?" -> "descant?" drew the new "a" in a box that overlapped the "c" before it,
    erased the c's right half, and was verified on "descant?" while the judge read "destant?". (A
    re-set word is checked by its own rules: agent/reflow.py.)"""
    letters = len(squeeze(plan.word))
    if plan.reflow is not None or not plan.edits or not letters:
        return False
    h, w = before.shape[:2]
    x0, y0, x1, y1 = max(0, plan.word_box[0]), max(0, plan.word_box[1]), min(w, plan.word_box[2]), min(h, plan.word_box[3])
    if x1 <= x0 or y1 <= y0:
        return False
    f = plan.font
    was = observed_ink(before[y0:y1, x0:x1], f.fg, f.bg, f.effect) > 0.5
    now = observed_ink(after[y0:y1, x0:x1], f.fg, f.bg, f.effect) > 0.5
    # (grown a pixel, and by a drop shadow's reach: dark enough, the old glyph's shadow is ink too, and
    # it lies past its box; an outline is not: observed_ink takes only the fill inside one)
    shadow = text_effect(f) if f.effect is not None and f.effect.kind == "shadow" else None
    grow = 1 + (shadow.reach if shadow is not None else 0)
    labels, n = ndimage.label(was)
    if n == 0:
        return False
    boxes = [(e.box[0] - x0, e.box[1] - y0, e.box[2] - x0, e.box[3] - y0) for e in plan.edits if e.box is not None]
    edited, inner = np.zeros_like(was), np.zeros_like(was)
    for bx0, by0, bx1, by1 in boxes:
        edited[max(0, by0 - grow) : max(0, by1 + grow), max(0, bx0 - grow) : max(0, bx1 + grow)] = True
        halo = default_pad(by1 - by0)
        inner[max(0, by0 + halo) : max(0, by1 - halo), max(0, bx0 + halo) : max(0, bx1 - halo)] = True
    index = np.arange(1, n + 1)
    kept = np.concatenate([[False], np.asarray(ndimage.sum(edited, labels, index)) < KEPT_SHARE * np.asarray(ndimage.sum(was, labels, index))])
    # Inside a box, not the run of touching letters the edited one is part of (a FreeMono "m" touching
    # its X and b is under a quarter of their ink, so the run is "kept"): where no unkept component of
    # a few pixels (the edited letter alone) lies in the box, the kept one holding most of its ink.
    # Nor within a mask's halo of the box's edge, where the new glyph's anti-aliasing redraws whatever meets there.
    run = np.zeros(n + 1, bool)
    for bx0, by0, bx1, by1 in boxes:
        counts = np.bincount(labels[max(0, by0) : max(0, by1), max(0, bx0) : max(0, bx1)].ravel(), minlength=n + 1)
        counts[0] = 0
        if counts.any() and not (counts[~kept] >= MIN_KEPT_CUT).any():
            run[counts.argmax()] = True
    elsewhere = ~edited | (inner & ~run[labels])
    erased = int((kept[labels] & ~now & elsewhere).sum())
    return bool(erased >= max(MIN_KEPT_CUT, KEPT_CUT * was.sum() / letters))


JOIN_INK = 0.5  # observed ink over this is a stroke for the join check (a blur's faint bridge between two letters is not)


def joins_kept_glyph(before: np.ndarray, after: np.ndarray, plan: EditPlan) -> bool:
    """Whether a character edit's new strokes touch a kept mark of the word (a hyphen, an
    apostrophe, a full stop the word holds) that the old letter stood apart from: a mark joined to
    a letter is read as part of it, or not at all. A book page's "four-pound" -> "five-pound" drew
    an "e" wider than the "r" it replaced, into the hyphen; easyocr still read "five-pound" and
    verified it, the judge read "fivepound". Kept marks are strokes before the edit lying mostly in
    a kept punctuation character's box, none of them in an edited character's box (one that
    touched or overlapped the old letter is not asked about). Letters are not: a new letter
    touching a kept one is read as the two letters by both recognisers (a screenshot's 13 px
    "Prediction" -> "Protection": its new "e" met the "c", and the judge read it right). (A re-set
    word is checked by agent/reflow.joins_kept_text.)"""
    if plan.reflow is not None or not plan.edits:
        return False
    edited_at = plan.edited_in_word()
    marks = [b for k, (c, b) in enumerate(zip(plan.word, plan.char_boxes, strict=True))
             if b is not None and k not in edited_at and not c.isalnum() and not c.isspace()]
    h, w = before.shape[:2]
    x0, y0, x1, y1 = max(0, plan.word_box[0]), max(0, plan.word_box[1]), min(w, plan.word_box[2]), min(h, plan.word_box[3])
    if not marks or x1 <= x0 or y1 <= y0:
        return False
    f = plan.font
    was = observed_ink(before[y0:y1, x0:x1], f.fg, f.bg, f.effect) > JOIN_INK
    now = observed_ink(after[y0:y1, x0:x1], f.fg, f.bg, f.effect) > JOIN_INK

    def boxes_mask(boxes) -> np.ndarray:
        m = np.zeros_like(was)
        for b in boxes:
            m[max(0, b[1] - y0) : max(0, b[3] - y0), max(0, b[0] - x0) : max(0, b[2] - x0)] = True
        return m

    edited, in_marks = boxes_mask([e.box for e in plan.edits if e.box is not None]), boxes_mask(marks)
    labels, n = ndimage.label(was)
    if n == 0 or not edited.any():
        return False
    index = np.arange(1, n + 1)
    area = np.asarray(ndimage.sum(was, labels, index))
    kept = index[(np.asarray(ndimage.sum(edited, labels, index)) == 0) & (np.asarray(ndimage.sum(in_marks, labels, index)) * 2 >= area)]
    return bool(len(kept)) and joined(now, np.isin(labels, kept), edited)


def named_only(plan: EditPlan) -> EditPlan:
    """The plan as its word crop reads it: where the untouched word's crop read exactly the text the
    user named (original_read) and the plan's word takes in more, characters OCR glued on without
    a space, that text alone; else the plan. A form's "Family relocated", each word in its own drawn
    box, was read "Familrelocated": the word became "lrelocated", its crop read "relocated", and
    every right "relocates" was refused as a letter short. (Character edits only: the line check
    still reads the whole line, and the pixel check holds the glued-on letters.)"""
    if plan.original_read is None or plan.reflow is not None:
        return plan
    a, b, end = named_in_new(plan)
    if (a, b) == (0, len(plan.word)) or not 0 <= a <= end or squeeze(plan.original_read) != squeeze(plan.word[a:b]):
        return plan
    return plan.model_copy(update={"word": plan.word[a:b], "new_word": plan.new_word[a:end], "target": (0, b - a),
                                   "word_start": plan.word_start + a, "char_boxes": plan.char_boxes[a:b]})


def marks_free(plan: EditPlan) -> EditPlan | None:
    """The plan of a re-set word as the reading checks see it when its punctuation is checked on
    the pixels (agent/reflow.kept_intact) instead: word, new word, line and original reading
    without MARKS (a full stop read as a colon, or dropped at the line's end, is the recogniser's,
    not the edit's). None when the edit itself changes a mark, or leaves no letters."""
    r = plan.reflow
    if r is None:
        return None
    changed = plan.word[r.head : len(plan.word) - r.tail] + plan.new_word[r.head : len(plan.new_word) - r.tail]
    word, new = without_marks(plan.word), without_marks(plan.new_word)
    if any(c in MARKS for c in changed) or not squeeze(word) or not squeeze(new):
        return None
    head, tail = shared_ends(word, new)
    return plan.model_copy(update={
        "word": word, "new_word": new, "line_text": without_marks(plan.line_text),
        "word_start": len(without_marks(plan.line_text[: plan.word_start])), "start": len(without_marks(plan.line_text[: plan.start])),
        "original_read": None if plan.original_read is None else without_marks(plan.original_read),
        "reflow": r.model_copy(update={"head": head, "tail": tail})})
