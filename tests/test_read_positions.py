"""Where the recogniser reads each character (tools.ocr.OCR.char_positions, a CTC forced alignment),
and the cuts it gives a line whose face fits poorly (agent.plan.make_plan's read_at): a serif sign's
"dintaifungSG", matched to a sans at IoU 0.19, was cut by the sans's layout, the S's box lay on the g,
and "SG" -> "HK" drew the H over the g."""

from __future__ import annotations

import numpy as np
import pytest

from agent.plan import POOR_FIT, READ_LAG, make_plan
from agent.schemas import EditRequest
from tests.conftest import load
from tools.fonts import render_text
from tools.frames import find_frames, find_outlines, lift, lift_outlines
from tools.ocr import TextLine, forced_alignment


def test_forced_alignment_gives_each_label_its_frames():
    # 7 frames, labels 1 2 2: blank between the two 2s is required, so they are never one run.
    logp = np.log(np.full((7, 3), 0.05))
    for t, c in enumerate([0, 1, 0, 2, 0, 2, 0]):
        logp[t, c] = np.log(0.9)
    assert forced_alignment(logp, [1, 2, 2]) == [[1], [3], [5]]
    # A label held over several frames keeps them all; the blanks round it are no label's.
    held = np.log(np.full((6, 3), 0.05))
    for t, c in enumerate([1, 1, 1, 0, 2, 0]):
        held[t, c] = np.log(0.9)
    assert forced_alignment(held, [1, 2]) == [[0, 1, 2], [4]]


def test_the_recogniser_reads_each_character_within_its_ink(registry, ocr):
    size, text = 40, "Mitsubishi 1971"
    font = registry.font("LiberationSerif", size)
    drawn = render_text(font, text, (460, 2 * size), (size * 0.5, 1.5 * size))
    image = (255 - 255 * drawn.alpha[..., None].repeat(3, -1)).astype(np.uint8)
    xs = ocr.char_positions(image, text)
    boxes = [b for c, b in zip(text, drawn.boxes, strict=True) if not c.isspace()]
    assert xs is not None and len(xs) == len(boxes) and np.all(np.diff(xs) > 0)
    # Lagged back to the middle, each within its own box (an "i" is 6 px wide at this size).
    advance = (xs[-1] - xs[0]) / (len(xs) - 1)
    for x, b in zip(xs, boxes, strict=True):
        assert b[0] - 0.25 * advance <= x + READ_LAG * advance <= b[2] + 0.25 * advance, (x, b)
    assert ocr.char_positions(image, "") is None


@pytest.mark.slow
def test_a_poorly_fitting_face_is_cut_where_the_recogniser_reads(registry, ocr):
    image = load("heldout_ocrviz/psenet_dintaifung_sign.jpg")
    frames = find_frames(image)
    lifted = lift_outlines(lift(image, frames), find_outlines(image, frames))
    line = TextLine.of_box("dintaifungSG", 0.5, (480, 241, 714, 302))
    request = EditRequest(image="x.png", find="dintaifungSG", replace="dintaifungHK")

    def read_at(box, text):
        x0, y0, x1, y1 = box
        xs = ocr.char_positions(lifted[y0:y1, x0:x1], text)
        return None if xs is None else [x0 + x for x in xs]

    g = 643  # the g's ink starts here; the S's at 660
    by_layout = make_plan(registry, lifted, line, 0, request)
    assert by_layout.font.score < POOR_FIT
    assert by_layout.edits[0].box[0] <= g + 2  # the H drawn on the g
    as_read = make_plan(registry, lifted, line, 0, request, read_at)
    s_box, g_box = (e.box for e in as_read.edits)
    assert s_box[0] >= 657 and g_box[0] > s_box[2] - 2, (s_box, g_box)
    assert as_read.char_boxes[9][0] <= g + 2  # the g keeps its own box


def test_the_faces_cuts_stay_where_the_recogniser_reads_the_named_letters_in_them(registry):
    # A photographed "BANK": cut by where the recogniser read it, the N's box was too narrow for the
    # new R (the cut snapped to the N's thin diagonal) and the N's diagonal was left beside it.
    from agent.plan import _cut_as_read
    from tools.locate import char_boxes, line_ink

    size, text = 40, "BANK"
    font = registry.font("DejaVuSans-Bold", size)
    drawn = render_text(font, text, (240, 2 * size), (size * 0.5, 1.5 * size))
    image = (255 - 255 * drawn.alpha[..., None].repeat(3, -1)).astype(np.uint8)
    ink = line_ink(image, (10, 20, 200, 65), text, registry)
    boxes = char_boxes(registry, ink, text, "DejaVuSans-Bold")
    middles = [(b[0] + b[2]) / 2 for b in boxes]
    advance = (middles[-1] - middles[0]) / 3
    read = [m - READ_LAG * advance for m in middles]
    assert _cut_as_read(registry, ink, text, "DejaVuSans-Bold", boxes, [2], read) is boxes
    # Read a whole letter off, the boxes are cut again; each letter one piece of ink, the pieces
    # say where the letters part, whatever the recogniser reads.
    shifted = [x + advance for x in read]
    assert _cut_as_read(registry, ink, text, "DejaVuSans-Bold", boxes, [2], shifted) == boxes
