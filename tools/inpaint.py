"""One interface for repainting characters, the draft of a new glyph, and the drawn backend.

- `Draft`: the new glyph rendered where it should go, in the matched face and colours, and
  `draft_image`, which paints it over a background plate.
- `GlyphDiffusionInpaint` (models/inpaint_tool.py): the glyph-conditioned diffusion model.
- `NaiveInpaint`: what people do by hand: the old glyph's ground filled from round it, then the new
  glyph drawn flat in the matched font and colour. The baseline, and the fallback tool of the agent.

Every backend changes only the pixels inside the edit masks: outside them the output is the input,
bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
from scipy import ndimage

from tools.fonts import composite, ink_box, project_ink
from tools.mask import Box, box_to_mask, moved_by


@dataclass
class Draft:
    """The target glyph rendered where it should go, in the matched font and colours."""

    coverage: np.ndarray  # float32 HxW glyph coverage in image coordinates
    box: tuple[int, int, int, int] | None  # its ink box
    fg: tuple[int, int, int]  # colour to draw it in
    bg: tuple[int, int, int]  # colour to fill the erased area with
    effect: np.ndarray | None = None  # HxW coverage of an outline or shadow layer under the ink (None: none)
    effect_colour: tuple[int, int, int] = (0, 0, 0)  # its colour
    # the colour to draw it in where that is not fg, the colour its word's letters show, which finds
    # their ink (a JPEG'd word's: FontInfo.drawn_fg)
    drawn_fg: tuple[int, int, int] | None = None

    def paint(self, background: np.ndarray, window: tuple[slice, slice] | None = None) -> np.ndarray:
        """The glyph (over its outline or shadow, if any) composited on an HxWx3 float background;
        with window (rows, columns), background is that part of the image only."""
        win = window or (slice(None), slice(None))
        if self.effect is not None:
            background = composite(background, self.effect[win], self.effect_colour)
        return composite(background, self.coverage[win], self.fg if self.drawn_fg is None else self.drawn_fg)


def _plate(image: np.ndarray, mask: np.ndarray, draft: Draft) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """background_plate's filled window: (its box, its float pixels), or None for an empty mask."""
    bounds = ink_box(mask, 0)  # the mask's pixels' box
    if bounds is None:
        return None
    h, w = image.shape[:2]
    # the ground round the hole: half its height, and the ring fill_ground chooses its fill on
    r = max(4, (bounds[3] - 1 - bounds[1]) // 2) + FILL_RING
    x0, y0, x1, y1 = max(0, bounds[0] - r), max(0, bounds[1] - r), min(w, bounds[2] + r), min(h, bounds[3] + r)
    window = np.ascontiguousarray(image[y0:y1, x0:x1])
    ink = project_ink(window, draft.fg, draft.bg) > 0.25
    if draft.effect is not None:
        ink |= project_ink(window, draft.effect_colour, draft.bg) > 0.25
    hole = mask[y0:y1, x0:x1] | ndimage.binary_dilation(ink, iterations=1)
    return (x0, y0, x1, y1), fill_ground(window, hole)


def telea_fill(window: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The window (contiguous uint8 HxWx3) with the hole's pixels filled by OpenCV's Telea inpainting
    (radius 3), as float32: the nearest known pixels averaged inward."""
    return cv2.inpaint(window, hole.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA).astype(np.float32)


def _biharmonic(window: np.ndarray, hole: np.ndarray) -> np.ndarray:
    from skimage.restoration import inpaint_biharmonic

    filled = inpaint_biharmonic(window.astype(np.float64) / 255, hole, split_into_regions=True, channel_axis=-1)
    return (filled * 255).astype(np.float32)


FILLS = {"telea": telea_fill, "biharmonic": _biharmonic}
FILL_RING = 4  # px of known ground round a hole that each fill is first asked to predict (2 chose worse on JPEG'd grounds)
BIHARMONIC_MOST = 40_000  # unknown pixels: a larger hole (a whole run of words moved on a 12 MP photo) is Telea's
#                           (the biharmonic solve grows faster than the hole: 18k pixels 0.15 s, 170k 4.6 s)


def fill_ground(window: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The window (uint8 HxWx3) with the hole's pixels filled from the ground round it: by the fill
    (FILLS) that best predicts the ring of known ground FILL_RING px round the hole, itself left out.

    A smooth ground (a gradient, a blurred photo) is continued best by a biharmonic surface, which
    carries the ground's slope and curve across the hole; Telea's average of the nearest pixels
    leaves rings and streaks there. Round JPEG'd text the nearest pixels hold the codec's ringing,
    which a biharmonic surface carries into the hole and Telea averages away. Which ground this is,
    the ring says. On the unseen suite's 100 old glyphs against the ground drawn under them (RMS
    error, levels): Telea 5.9, biharmonic 6.0 (0.9 unJPEG'd, 16.3 JPEG'd), chosen by the ring 3.8,
    the better of the two each time 3.1; the ring is not always right (tests/test_inpaint.py's
    `_lettered_ground(True, 60)`, JPEG'd "Bo" on a curved ground: biharmonic chosen, 15.2 levels
    against Telea's 9.8). A surface through the ground's local mean where it is rough did better on
    those glyphs (3.4) and worse on the suite's edits (strict 73.7% -> 69.7%): README session 45.
    """
    if not hole.any():
        return window.astype(np.float32)
    grown = ndimage.binary_dilation(hole, iterations=FILL_RING)
    ring = grown & ~hole
    if grown.all() or int(grown.sum()) > BIHARMONIC_MOST:
        name = "telea"
    else:
        name = min(FILLS, key=lambda n: float(((FILLS[n](window, grown) - window)[ring] ** 2).mean()))
    filled = FILLS[name](window, hole)
    filled[~hole] = window[~hole]
    return filled


def background_plate(image: np.ndarray, mask: np.ndarray, draft: Draft) -> np.ndarray:
    """The image (float) with the masked pixels filled from the background around them (fill_ground).
    The text's ink (and its outline or shadow) near the mask is left out of the
    fill's sources: a fill that borrows colour from a neighbouring glyph or from what is left of the
    old one smears a dark blot into the hole, and OCR reads blots as strokes."""
    out = image.astype(np.float32)
    if (filled := _plate(image, mask, draft)) is not None:
        (x0, y0, x1, y1), pixels = filled
        out[y0:y1, x0:x1] = pixels
    return out


def draft_image(source: np.ndarray, mask: np.ndarray, draft: Draft, plate: str = "flat") -> np.ndarray:
    """Source outside the mask; inside it the coloured glyph over a background plate: the draft's
    flat background colour ("flat") or the background inpainted from around the mask ("inpainted").
    Painted in the mask's window only (on a 12 MP photo, whole-image compositing took 0.65 s)."""
    out = source.astype(np.float32)
    bounds = ink_box(mask, 0)  # the mask's pixels' box
    if bounds is None:
        return out
    x0, y0, x1, y1 = bounds
    window = (slice(y0, y1), slice(x0, x1))
    if plate == "inpainted" and (filled := _plate(source, mask, draft)) is not None:
        (px0, py0, _, _), pixels = filled
        background = pixels[y0 - py0 : y1 - py0, x0 - px0 : x1 - px0]
    else:
        background = np.broadcast_to(np.asarray(draft.bg, np.float32), (y1 - y0, x1 - x0, 3)).copy()
    inside = draft.paint(background, window)
    m = mask[window]
    out[window][m] = inside[m]
    return out


@dataclass
class GlyphEdit:
    """One character to repaint: where (mask box) and what (the draft of the new glyph)."""

    mask_box: Box
    draft: Draft
    min_context: int  # the crop window is at least this many pixels (about the line height)
    shape: np.ndarray | None = None  # HxW bool: only these pixels of the box are repainted (None: all)
    source: str | None = None  # where the draft came from when not the face: an exemplar in the image
    zone: Box | None = None  # where this glyph's repaint may change pixels: its old and new ink grown by the painter's reach

    def mask(self, image_shape: tuple[int, int]) -> np.ndarray:
        box = box_to_mask(image_shape, self.mask_box)
        return box if self.shape is None else box & self.shape


class InpaintTool(Protocol):
    name: str

    def __call__(self, image: np.ndarray, edits: list[GlyphEdit], seed: int, guidance: float, steps: int) -> np.ndarray:
        """Return a new HxWx3 uint8 image; pixels outside every edit's mask equal the input."""
        ...


# A repaint that moves a pixel by no more than this many levels (of 255) in every channel leaves it
# as it was: a fill reproduces a flat ground to within a level or two, and those pixels would be
# changed for nothing, past the glyphs' own ink (unseen-0-0058: 3 pixels at the mask's edge, moved by
# 2-3 levels, lay outside the edit's box). 1.2% of the range is under what the eye tells apart.
FAINT_CHANGE = 3


def _faint(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Which of these uint8 pixels (N x 3) new moves from old by at most FAINT_CHANGE in every channel."""
    return moved_by(new, old) <= FAINT_CHANGE


def kept_where_faint(before: np.ndarray, after: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """after, but the pixels in mask that it moves from before only faintly (FAINT_CHANGE) keep their
    values in before (uint8 HxWx3 images)."""
    ys, xs = np.nonzero(mask)
    faint = _faint(after[ys, xs], before[ys, xs])
    out = after.copy()
    out[ys[faint], xs[faint]] = before[ys[faint], xs[faint]]
    return out


def paste_inside(image: np.ndarray, painted: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """image with the painted pixels inside mask, but for those the paint moves only faintly (FAINT_CHANGE).
    (The masked pixels alone are compared: one copy of the image, not two, on a 12 MP photo.)"""
    out = image.copy()
    new = np.clip(np.round(painted[mask]), 0, 255).astype(np.uint8)
    old = image[mask]
    faint = _faint(new, old)
    new[faint] = old[faint]
    out[mask] = new
    return out


class NaiveInpaint:
    name = "naive"

    def __call__(self, image, edits, seed=0, guidance=1.0, steps=0):
        out = image
        for e in edits:
            mask = e.mask(image.shape[:2])
            out = paste_inside(out, draft_image(out, mask, e.draft, "inpainted"), mask)
        return out
