"""A word of another length on a tilted line is re-set in the line's levelled frame (tools/level.py):
whole columns moved by whole pixels, undone exactly after; and text that closes up never leaves a
piece of itself behind and verifies."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from agent.reflow import left_text_behind
from agent.schemas import EditRequest
from tests.conftest import assert_reset_past_word
from tools.level import Levelled

GROUND, INK = (245, 242, 235), (25, 25, 30)
LINE = "with Recurrent Neural Networks today"


def _turned(registry, degrees: float) -> np.ndarray:
    """LINE in a Helvetica-like face on a plain ground, turned as a page on the scanner."""
    picture = Image.new("RGB", (900, 260), GROUND)
    ImageDraw.Draw(picture).text((60, 100), LINE, font=registry.font("LiberationSans", 40), fill=INK)
    return np.asarray(picture.rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=GROUND))


@pytest.mark.parametrize("slope", [-0.2, 0.13])
def test_levelling_only_reorders_each_columns_pixels(slope):
    image = np.random.default_rng(0).integers(0, 256, (70, 240, 3), dtype=np.uint8)
    frame = Levelled.about(slope, 90.0, (0, image.shape[1] - 1))
    levelled = frame.level(image)
    assert levelled.shape == (70 + 2 * frame.pad, 240, 3)
    assert np.array_equal(frame.unlevel(levelled), image)
    # A line of that slope is level in the frame, and a box maps round its pixels both ways.
    y = np.round(35 + slope * (np.arange(240) - 90.0)).astype(int)  # (clear of the edges, which the padding repeats)
    marked = np.zeros((70, 240), bool)
    marked[y, np.arange(240)] = True
    per_row = frame.level(marked).sum(1)
    assert per_row.max() >= 238  # (at a half pixel, the line and the shift may round apart)
    x0, y0, x1, y1 = frame.to_levelled((100, 20, 140, 40))
    assert frame.level(marked)[y0:y1, x0:x1].any()
    assert frame.to_image((x0, y0, x1, y1))[1] <= 20 and frame.to_image((x0, y0, x1, y1))[3] >= 40


@pytest.mark.slow  # (an edit of a whole line: the fast tier keeps the frame's arithmetic above)
def test_a_shorter_word_on_a_turned_page_closes_up_in_the_levelled_frame(editor, registry):
    # A page turned 7 degrees on the scanner: "Networks" -> "Network" was cut on the tilt as if level,
    # the cut meant to take the "s" leaned past it, no pixel changed, and nothing verified.
    image = _turned(registry, 7.0)
    result, out, _ = editor.run(EditRequest(image="page.png", find="Networks", replace="Network", max_attempts=2), image)
    assert result.status == "verified", result.message
    frame = result.plan.frame
    assert frame is not None and abs(frame.slope + np.tan(np.radians(7.0))) <= 0.015
    # The s went: fewer dark pixels by about an s's worth, all of them round the word's end.
    dark_before, dark_after = (np.abs(im.astype(int) - GROUND).max(-1) > 120 for im in (image, out))
    gone = dark_before & ~dark_after
    assert 60 <= gone.sum() - (dark_after & ~dark_before).sum() <= 250
    x0, y0, x1, y1 = result.plan.in_image(result.plan.word_box)
    ys, xs = np.nonzero(gone)
    assert xs.min() >= x0 and ys.min() >= y0 - 2 and ys.max() <= y1 + 2


@pytest.mark.slow
def test_a_line_that_closes_up_carries_the_words_read_apart_and_leaves_nothing(editor, registry):
    # "Recurrent" -> "Current" on the turned page: what follows moves 42 px back. The "today" beyond
    # was read apart from the word's line, its y's tail lay below that line's deepest glyph, stayed
    # where it was, and the edit verified. (Every check but #17's box passes now: what follows moved.)
    image = _turned(registry, 7.0)
    result, out, _ = editor.run(EditRequest(image="page.png", find="Recurrent", replace="Current", max_attempts=2), image)
    assert_reset_past_word(result)  # (what follows moved: #17's box)
    frame, plan = result.plan.frame, result.plan
    before, after = frame.level(image), frame.level(out)
    assert not left_text_behind(before, after, plan)
    # Every dark pixel of the moved words arrived: as many right of the new word as right of the old.
    dark = [np.abs(im.astype(int) - GROUND).max(-1) > 120 for im in (before, after)]
    right, moved = plan.word_box[2], plan.reflow.dx
    assert abs(int(dark[0][:, right:].sum()) - int(dark[1][:, right + moved :].sum())) <= 0.02 * dark[0][:, right:].sum()
    # In the image, what moved moved rigidly, along the line: (dx, slope x dx). Moved only across the
    # frame, the stems of "Neural" took 1 px notches where the frame's rounding and the move's differ.
    dy = int(round(frame.slope * moved))
    x_end = plan.in_image(plan.word_box)[2] + 10  # (past the new word: the moved words only)
    src = np.abs(image.astype(int) - GROUND).max(-1) > 120
    dst = np.abs(out.astype(int) - GROUND).max(-1) > 120
    ys, xs = np.nonzero(src[:, x_end - moved :])
    xs = xs + x_end - moved
    keep = (ys + dy >= 0) & (ys + dy < dst.shape[0])
    assert dst[ys[keep] + dy, xs[keep] + moved].mean() >= 0.98
    # A tail left behind in the ground the line vacated is seen, and never verifies.
    stranded = after.copy()
    ys, xs = np.nonzero(dark[0][:, right:])
    tail = (ys >= np.percentile(ys, 99)) & (xs >= xs.max() - 12)  # the y's tail, the line's lowest, last pixels
    stranded[ys[tail], xs[tail] + right] = before[ys[tail], xs[tail] + right]
    assert left_text_behind(before, stranded, plan)
