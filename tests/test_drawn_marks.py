"""A box drawn round a word, read as a letter glued to it (agent/plan.without_drawn_marks): the
docTR figure's pale box side before "571.227.2900" was read "1571.227.2900", and the edit of its
last "0" landed on the "(" of the next word."""

from __future__ import annotations

import numpy as np
import pytest

from agent.plan import make_plan, without_drawn_marks
from agent.schemas import EditRequest
from tools.fonts import composite, render_text
from tools.ocr import TextLine

GROUND, INK, BOX = (235, 235, 235), (30, 40, 120), (120, 200, 120)
FACE, SIZE, BASELINE, LEFT = "LiberationSans", 40, 70.0, 30.0


def _line(registry, text: str, box_side: bool) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """text set at LEFT; box_side: a pale green box drawn round it, its left side 4 px before the first letter."""
    canvas = np.full((110, 420, 3), GROUND, np.float32)
    font = registry.font(FACE, SIZE)
    drawn = render_text(font, text, (420, 110), (LEFT, BASELINE))
    canvas = composite(canvas, drawn.alpha, INK)
    ys, xs = np.nonzero(drawn.alpha > 0.5)
    x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    if box_side:
        bx0, by0, bx1, by1 = x0 - 4, y0 - 6, x1 + 6, y1 + 6
        canvas[by0 : by1 + 1, [bx0, bx1]] = BOX
        canvas[[by0, by1], bx0 : bx1 + 1] = BOX
    return canvas.astype(np.uint8), (x0 - 8, y0 - 8, x1 + 10, y1 + 10)


@pytest.fixture(scope="module")
def boxed(registry):
    return _line(registry, "Harbour 571", box_side=True)


@pytest.mark.parametrize(("text", "read", "find"), [("Harbour 571", "[Harbour 571", "Harbour"),
                                                    ("571.227.2900", "1571.227.2900", "571.227.2900"),
                                                    ("Harbour 571", "Harbour] 571", "Harbour"),
                                                    ("Harbour 571", "[Harbour] 571", "Harbour")])
def test_a_box_side_read_as_a_letter_glued_to_the_word_is_dropped(registry, ocr, text, read, find):
    # (before the word, after it, on both sides: the ink holds none of them)
    image, box = _line(registry, text, box_side=True)
    line = TextLine.of_box(read, 0.9, box)  # as the recogniser read the box's side
    cleaned, start = without_drawn_marks(ocr, registry, image, line, read.index(find), find)
    assert (cleaned.text, start) == (text, 0)
    assert cleaned.box == line.box


def test_the_edit_lands_on_the_named_digit_once_the_side_is_dropped(registry, ocr):
    # "2900" -> "2901": cut with the side's "1" as a digit of its own, the last "0"'s box lay on the
    # space after it (as the docTR line's did on the next word).
    image, box = _line(registry, "2900 Harbour", box_side=True)
    request = EditRequest(image="x.png", find="2900", replace="2901")
    font = registry.font(FACE, SIZE)
    d0, d1 = LEFT + font.getlength("290"), LEFT + font.getlength("2900")
    line = TextLine.of_box("12900 Harbour", 0.9, box)
    cleaned, start = without_drawn_marks(ocr, registry, image, line, 1, "2900")
    edit = make_plan(registry, image, cleaned, start, request).edits[0]
    assert (edit.old, edit.new) == ("0", "1") and d0 - 3 <= edit.box[0] and edit.box[2] <= d1 + 3, edit
    misplaced = make_plan(registry, image, line, 1, request).edits[0]
    assert not (d0 - 3 <= misplaced.box[0] and misplaced.box[2] <= d1 + 3), misplaced


@pytest.mark.parametrize(("text", "find"), [("live 571", "ive"), ("1571.227.2900", "571.227.2900")])
def test_a_letter_that_is_there_stays(registry, ocr, text, find):
    # "ive" asked in "live", "571..." in "1571...": the "l" and the "1" are bar-like and glued, but their ink is there.
    image, box = _line(registry, text, box_side=False)
    line = TextLine.of_box(text, 0.9, box)
    assert without_drawn_marks(ocr, registry, image, line, 1, find) == (line, 1)


def test_nothing_is_asked_without_a_bar_like_character_at_the_word_edge(registry, ocr, boxed):
    image, box = boxed
    line = TextLine.of_box("Harbour 571", 0.9, box)

    class Untouched:
        def likelihoods(self, crop, texts):
            raise AssertionError("no reading to weigh")

    assert without_drawn_marks(Untouched(), registry, image, line, 0, "Harbour") == (line, 0)
    inside = TextLine.of_box("x1Harbour 571", 0.9, box)  # (a "1" inside a word is not at its edge)
    assert without_drawn_marks(Untouched(), registry, image, inside, 2, "Harbour") == (inside, 2)


@pytest.mark.slow
def test_the_docTR_figures_number_is_edited_at_its_own_last_digit(editor):
    # The figure's pale box round "571.227.2900" was read "1571.227.2900": the "1" meant for the
    # last "0" was drawn over the "(" of "(U.S.)". The plan (graph.planned) drops the side's "1".
    from agent.evals.judge import Judge
    from tests.conftest import load

    image = load("heldout/doctr_word_crops.png")
    request = EditRequest(image="x.png", find="571.227.2900", replace="571.227.2901", occurrence=2)
    result, out, _ = editor.run(request, image)
    assert result.plan is not None and result.plan.line_text.startswith("571.227.2900"), result.plan
    read, _ = Judge().read(out, (9, 114, 235, 166))  # the case's box (examples/heldout/cases.jsonl, ho-doctr-word-crops-4)
    assert read.replace(" ", "") == "571.227.2901", read
