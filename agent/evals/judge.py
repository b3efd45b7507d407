"""The independent judge: PP-OCRv4 (rapidocr-onnxruntime), never the easyocr the agent verifies
with, so the agent does not grade its own homework; and the verdict on one edited case."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from agent.schemas import EditResult
from tools.images import load_image
from tools.mask import changed, longer_by
from tools.metrics import changed_outside, crop, normalised_edit_distance, psnr, ssim
from tools.text import squeeze

if TYPE_CHECKING:  # only a type: the runner imports the judge
    from agent.evals.runner import Case


class Judge:
    """PP-OCRv4 recognition (rapidocr-onnxruntime). Deliberately not easyocr."""

    def __init__(self):
        from rapidocr_onnxruntime import RapidOCR

        self.engine = RapidOCR()

    def read(self, image: np.ndarray, box) -> tuple[str, float]:
        x0, y0, x1, y1 = box
        h, w = image.shape[:2]
        m = max(2, round(0.15 * (y1 - y0)))
        c = image[max(0, y0 - m) : min(h, y1 + m), max(0, x0 - m) : min(w, x1 + m)]
        result, _ = self.engine(np.ascontiguousarray(c[..., ::-1]), use_det=False, use_cls=False, use_rec=True)
        if not result:
            return "", 0.0
        return str(result[0][0]), float(result[0][1])


def judged_box(word_box: list[int], find: str, replace: str, width: int) -> list[int]:
    """The box the judge reads for a hand-set word box (the old word's): widened to the right for a
    longer replacement, else it reads the new word cut short. Every case file and the held-out
    suite alike: a case file's "Common" -> "Commons" was read on the old word's box alone."""
    x0, y0, x1, y1 = word_box
    return [x0, y0, min(width, round(x1 + longer_by(word_box, find, replace))), y1]


# The judge's box moved a pixel each way: a case's ground truth must read the same in all of them.
STEADY_SHIFTS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


def reads_steadily(judge: Judge, image: np.ndarray, box, text: str) -> bool:
    """Whether the judge reads `text` (spaces aside) in `box` and in the box moved by a pixel
    each way. On a marginal glyph its reading flips with the crop: the truth of words-0-0145,
    "Open Of Run", read "of" in 2 of the 5, and an output with the very same "Of" glyphs (its
    "Run" 1 px further right) was read "of" and counted a false verified. Such a case cannot tell a
    right edit from a wrong one."""
    x0, y0, x1, y1 = box
    return all(squeeze(judge.read(image, (x0 + dx, y0 + dy, x1 + dx, y1 + dy))[0]) == squeeze(text)
               for dx, dy in STEADY_SHIFTS)


def without_foreign_edges(read: str, expected: str) -> str:
    """The judge's reading without punctuation at its ends that the expected text does not have
    there: a real photo's word box takes in the "?" of "anvil?" or a cursor "_" after the word,
    which the case's expected word leaves out. Letters and digits are always judged."""
    while read and not read[0].isalnum() and not expected.startswith(read[0]):
        read = read[1:]
    while read and not read[-1].isalnum() and not expected.endswith(read[-1]):
        read = read[:-1]
    return read


# A word of another length moves what follows it: the old word's box (widened by the extra letters'
# mean advance) no longer bounds the new one. The judge reads the row round it too, CONTEXT_REACH x
# the box's height either side, and takes the word the row holds there: its place estimated from
# the reading (characters in proportion to the crop's width), its middle within the box or
# CONTEXT_SLACK x the height past a side. Three of fresh3's four "false verified" were this box:
# "majority" -> "bulk" (the line closed up; the box read "bulk of th"), "Television" and "Instagram"
# (read with the next word's first letter), each right to the eye; fresh2's "three" -> "seven,"
# (9 px wider) read "sever".
CONTEXT_REACH, CONTEXT_SLACK = 3.0, 0.5
CONTEXT_MARGIN = 0.25  # x the box's height: past the box's side a halo of the new word's own pixels may change


def _column(span: tuple[int, int], reading: str, at: float) -> float:
    """The image x of character position `at` of a reading across the columns `span` (characters
    taken in proportion to the crop's width)."""
    return span[0] + at / max(1, len(reading)) * (span[1] - span[0])


WORD = re.compile(r"\S+?(?:[,;](?=[^\W\d])|(?=\s)|$)")  # a word of a reading (_words_at)


def _words_at(row: str, span: tuple[int, int], box, word: str) -> tuple[list[str], int, int] | None:
    """(the row's words, i, j): row's words i..j-1 read as `word` (spaces aside, foreign edges
    dropped) with their middle on box (CONTEXT_SLACK x its height), the row read across the columns
    `span`; None where none do. A comma or semicolon with a letter right after it ends a word too:
    the judge drops the space after it (fresh4's invoice read "Sydney,VIC 3000"; a digit after it
    is a number's: "1,300")."""
    x0, y0, x1, y1 = box
    spans = [(m.start(), m.end()) for m in WORD.finditer(row)]
    h, n = y1 - y0, len(WORD.findall(word))
    for i in range(len(spans) - n + 1):
        a, b = spans[i][0], spans[i + n - 1][1]
        if (without_foreign_edges(squeeze(row[a:b]), squeeze(word)) == squeeze(word)
                and x0 - CONTEXT_SLACK * h <= _column(span, row, (a + b) / 2) <= x1 + CONTEXT_SLACK * h):
            return [row[a:b] for a, b in spans], i, i + n
    return None


def read_in_context(judge: Judge, image: np.ndarray, original: np.ndarray, box, expected: str, old: str) -> tuple[str, str] | None:
    """(the row's reading, the words in it that read as `expected`) where the judge reads the row
    round box (CONTEXT_REACH) and finds them on the box, steadily (the row moved a pixel each way:
    a marginal glyph's reading flips with the crop), and the row's other words read as in the
    original round the old word, spaces and punctuation aside (the judge read a bold chart title's
    "NewspaperAdvert" as one), the words cut by the crop's sides aside (where the line moved, one
    side reads more of them). None where it does not: a stray letter or an old letter left beside
    the new word ("bulk y of the") is text the original does not have there."""
    x0, y0, x1, y1 = box
    h, w = y1 - y0, image.shape[1]
    cx0, cx1 = max(0, round(x0 - CONTEXT_REACH * h)), min(w, round(x1 + CONTEXT_REACH * h))
    was, old_text = squeeze(judge.read(original, (cx0, y0, cx1, y1))[0]), squeeze(old)
    places = [m.start() for m in re.finditer(re.escape(old_text), was)] if old_text else []
    if not places:
        return None
    # the old word's place in the original's reading: the one nearest the box
    k = min(places, key=lambda i: abs(_column((cx0, cx1), was, i + len(old_text) / 2) - (x0 + x1) / 2))
    was_before, was_after = _letters(was[:k]), _letters(was[k + len(old_text) :])
    found = None
    for dx, dy in STEADY_SHIFTS:
        row = judge.read(image, (cx0 + dx, y0 + dy, cx1 + dx, y1 + dy))[0]
        if (now := _words_at(row, (cx0 + dx, cx1 + dx), box, expected)) is None:
            return None
        words, i, j = now
        found = found or (row, " ".join(words[i:j]))
        # the words before it and after it, without the ones the crop's sides may cut
        before, after = _letters("".join(words[1:i])), _letters("".join(words[j:-1]))
        if not ((was_before.endswith(before) or before.endswith(was_before))
                and (was_after.startswith(after) or after.startswith(was_after))):
            return None
    return found


def _letters(text: str) -> str:
    """Text's letters and digits: the punctuation beside a word is read with it or with its
    neighbour as the crop falls ("three," and "seven ,")."""
    return "".join(c for c in text if c.isalnum())


def cut_by_the_box(read: str, expected: str) -> bool:
    """Whether a reading differs from the expected text only as a box off the word reads it: taking
    in a neighbour's letters ("bulk of th" for "bulk") or cutting the last or first letter short
    ("sever" for "seven", "GOLDEI" for "GOLDEN"). A letter misread inside the word ("Spoanish" for
    "Spanish", a stray blot under the p) is the word's own reading: no second one is asked for."""
    if expected in read:
        return True
    return len(read) >= len(expected) - 1 and len(read) > 1 and (expected.startswith(read[:-1]) or expected.endswith(read[1:]))


def _set_anew(case: Case, original: np.ndarray, out: np.ndarray, box) -> bool:
    """Whether the old word's box may not bound the new word: a word of another length, or pixels
    changed in the word's rows past a side of its box (what follows or precedes it moved: a new
    word of as many letters may be wider, fresh2's "three" -> "seven" by 9 px)."""
    if len(squeeze(case.find)) != len(squeeze(case.replace)):
        return True
    x0, y0, x1, y1 = box
    if original.shape != out.shape:
        return False
    moved, m = changed(original[y0:y1], out[y0:y1]), max(2, round(CONTEXT_MARGIN * (y1 - y0)))
    return bool(moved[:, : max(0, x0 - m)].any() or moved[:, x1 + m :].any())


def judge_output(judge: Judge, case: Case, result: EditResult) -> dict:
    out = load_image(result.output)
    box = case.word_box or (list(result.plan.in_image(result.plan.word_box)) if result.plan else None)
    verdict: dict = {}
    expected = case.expected or case.replace
    if box is not None:
        read, conf = judge.read(out, box)
        judged = without_foreign_edges(squeeze(read), squeeze(expected))
        if judged != squeeze(expected) and not case.keep and cut_by_the_box(judged, squeeze(expected)):
            original = load_image(case.image)  # (loaded once, for both questions)
            if (_set_anew(case, original, out, box)
                    and (found := read_in_context(judge, out, original, box, expected, case.find)) is not None):
                verdict.update(judge_box_text=read, judge_row_text=found[0])  # (both readings kept: the box's and the row's)
                read, judged = found[1], squeeze(expected)
        verdict.update(judge_text=read, judge_confidence=round(conf, 4), exact=judged == squeeze(expected),
                       ned=round(normalised_edit_distance(judged, squeeze(expected)), 4))
        if case.keep:
            before, after = (squeeze(t) for t in case.keep)
            verdict["unchanged_same"] = judged.startswith(before) and judged.endswith(after) and \
                len(judged) >= len(before) + len(after)
    if case.edit_box:
        x0, y0, x1, y1 = case.edit_box
        eb = (x0, y0, x1, y1)
        verdict["changed_outside"] = changed_outside(load_image(case.image), out, eb)
    if case.gt and case.edit_box:
        gt = load_image(case.gt)
        verdict.update(ssim=round(ssim(crop(out, eb), crop(gt, eb)), 4), psnr=round(min(99.0, psnr(crop(out, eb), crop(gt, eb))), 2))
        verdict["strict"] = bool(verdict.get("exact") and verdict["ssim"] >= 0.75 and verdict["changed_outside"] == 0)
    verdict["false_verified"] = bool(result.status == "verified" and verdict.get("exact") is False)
    return verdict
