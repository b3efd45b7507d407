"""Text on a tilted line (a sign seen from one side, a page turned on the scanner): the plan reads
the tilt, new glyphs are drawn on it, and the word is also read set level before it verifies."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from agent.plan import baseline_tilt, level_slope
from agent.schemas import EditRequest
from agent.verify import levelled_crop
from tools.fonts import composite, render_text, vertical_shear
from tools.locate import char_boxes, line_ink

GROUND, INK = (235, 235, 235), (30, 40, 120)


def _line(registry, text: str, slope: float = 0.0, degrees: float = 0.0, face: str = "LiberationSans-Bold", size: int = 40):
    """A line of text on a plain ground, its baseline tilted by `slope` (perspective) or turned by `degrees` (roll)."""
    drawn = render_text(registry.font(face, size), text, (460, 140), (40.0, 85.0))
    alpha = vertical_shear(drawn.alpha, slope, 230.0)
    image = composite(np.full((140, 460, 3), GROUND, np.float32), alpha, INK).astype(np.uint8)
    if degrees:
        image = np.asarray(Image.fromarray(image).rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=GROUND))
    return image


@pytest.mark.parametrize(("slope", "degrees"), [(-0.2, 0.0), (0.12, 0.0), (0.0, 8.0)])
def test_the_tilt_of_a_line_is_read_from_its_glyphs_and_its_ink(registry, ocr, slope, degrees):
    image = _line(registry, "OPEN DAILY", slope, degrees)
    line = max(ocr.read(image), key=lambda ln: len(ln.text))
    ink = line_ink(image, line.box, line.text, registry)
    boxes = char_boxes(registry, ink, line.text, "LiberationSans-Bold")
    truth = slope or -float(np.tan(np.radians(degrees)))
    estimate = level_slope(ink.coverage, baseline_tilt(line.text, boxes, 40), 40)
    assert abs(estimate - truth) <= 0.012, (line.text, estimate, truth)


def test_a_level_line_has_no_tilt(registry, ocr):
    image = _line(registry, "OPEN DAILY")
    line = max(ocr.read(image), key=lambda ln: len(ln.text))
    ink = line_ink(image, line.box, line.text, registry)
    assert baseline_tilt(line.text, char_boxes(registry, ink, line.text, "LiberationSans-Bold"), 40) == 0.0


def test_a_new_glyph_on_a_tilted_line_is_drawn_on_its_tilt(editor, registry):
    # "OPEN DAILY" -> "OPEN DAIRY" on a line rising 0.2 px a pixel (a sign seen from one side): the
    # R was drawn upright, its foot below the line and its top crowding the I.
    image = _line(registry, "OPEN DAILY", -0.2)
    result, out, _ = editor.run(EditRequest(image="sign.png", find="DAILY", replace="DAIRY", max_attempts=3), image)
    assert result.status == "verified", result.message
    assert abs(result.plan.font.tilt + 0.2) <= 0.012
    # The new R's feet follow the line: its right leg's foot stands 0.2 px higher a pixel right of its
    # stem's (drawn upright, both feet stood on one row, the right one 3 px below the line).
    x0, y0, x1, y1 = result.attempts[-1].mask_boxes[0]
    pieces, _ = ndimage.label(np.abs(out[y0:y1, x0:x1].astype(int) - GROUND).max(-1) > 100)
    inked = pieces == np.bincount(pieces.ravel())[1:].argmax() + 1  # the R, not an edge of the I or Y
    cols = np.flatnonzero(inked.any(0))
    foot = [inked.shape[0] - inked[::-1, c].argmax() for c in (cols[0], cols[-1])]
    assert abs((foot[1] - foot[0]) / (cols[-1] - cols[0]) + 0.2) <= 0.06, (foot, cols[0], cols[-1])
    # Verify also read the word set level: there its capitals' tops lie on one row.
    level = levelled_crop(out, result.plan, result.attempts[-1].mask_boxes)
    dark = np.abs(level.astype(int) - GROUND).max(-1) > 100
    pieces, n = ndimage.label(dark)
    tops = [int(np.flatnonzero((pieces == k).any(1))[0]) for k in range(1, n + 1) if (pieces == k).sum() > 40]
    assert len(tops) == 5 and max(tops) - min(tops) <= 2, tops
