"""Verify what the user asked, not what the plan intended.

The word-level check (agent/graph.py's verify node) reads the crop at the planned word box. When
the plan is wrong, that crop is wrong too, and the check agrees with the plan: on photos the
project had never seen, character boxes shifted onto the word before the target had a letter of
*that* word changed, a longer replacement overwrote the next word, and a full stop after the word
was erased, and each was verified. Two checks that do not trust the plan's boxes:

- `line_verdict`: the whole line, read again from scratch on the original and on the candidate
  (one crop round the line, no character boxes), must read the same except for the requested
  word, which must read as requested (edited characters exact and case-sensitive).
- `pixels_outside_word`: every changed pixel lies inside the target word's box plus a margin, and
  none on the ink of the neighbouring words.
"""

from __future__ import annotations

import numpy as np

from agent.policy import diagnose
from agent.schemas import EditPlan
from tools.metrics import edit_distance
from tools.text import squeeze

LINE_MARGIN = 0.15  # vertical margin of the line crop, x line height (the judge's crop uses the same); none
# sideways: the detector's box already pads the text, and a wider crop took in the ledger's red table
# border, read "]" or "/" before the edit and not after
BORDERS = "|[]/\\(){}"  # what a box or table line at the line's end is read as; never a full stop or comma
# How far (x the word's height) changed pixels may reach past the old word's box: a new glyph wider
# than the old (a ledger's 1 -> 7 reached 4 px past a 14 px word), its halo and anti-aliasing.
WORD_MARGIN = 0.35
MIN_WORD_MARGIN = 3  # ... and at least this many pixels (a blur's reach on small text)


def word_margin(word_box) -> int:
    """The margin of `WORD_MARGIN` round a word's box, in pixels (also the held-out judge's)."""
    return max(MIN_WORD_MARGIN, round(WORD_MARGIN * (word_box[3] - word_box[1])))


def line_crop(image: np.ndarray, plan: EditPlan, mask_boxes: list) -> np.ndarray:
    """The line round the word: the detector's line box joined with the word and every mask, with a
    vertical margin. The same geometry is read on the original and on the candidate."""
    x0, y0, x1, y1 = plan.line_box
    for b in [plan.word_box, *mask_boxes]:
        x0, y0, x1, y1 = min(x0, b[0]), min(y0, b[1]), max(x1, b[2]), max(y1, b[3])
    h, w = image.shape[:2]
    m = max(2, round(LINE_MARGIN * (y1 - y0)))
    return image[max(0, y0 - m) : min(h, y1 + m), max(0, x0) : min(w, x1)]


def _without_border_marks(text: str, keep: tuple[int, int] | None = None) -> tuple[str, int]:
    """text without the box or table lines (BORDERS) read at its two ends, outside keep (a span to
    keep whole); returns it and how many characters went from the front."""
    a, b = keep if keep is not None else (len(text), 0)
    lead = 0
    while lead < min(a, len(text)) and text[lead] in BORDERS:
        lead += 1
    end = len(text)
    while end > max(b, lead) and text[end - 1] in BORDERS:
        end -= 1
    return text[lead:end], lead


def _word_span(line: str, plan: EditPlan) -> tuple[int, int] | None:
    """Where the untouched word sits in a squeezed reading of the line: an exact occurrence of the
    word (as the user spelt it, or as the recogniser read its crop), else the closest window within
    a quarter of its length in edits; the one nearest the word's place in the planned line."""
    words = [w for w in {squeeze(plan.word), squeeze(plan.original_read or "")} if w]
    planned_line = squeeze(plan.line_text)
    where = len(squeeze(plan.line_text[: plan.word_start])) * len(line) / max(1, len(planned_line))
    spans = [(i, i + len(w)) for w in words for i in range(len(line) - len(w) + 1) if line[i : i + len(w)] == w]
    if not spans:
        word = squeeze(plan.word)
        allowed = max(1, len(word) // 4)
        scored = [(edit_distance(line[i:j], word), i, j) for i in range(len(line))
                  for j in range(i + max(1, len(word) - allowed), min(len(line), i + len(word) + allowed) + 1)]
        best = min((d for d, _, _ in scored), default=allowed + 1)
        if best > allowed:
            return None
        spans = [(i, j) for d, i, j in scored if d == best]
    return min(spans, key=lambda s: (abs(s[0] - where), s[1] - s[0]))


def line_verdict(before: str, after: str, plan: EditPlan, edited: list[int], word_read: str | None = None) -> str | None:
    """None when the line reads `before` with only the word changed, and the word as requested (or
    exactly as `word_read`, the word crop's reading that the word check accepted: a look-alike of
    an unedited character that the recogniser's likelihoods confirmed); otherwise why not: "line-unreadable" (the word cannot be found in the line's reading of the
    original), "line-neighbour-changed" (text outside the word reads differently), or the word's
    diagnosis on the line's reading ("line-" + policy.diagnose's reason)."""
    pre, post = squeeze(before), squeeze(after)
    span = _word_span(pre, plan)
    if span is None:
        return "line-unreadable"
    # A box or table line at the line's ends is read as a bracket or a slash in one reading and not
    # in the other, as the recogniser's context shifts; it is not text the edit changed.
    pre, lead = _without_border_marks(pre, span)
    a, b = span[0] - lead, span[1] - lead
    post, _ = _without_border_marks(post)
    tail = len(pre) - b
    if len(post) < a + tail or post[:a] != pre[:a] or post[len(post) - tail :] != pre[b:]:
        return "line-neighbour-changed"
    word = post[a : len(post) - tail]
    if word_read is not None and word == squeeze(word_read):
        return None
    why = diagnose(word, 1.0, plan.word, plan.new_word, edited, 0.0, pre[a:b])
    return None if why is None else f"line-{why}"


def allowed_box(plan: EditPlan, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where an edit of the word may change pixels: its box plus word_margin (and an outline's or a
    shadow's reach); a re-laid-out word (it may be longer) also the gaps up to its neighbours."""
    x0, y0, x1, y1 = plan.word_box
    h, w = shape
    m = word_margin(plan.word_box)
    effect = plan.font.effect
    if effect is not None:
        m += effect.width + max(abs(effect.offset[0]), abs(effect.offset[1])) + int(np.ceil(2 * effect.blur))
    left, right = plan.outside
    ax0, ax1 = x0 - m, x1 + m
    if plan.mode == "relayout":
        ax0 = min(ax0, left[2]) if left is not None and left[2] <= x0 else 0
        ax1 = max(ax1, right[0]) if right is not None and right[0] >= x1 else w
    return max(0, ax0), max(0, y0 - m), min(w, ax1), min(h, y1 + m)


def pixels_outside_word(before: np.ndarray, after: np.ndarray, plan: EditPlan) -> int:
    """How many changed pixels lie outside allowed_box or on the ink box of a neighbouring
    character outside the word (0 for an edit that kept to its word)."""
    changed = (before != after).any(-1)
    allowed = np.zeros_like(changed)
    x0, y0, x1, y1 = allowed_box(plan, before.shape[:2])
    allowed[y0:y1, x0:x1] = True
    for b in plan.outside:
        if b is not None:
            allowed[b[1] : b[3], b[0] : b[2]] = False
    return int((changed & ~allowed).sum())
