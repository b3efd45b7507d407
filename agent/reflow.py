"""Replacements of another length, set as a typesetter would: what follows on the line moves.

A longer word drawn over the old one's box overwrote the next word; the word redrawn whole also
redrew its punctuation as OCR had read it (a full stop read ":" came back a colon, and verified).
Here only what changes is drawn, and what follows it moves by the width difference.

Notation (image coordinates; the text leans `lean` px per px above its baseline):
  old, new      the word before and after the edit (EditPlan.word, EditPlan.new_word)
  head, tail    how many characters old and new share at their start and at their end
  middle        old[head:len(old)-tail] (erased) and new[head:len(new)-tail] (drawn)
  L(s)          the advance of string s in the matched face and size, kerning included
  cut           a leaning line between two glyphs (schemas.Cut); "right of" it is what follows
  dx            L(h + new middle + t) - L(h + old middle + t), h and t the characters either side
                (kerning at both ends), times the word's measured tracking: how far the rest moves

1. Plan (`plan_reflow`): head and tail; the pen of the first new character from the aligned pens
   of the word's glyphs; the cuts (leaning lines through the least ink between two glyphs); the
   run of the line that moves (the detector's boxes on the word's row, joined over word gaps, and
   the ink touching them) and the room after it (the next text, or the image edge). No room for
   dx: the new characters' advances shrink by up to MAX_TIGHTEN; not even then: refused.
2. Paint (`paint_reflow`): the ground under the old middle and under the moving text is filled
   (tools.inpaint.background_plate); the moving text's pixels are put back dx further, each
   carrying its difference from its own ground, orig(p) - fill(p) + fill(p + dx) (a gradient or a
   lit ground stays continuous); the new middle is drawn in the matched face, weight, blur,
   colour and effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage

from agent.plan import BadRequest, is_italic, observed_ink
from agent.repaint import AttemptSettings, edit_pen, text_effect
from agent.schemas import Cut, EditPlan, Reflow
from tools.effects import ink_on_axis
from tools.fonts import GlyphPen, ink_box, place_glyph
from tools.inpaint import Draft, background_plate
from tools.mask import Box, default_pad, union
from tools.ocr import TextLine

MAX_TIGHTEN = 0.1  # the most the new characters' advances may shrink: 10% a reader does not notice
TRACKING = (0.85, 1.2)  # the measured tracking (word's spacing / face's) is trusted within these bounds
STROKE = 0.3  # observed ink above this is a stroke: a cut avoids it
INK = 0.12  # ... above this it is ink that moves or is erased (anti-aliased edges included)
EXTRA_LEANS = (0.0, -0.1, 0.1, 0.2, 0.3)  # a cut may lean this much more than the measured slant (italics)
KEPT_TOLERANCE = 0.03  # share of the kept strokes that may differ (the new glyphs' anti-aliasing where they meet them)
STRONG, FAINT = 0.7, 0.3  # a stroke pixel, and a pixel with next to no ink
FAINT_INK, SOLID_INK = 0.1, 0.9  # moved text: a smaller ink share is the ground's noise; a larger is copied as it is
CUT_REACH = 0.15  # a cut lies at most this x the text height off the glyph it keeps close to
JOIN_GAP = 1.0  # detector boxes on the word's row closer than this x the text height move with it
WORD_GAP = 0.3  # the least gap (x text height) the moved line keeps from the next text
JPEG_RINGING = 2  # px more halo round moved and erased text in a JPEG: its ringing, left behind, read as "=" or "'"


def shared_ends(old: str, new: str) -> tuple[int, int]:
    """(head, tail): how many characters old and new share at their start and, after that, at their end."""
    n = min(len(old), len(new))
    head = 0
    while head < n and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < n - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return head, tail


def plan_reflow(registry, image: np.ndarray, plan: EditPlan, lines: list[TextLine]) -> Reflow:
    """How to set plan.new_word in place of plan.word (see the module's notation and step 1)."""
    old, new, boxes, f = plan.word, plan.new_word, plan.char_boxes, plan.font
    h_img, w_img = image.shape[:2]
    head, tail = shared_ends(old, new)
    inked = [j for j, b in enumerate(boxes) if b is not None and not old[j].isspace()]
    if not inked:
        raise BadRequest(f'could not find the ink of "{old}" in the image')
    # 1. The pen: aligned to the last kept glyph before the change, else the first glyph after it.
    before = [j for j in inked if j < head]
    ref = before[-1] if before else next(j for j in inked if j >= head)
    slant = 0.0 if is_italic(f.face) else f.slant
    pen, pens = edit_pen(registry, image, plan, ref, f.size, slant, align=True)
    font = registry.font(f.face, pen.size)

    def advance(s: str) -> float:
        return font.getlength(s)

    tracking = _tracking(advance, old, ref, pen, pens)
    old_mid, new_mid = old[head : len(old) - tail], new[head : len(new) - tail]
    h0, t0 = old[head - 1 : head], old[len(old) - tail :][:1]
    if ref < head:
        pen_x = pen.x + tracking * (advance(old[ref:head] + new_mid[:1]) - advance(new_mid[:1]))
    else:
        pen_x = pen.x - tracking * advance(old[head:ref])
    dx_float = tracking * (advance(h0 + new_mid + t0) - advance(h0 + old_mid + t0))
    # 2. The cuts: before the replaced characters and after them.
    height = plan.word_box[3] - plan.word_box[1]
    left = plan.outside[0] if plan.outside[0] is not None and plan.word_box[0] - plan.outside[0][2] < 2 * height else None
    right = plan.outside[1]
    last_before = boxes[before[-1]] if before else left
    after_head = [boxes[j] for j in inked if j >= head]
    after_mid = [boxes[j] for j in inked if j >= len(old) - tail]
    mid_boxes = [boxes[j] for j in inked if head <= j < len(old) - tail]
    lean = slant + (0.2 if is_italic(f.face) else 0.0)  # an italic face leans about 0.2 (11 degrees) by itself
    run_end, obstacle, run_boxes = _run(plan, lines, height)
    band = _band(plan, lines, run_boxes, run_end, dx_float, height, h_img)
    band_ink = observed_ink(image[band[0] : band[1]], f.fg, f.bg, f.effect)
    cut_before = _cut(band_ink, band[0], pen.baseline, last_before, (after_head or [right])[0], lean, height, "b")
    if mid_boxes:
        cut_after = _cut(band_ink, band[0], pen.baseline, mid_boxes[-1], (after_mid or [right])[0], lean, height, "a")
    else:
        cut_after = cut_before
    # 3. The run that moves and the room after it.
    cols = (band_ink > STROKE).sum(0) >= 2
    end_x = _extend(cols, run_end, max(2, round(WORD_GAP * height)))
    inked_cols = np.nonzero(cols[: end_x])[0]
    ink_end = int(inked_cols[-1]) + 1 if len(inked_cols) else end_x
    later = np.nonzero(cols[end_x:])[0]
    limit = min(obstacle, end_x + int(later[0]) if len(later) else w_img)
    gap = max(2, round(WORD_GAP * height)) if limit < w_img else 1
    room = limit - gap - ink_end
    dx = round(dx_float)
    how, why = "moved", f"the rest of the line moves {dx:+d} px (the new text is {dx_float:+.1f} px wider)"
    if dx > room:
        need = dx - max(0, room)
        squeeze = need / max(1.0, tracking * advance(new_mid))
        if squeeze > MAX_TIGHTEN:
            raise BadRequest(f'no room for "{new}": the line would run {need} px into the next text or the image edge '
                             "(a shorter replacement fits)")
        tracking *= 1 - squeeze
        dx = max(0, room)
        how, why = "tracked", (f"the line can move only {dx} px (the next text or the image edge): the new characters "
                               f"are set {100 * squeeze:.0f}% closer")
    return Reflow(how=how, why=why, head=head, tail=tail, pen_x=round(pen_x, 2), baseline=round(pen.baseline, 2), size=pen.size,
                  tracking=round(tracking, 4), cut_before=cut_before, cut_after=cut_after, dx=dx, end_x=end_x, band=band)


def _tracking(advance, word: str, ref: int, pen: GlyphPen, pens: dict[int, GlyphPen]) -> float:
    """The word's spacing over the face's: a least-squares fit of the aligned pens' distances to
    the face's advances between them (1 when fewer than two other glyphs are aligned, or the fit
    leaves TRACKING: a face that only approximates the text is not a measure of its spacing)."""
    if len(pens) < 2:
        return 1.0
    pairs = [(p.x - pen.x, advance(word[:j]) - advance(word[:ref])) for j, p in pens.items()]
    den = sum(b * b for _, b in pairs)
    s = sum(a * b for a, b in pairs) / den if den else 1.0
    return s if TRACKING[0] <= s <= TRACKING[1] and abs(s - 1) > 0.02 else 1.0


def _run(plan: EditPlan, lines: list[TextLine], height: int) -> tuple[int, int, list[Box]]:
    """(where the moving run ends as the detector saw it, where the next text on the row starts
    (a large number if none), the run's boxes): the word's line and the boxes on its row after it,
    joined over gaps under JOIN_GAP x the text height."""
    wy = (plan.word_box[1] + plan.word_box[3]) / 2
    row = sorted((ln.box for ln in lines if abs((ln.box[1] + ln.box[3]) / 2 - wy) < 0.5 * height
                  and ln.box[2] > plan.word_box[2] and ln.box != plan.line_box), key=lambda b: b[0])
    end = max(plan.line_box[2], plan.word_box[2])
    run = [plan.line_box]
    for b in row:
        if b[0] - end >= JOIN_GAP * height:
            return end, b[0], run
        end = max(end, b[2])
        run.append(b)
    return end, 10**9, run


def _band(plan: EditPlan, lines: list[TextLine], run: list[Box], end: int, dx: float, height: int, h_img: int) -> tuple[int, int]:
    """The rows the edit changes: the word's and the run's, with a halo, short of other lines' boxes."""
    y0 = min([plan.word_box[1]] + [b[1] for b in run])
    y1 = max([plan.word_box[3]] + [b[3] for b in run])
    m = default_pad(height) + 1
    y0, y1 = y0 - m, y1 + m
    x0, x1 = plan.word_box[0] - height, end + max(0, round(dx)) + height
    for ln in lines:
        b = ln.box
        if b in run or b[2] <= x0 or b[0] >= x1:
            continue
        if b[3] <= plan.word_box[1] + 1:  # a line above
            y0 = max(y0, b[3])
        elif b[1] >= plan.word_box[3] - 1:  # a line below
            y1 = min(y1, b[1])
    return max(0, y0), min(h_img, y1)


def _extend(cols: np.ndarray, end: int, gap: int) -> int:
    """Where the run's ink ends: from the last ink column at or before `end` (a loose detector box
    ends past the ink), on over ink columns that continue it with gaps under `gap` (a tight one cuts
    the last letter or a full stop off)."""
    inked = np.nonzero(cols[: min(len(cols), end)])[0]
    if not len(inked):
        return min(len(cols), end)
    last = int(inked[-1])
    k = last + 1
    while k < len(cols) and k - last < gap:
        if cols[k]:
            last = k
        k += 1
    return last + 1


def _cut(band_ink: np.ndarray, y0: int, baseline: float, a: Box | None, b: Box | None, lean: float, height: int,
         near: Literal["a", "b"]) -> Cut:
    """The leaning line through the least stroke ink between glyph box a and glyph box b, among
    the leans the text may have: in the emptiest run of such lines nearest the `near` glyph, close
    to it (at most CUT_REACH x the height off its ink). Where a or b is missing, the other's box edge.

    Near, not in the middle of the gap: ink the reading missed (a full stop OCR did not read after
    "cook") lies in the gap, and must fall on the side that moves, not on the side that is erased."""
    w = band_ink.shape[1]
    if a is None or b is None:
        # One side has no glyph the reading knows of: the cut follows the other's box (ink beyond it
        # is the line's, read or not, and moves with it).
        edge = b[0] - 0.5 if a is None else a[2] + 0.5
        return Cut(x_base=round(float(edge), 2), lean=round(lean, 3))
    lo, hi = (a[0] + a[2]) / 2, (b[0] + b[2]) / 2
    xs = np.arange(int(np.floor(lo)), int(np.ceil(hi)) + 1)
    ys = np.arange(band_ink.shape[0])[:, None]
    stroke = band_ink > STROKE
    off = max(1.0, CUT_REACH * height)
    best = None
    for extra in EXTRA_LEANS:
        k = lean + extra
        cols = np.clip(np.round(xs[None, :] + k * (baseline - (ys + y0))).astype(int), 0, w - 1)
        crossing = stroke[ys, cols].sum(0)
        low = crossing.min()
        empty = np.concatenate([[False], crossing == low, [False]]).astype(np.int8)
        starts, ends = np.nonzero(np.diff(empty) == 1)[0], np.nonzero(np.diff(empty) == -1)[0]
        s, e = (int(starts[0]), int(ends[0])) if near == "a" else (int(starts[-1]), int(ends[-1]))
        x = xs[s] + min((e - s - 1) / 2, off) if near == "a" else xs[e - 1] - min((e - s - 1) / 2, off)
        key = (low, -(e - s), abs(extra))
        if best is None or key < best[0]:
            best = (key, Cut(x_base=round(float(x) + 0.5, 2), lean=round(k, 3)))
    return best[1]


@dataclass
class Reflowed:
    """One attempt's output (step 2)."""

    image: np.ndarray  # the edited image
    drawn: np.ndarray  # HxW bool: the pixels drawn anew (ground filled, new characters); JPEG-matched like any repaint
    changed_box: Box  # the box of every changed pixel, the moved ones included (they keep their own compression)
    word_box: Box  # where the edited word now lies


def paint_reflow(registry, image: np.ndarray, plan: EditPlan, s: AttemptSettings) -> Reflowed:
    """Step 2 of the module's notes, at the attempt's halo (s.pad) and size (s.size_scale)."""
    r, f = plan.reflow, plan.font
    h, w = image.shape[:2]
    y0, y1 = r.band
    height = plan.word_box[3] - plan.word_box[1]
    effect = text_effect(f)
    halo = (default_pad(height) if s.pad is None else s.pad) + int(np.ceil(2 * f.blur)) + (effect.reach if effect else 0)
    if plan.jpeg_quality is not None:
        halo += JPEG_RINGING
    reach = abs(r.cut_before.lean) * (y1 - y0)
    xa = max(0, int(np.floor(r.cut_before.x_base - reach)) - halo - 1)
    xb = min(w, max(r.end_x, r.end_x + r.dx) + halo + 1)
    win = image[y0:y1, xa:xb]
    ys, xs = np.arange(y0, y1)[:, None], np.arange(xa, xb)[None, :]

    def right_of(c: Cut) -> np.ndarray:
        return xs >= c.x_base + c.lean * (r.baseline - ys)

    observed = observed_ink(win, f.fg, f.bg, f.effect)
    # Faint ink next to a stroke (its anti-aliased edge), not specks of a noisy ground.
    ink = (observed > INK) & ndimage.binary_dilation(observed > STROKE, iterations=2)
    layer_ink = np.zeros_like(ink)
    if effect is not None:  # the outline or shadow moves with its letters
        layer_ink = ink_on_axis(win.astype(np.float32), effect.colour, f.bg) > INK
        ink |= layer_ink
    after_head, moving = right_of(r.cut_before), right_of(r.cut_after) & (xs < r.end_x)
    between = after_head & ~right_of(r.cut_after)
    old_mid, moving_ink = ink & between, ink & moving
    hole = ndimage.binary_dilation(old_mid | moving_ink, iterations=halo)
    rows, cols = np.nonzero(old_mid.any(1))[0], np.nonzero(old_mid.any(0))[0]
    if len(rows):  # the old characters' whole ground goes: faint blur and JPEG ringing round them too
        hole |= (between & (ys >= y0 + rows[0] - halo) & (ys <= y0 + rows[-1] + halo)
                 & (xs >= xa + cols[0] - halo) & (xs <= xa + cols[-1] + halo))
    # The halo never crosses the cut before the change (the kept head's ground and its neighbours stay).
    start = r.cut_before.model_copy(update={"x_base": r.cut_before.x_base - 1})
    hole &= ~ndimage.binary_dilation(ink & ~after_head, iterations=1) & right_of(start) & (xs < r.end_x + halo)
    full = np.zeros((h, w), bool)
    full[y0:y1, xa:xb] = hole
    plate = Draft(np.zeros((1, 1), np.float32), None, f.fg, f.bg,
                  np.zeros((1, 1), np.float32) if effect else None, effect.colour if effect else (0, 0, 0))
    fill = background_plate(image, full, plate)[y0:y1, xa:xb]
    orig = win.astype(np.float32)
    fill = fill + _grain(orig, ink | hole, s.seed)
    ground = orig.copy()
    ground[hole] = fill[hole]
    # The moving text, composited again dx further: each pixel's ink share a over its own ground
    # (the fill) goes over the ground it lands on; solid ink (and an outline or shadow) is copied
    # as it is. A textured ground stays the ground where the text lands, not the texture it left.
    fg = np.asarray(f.fg, np.float32)
    axis = fg - fill
    a = np.clip(((orig - fill) * axis).sum(-1) / np.maximum((axis * axis).sum(-1), 1.0), 0, 1)
    a[a < FAINT_INK] = 0
    src = ((a > 0) | layer_ink) & moving
    copied = src & ((a >= SOLID_INK) | layer_ink)
    dst, dst_copied, a_dst = _shifted(src, r.dx), _shifted(copied, r.dx), _shifted(a, r.dx)[..., None]
    out = ground.copy()
    out[dst] = (a_dst * fg + (1 - a_dst) * ground)[dst]
    out[dst_copied] = _shifted(orig, r.dx)[dst_copied]
    # The new characters, in the face, size, weight, blur, slant, colour and effect of the word.
    new_mid = plan.new_word[r.head : len(plan.new_word) - r.tail]
    size = max(6, round(r.size * s.size_scale))
    font = registry.font(f.face, size)
    slant = 0.0 if is_italic(f.face) else f.slant
    cov = np.zeros(out.shape[:2], np.float32)
    for i, c in enumerate(new_mid):
        if c.isspace():
            continue
        pen = GlyphPen(size, r.pen_x + r.tracking * font.getlength(new_mid[:i]) - xa, r.baseline - y0)
        glyph, _ = place_glyph(registry, f.face, c, c, pen, cov.shape, slant, s.shift, "left", f.weight)
        cov = np.maximum(cov, glyph)
    if f.blur > 0:
        cov = ndimage.gaussian_filter(cov, f.blur)
    layer = effect.layer(cov) if effect else None
    drawn = Draft(cov, ink_box(cov), f.fg, f.bg, layer, effect.colour if effect else (0, 0, 0))
    out = drawn.paint(out)
    new_ink = (cov > 0.01) | ((layer > 0.01) if layer is not None else False)
    changed = hole | dst | new_ink
    result = image.copy()
    region = result[y0:y1, xa:xb]
    region[changed] = np.clip(np.round(out[changed]), 0, 255).astype(np.uint8)
    drawn_mask = np.zeros((h, w), bool)
    drawn_mask[y0:y1, xa:xb] = (hole & ~dst) | new_ink
    box = ink_box(changed.astype(np.float32))
    change_box = (box[0] + xa, box[1] + y0, box[2] + xa, box[3] + y0) if box else plan.word_box
    word_box = None
    for j, b in enumerate(plan.char_boxes):
        if b is None:
            continue
        if j < r.head:
            word_box = union(word_box, b)
        elif j >= len(plan.word) - r.tail:
            word_box = union(word_box, (b[0] + r.dx, b[1], b[2] + r.dx, b[3]))
    drawn_box = ink_box(cov)
    if drawn_box is not None:
        word_box = union(word_box, (drawn_box[0] + xa, drawn_box[1] + y0, drawn_box[2] + xa, drawn_box[3] + y0))
    return Reflowed(result, drawn_mask, change_box, word_box or plan.word_box)


GRAIN_SIGMA = 1.5  # px: what a Gaussian this wide smooths away is the ground's grain
MIN_GRAIN = 1.5  # grey levels: finer grain than this is left out


def _grain(pixels: np.ndarray, text: np.ndarray, seed: int) -> np.ndarray:
    """Noise as grainy as the ground's (its high frequencies, measured away from the text), for the
    filled hole: an inpainted fill is smooth, and a smooth patch on a grainy ground (sensor noise,
    paper) shows as a blot (and is read as one). One value per pixel for all channels, as a
    sensor's luminance noise; the attempt's seed makes it repeatable."""
    known = ~ndimage.binary_dilation(text, iterations=2)
    if known.sum() < 50:
        return np.zeros_like(pixels)
    high = pixels - ndimage.gaussian_filter(pixels, (GRAIN_SIGMA, GRAIN_SIGMA, 0))
    std = high[known].std(0)
    if float(std.max()) < MIN_GRAIN:
        return np.zeros_like(pixels)
    # A smoothed copy loses some of the grain's variance; white noise at the measured high-pass
    # level would be too faint by that much, so it is scaled up by the ratio measured on noise itself.
    rng = np.random.default_rng(seed)
    white = rng.normal(0.0, 1.0, pixels.shape[:2]).astype(np.float32)
    kept = float((white - ndimage.gaussian_filter(white, GRAIN_SIGMA)).std())
    return white[..., None] * (std / max(kept, 1e-3))[None, None, :]


def _shifted(a: np.ndarray, dx: int) -> np.ndarray:
    """a moved dx columns right (left when negative); what comes in is zero."""
    out = np.zeros_like(a)
    if abs(dx) >= a.shape[1]:
        return out
    if dx >= 0:
        out[:, dx:] = a[:, : a.shape[1] - dx]
    else:
        out[:, :dx] = a[:, -dx:]
    return out




def kept_intact(before: np.ndarray, after: np.ndarray, plan: EditPlan) -> bool:
    """Whether the text the edit kept is there, unchanged: the ink left of the cut before the change
    where it was, and the ink after the change (up to the run's end) dx further (strokes compared,
    above half coverage)."""
    r, f = plan.reflow, plan.font
    y0, y1 = r.band
    w = before.shape[1]
    ys, xs = np.arange(y0, y1)[:, None], np.arange(w)[None, :]

    def right_of(c: Cut) -> np.ndarray:
        return xs >= c.x_base + c.lean * (r.baseline - ys)

    ink_before = observed_ink(before[y0:y1], f.fg, f.bg, f.effect)
    ink_after = observed_ink(after[y0:y1], f.fg, f.bg, f.effect)
    head = ~right_of(r.cut_before) & (xs >= plan.word_box[0] - (plan.word_box[3] - plan.word_box[1]))
    moving = right_of(r.cut_after) & (xs < r.end_x)
    for where, now in ((head, ink_after), (moving, _shifted(ink_after, -r.dx))):
        # Only a stroke that went (or came) counts, not an edge a moved ground shaded differently.
        lost = (ink_before > STRONG) & (now < FAINT) & where
        gained = (now > STRONG) & (ink_before < FAINT) & where
        if (lost | gained).sum() > max(3, KEPT_TOLERANCE * ((ink_before > STRONG) & where).sum()):
            return False
    return True
