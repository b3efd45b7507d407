"""A word on a line that no face fits (a page that bows, words of two sizes) is planned again fitted
alone, in a crop round it, once its attempts on the line's fit have failed (agent/graph.py)."""

from __future__ import annotations

import numpy as np
import pytest

from agent.context import Toolbox
from agent.graph import ALONE_AFTER, RELAYOUT_ATTEMPTS, _fits_alone_now
from agent.plan import GOOD_FIT, POOR_FIT, fitted_alone, locate, make_plan
from agent.run import Editor
from agent.schemas import Attempt, EditRequest
from tools.fonts import composite, render_text
from tools.inpaint import NaiveInpaint
from tools.level import Levelled
from tools.ocr import shifted

GROUND, INK = (235, 235, 235), (30, 40, 120)
# A poster's line in two sizes and faces: one face and size fitted to the whole line fits neither.
POSTER = (("SALE", "LiberationSans-Bold", 64), ("today only", "LiberationSerif", 30))


def _poster(registry) -> np.ndarray:
    canvas = np.full((140, 700, 3), GROUND, np.float32)
    x = 20.0
    for text, face, size in POSTER:
        font = registry.font(face, size)
        canvas = composite(canvas, render_text(font, text, (700, 140), (x, 95.0)).alpha, INK)
        x += font.getlength(text + " ")
    return canvas.astype(np.uint8)


@pytest.fixture(scope="module")
def poster(registry):
    return _poster(registry)


@pytest.fixture(scope="module")
def line_plan(registry, ocr, poster):
    request = EditRequest(image="poster.png", find="only", replace="onto")
    lines, index, start = locate(ocr.read(poster), request)[:3]
    return make_plan(registry, poster, lines[index], start, request)


class _MissesAtFirst:
    """The naive tool, but its first `misses` calls change nothing (a failed attempt)."""

    def __init__(self, misses: int):
        self.tool, self.misses, self.calls = NaiveInpaint(), misses, 0

    def __call__(self, image, edits, seed=0, guidance=1.0, steps=0):
        self.calls += 1
        return image.copy() if self.calls <= self.misses else self.tool(image, edits, seed, guidance, steps)


def test_the_line_of_two_sizes_fits_no_face(line_plan):
    # What the switch is for: the line's one face and size cut the small "only" with the "ay" of
    # "today" before it, in a face that fits the line's ink poorly.
    assert line_plan.font.score < POOR_FIT
    assert line_plan.word != "only" and line_plan.word.endswith("only"), line_plan.word


def test_a_word_whose_attempts_on_the_line_fail_is_fitted_alone(registry, ocr, poster, line_plan):
    tool = _MissesAtFirst(misses=ALONE_AFTER)
    editor = Editor(Toolbox(registry, ocr, {"naive": tool}))
    result, out, _ = editor.run(EditRequest(image="poster.png", find="only", replace="onto"), poster)
    assert [a.passed for a in result.attempts] == [False] * ALONE_AFTER + [True], result.message
    assert result.status == "verified", result.message
    # Fitted alone: the word is "only" in the serif it is set in, and it fits well.
    p = result.plan
    assert p.word == "only" and p.new_word == "onto" and p.line_text == line_plan.line_text
    assert p.font.face in ("LiberationSerif", "Tinos") and p.font.score >= GOOD_FIT, p.font
    # Only the word's last two letters changed: "today" before it is as it was.
    changed = np.abs(out.astype(int) - poster.astype(int)).max(-1) > 24
    ys, xs = np.nonzero(changed)
    char_boxes = p.char_boxes
    assert len(xs) and xs.min() >= char_boxes[1][2] - 2 and xs.max() <= char_boxes[3][2] + 4, (xs.min(), xs.max(), char_boxes)
    assert "today onto" in " ".join(ln.text for ln in ocr.read(out))


def test_fitted_alone_keeps_the_line_and_refuses_a_word_the_line_does_not_hold(registry, ocr, poster, line_plan):
    lines = shifted(ocr.read(poster[:, 200:]), 200, 0)  # "today only", read alone
    request = EditRequest(image="poster.png", find="only", replace="onto")
    found, index, start = locate(lines, request)[:3]
    alone = make_plan(registry, poster, found[index], start, request)
    assert alone.line_text == "today only" and alone.font.score > line_plan.font.score
    fitted = fitted_alone(line_plan, alone)
    assert fitted is not None
    assert (fitted.line_text, fitted.line_box, fitted.start) == (line_plan.line_text, line_plan.line_box, line_plan.start)
    assert (fitted.word, fitted.word_start, fitted.char_boxes) == ("only", line_plan.start, alone.char_boxes)
    # Read elsewhere ("only" at another place in its line than the line's reading has it): no plan.
    assert fitted_alone(line_plan.model_copy(update={"start": 2}), alone) is None


def _state(plan, made: int, budget: int, why: str = "wrong-glyph", **request) -> dict:
    attempts = [Attempt(number=k + 1, tool="naive", seed=k, guidance=1.0, steps=0, mask_pad=2, mask_grow_x=0,
                        size_scale=1.0, mask_boxes=[], ocr_text="", ocr_confidence=0.0, passed=False, seconds=0.0, why_failed=why)
                for k in range(made)]
    return {"plan": plan, "attempts": attempts, "budget": budget,
            "request": EditRequest(image="poster.png", find="only", replace="onto", **request)}


def test_when_the_word_is_fitted_alone(line_plan):
    chars, relayout = line_plan, line_plan.model_copy(update={"mode": "relayout"})
    # Characters in place: after ALONE_AFTER failed attempts, within their budget.
    assert [_fits_alone_now(_state(chars, made, 6)) for made in range(1, 6)] == [k == ALONE_AFTER for k in range(1, 6)]
    # A word set anew: when its attempts are spent and the request allows more; not after a face refused.
    assert _fits_alone_now(_state(relayout, RELAYOUT_ATTEMPTS, RELAYOUT_ATTEMPTS))
    assert not _fits_alone_now(_state(relayout, 1, RELAYOUT_ATTEMPTS))
    assert not _fits_alone_now(_state(relayout, RELAYOUT_ATTEMPTS, RELAYOUT_ATTEMPTS, max_attempts=RELAYOUT_ATTEMPTS))
    assert not _fits_alone_now(_state(relayout, RELAYOUT_ATTEMPTS, RELAYOUT_ATTEMPTS, why="unlike-face"))
    # Never twice, never for a face that fits, the named text alone on its line, or the baselines.
    state = _state(chars, ALONE_AFTER, 6)
    assert not _fits_alone_now({**state, "planned_again_after": 2})
    assert not _fits_alone_now({**state, "plan": chars.model_copy(update={"font": chars.font.model_copy(update={"score": POOR_FIT})})})
    assert not _fits_alone_now({**state, "plan": chars.model_copy(update={"line_text": "only"})})
    assert _fits_alone_now({**state, "plan": chars.model_copy(update={"word": chars.line_text})})  # (the line's cut took it all)
    assert not _fits_alone_now(_state(chars, ALONE_AFTER, 6, method="naive"))
    # Nor in a levelled frame: the state's lines are the image's, not the frame's.
    frame = Levelled.about(0.1, 300.0, (0, 699))
    assert not _fits_alone_now({**state, "plan": chars.model_copy(update={"frame": frame})})
