"""Text effects drawn under the letters: an outline or a drop shadow in a second colour.

A repainted glyph without its outline or shadow reads right but looks pasted on, and the old
glyph's shadow left behind is a remnant. Outlined letters whose outline the colour split took for
the text (a black outline round a dark fill, a dark ring round a thin light fill) are told apart
by estimate_fill_outline. The effect is estimated once per word from the pixels
around its ink (which of a few outline widths and shadow offsets, in which colour, explains them
best) and then drawn under every new glyph, and under the neighbours' ink where a mask reaches
their shadow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import ndimage

from tools.fonts import composite, off_axis
from tools.images import rgb
from tools.inpaint import telea_fill

OUTLINE_WIDTHS = (1, 2, 3)
SHADOW_OFFSETS = tuple((d * ux, d * uy) for d in (1, 2, 3, 4) for ux, uy in ((1, 1), (1, 0), (0, 1)))
SHADOW_BLURS = (0.5, 1.0, 1.5)
SHADOW_EXPLAINS = 0.9  # share of a drop shadow's own pixels it must explain better than the ground alone
REFITS = 3  # re-measurements of an outlined word's shape from its two fitted colours
REFIT_GAIN = 0.3  # the error cut a refitted two-colour model must reach (its shape bends to the fit)


@dataclass(frozen=True)
class TextEffect:
    kind: EffectKind  # the ink grown by width px, or the ink blurred and shifted
    colour: tuple[int, int, int]  # colour of the effect layer
    width: int = 0  # outline: radius of the growth in pixels
    offset: tuple[int, int] = (0, 0)  # shadow: (dx, dy) in pixels, positive right and down
    blur: float = 0.0  # shadow: Gaussian sigma in pixels

    def layer(self, coverage: np.ndarray) -> np.ndarray:
        """Coverage of the effect layer for the given ink coverage (same shape)."""
        if self.kind == "outline":
            return ndimage.grey_dilation(coverage, size=(2 * self.width + 1, 2 * self.width + 1))
        shadow = ndimage.gaussian_filter(coverage, self.blur) if self.blur > 0 else coverage
        return ndimage.shift(shadow, (self.offset[1], self.offset[0]), order=0, mode="constant", cval=0.0)

    @property
    def reach(self) -> int:
        """How far (px) the layer can extend beyond the ink."""
        if self.kind == "outline":
            return self.width
        return max(abs(self.offset[0]), abs(self.offset[1])) + int(np.ceil(2 * self.blur))


def ink_on_axis(img: np.ndarray, fg, bg, tolerance: float = 0.25) -> np.ndarray:
    """Coverage of the pixels that are a mix of bg and fg (off that line by less than `tolerance`
    of the fg-bg distance), as the projection on it; other pixels count as no ink."""
    fg, bg = np.asarray(fg, np.float32), np.asarray(bg, np.float32)
    axis = fg - bg
    norm2 = float((axis**2).sum()) or 1.0
    t = np.clip(((img - bg) @ axis) / norm2, 0, 1)
    return np.where(off_axis(img - bg, t, axis) < tolerance * np.sqrt(norm2), t, 0).astype(np.float32)


EffectKind = Literal["outline", "shadow"]


def candidates() -> list[tuple[EffectKind, dict[str, Any]]]:
    out: list[tuple[EffectKind, dict[str, Any]]] = [("outline", {"width": w}) for w in OUTLINE_WIDTHS]
    out += [("shadow", {"offset": o, "blur": b}) for o in SHADOW_OFFSETS for b in SHADOW_BLURS]
    return out


def estimate_effect(crop: np.ndarray, fg, bg, gain: float = 0.6, min_contrast: float = 40.0, min_zone: float = 0.15) -> TextEffect | None:
    """The outline or shadow that explains the pixels around the ink of a word, or None.

    crop: HxWx3 uint8 around the word (with a margin of a few pixels); fg, bg: the text and
    background colours. The ink is the pixels on the line from bg to fg (a shadow or an outline
    mixes the background with another colour and lies off it). The background is the crop inpainted under the ink and
    everything near it; each candidate layer's colour is solved by least squares; the best
    candidate must cut the error of drawing the ink alone on that background by the factor `gain`,
    its pixels must number at least `min_zone` times the ink's, and its colour must differ from the
    background there.
    """
    img = crop.astype(np.float32)
    coverage = ink_on_axis(img, fg, bg)
    ink = coverage > 0.5
    if ink.sum() < 10:
        return None
    reach = max(max(OUTLINE_WIDTHS), max(max(abs(a), abs(b)) for a, b in SHADOW_OFFSETS) + 3)
    near = ndimage.binary_dilation(ink, iterations=reach)
    background = telea_fill(crop, near)
    fg = np.asarray(fg, np.float32)
    plain = composite(background, coverage, fg)
    base_err = float(((plain - img)[near] ** 2).sum())
    best = None
    for kind, params in candidates():
        probe = TextEffect(kind, (0, 0, 0), **params)
        layer = probe.layer(coverage) * (1 - coverage)
        zone = layer > 0.5
        if zone.sum() < max(5, min_zone * ink.sum()):
            continue
        # pixel = bg + L (c - bg) on the effect's own pixels: c by least squares over the zone.
        w = layer[zone][:, None]
        colour = (((img[zone] - background[zone] * (1 - w)) * w).sum(0) / (w**2).sum()).clip(0, 255)
        model = composite(composite(background, layer, colour), coverage, fg)
        err = float(((model - img)[near] ** 2).sum())
        if best is None or err < best[0]:
            best = (err, TextEffect(kind, rgb(np.round(colour)), **params), zone, model)
    if best is None or best[0] >= gain * base_err:
        return None
    _, effect, zone, model = best
    if effect.kind == "shadow":
        # A drop shadow is one colour under the letters: drawn, it explains nearly every pixel of its
        # own better than the ground alone does (the synthetic suite's 12: 0.92 to 1.0 of them). A
        # shadow fitted to a photo's darker band under a word explained 0.83 and 0.49 (unseen-0-0040,
        # 0078), and the new glyph's shadow repainted the photo past the edit.
        better = (((model - img) ** 2).sum(-1) < ((plain - img) ** 2).sum(-1))[zone & near]
        if better.mean() < SHADOW_EXPLAINS:
            return None
    contrast = float(np.sqrt(((np.asarray(effect.colour, np.float32) - background[zone].mean(0)) ** 2).sum()))
    return effect if contrast >= min_contrast else None


SAME_EFFECT_COLOUR = 40.0  # a half's effect colour this near the word's is the same effect (estimate_effect's contrast floor)
MIN_LETTERS = 4  # a word split in halves of two letters or more each: one letter's or a part's fit is too noisy to judge
#                  (true shadows under "to" and "I" on a grained ground failed the test in a review's probe)


def word_halves(crop: np.ndarray, fg, bg, outline: TextEffect) -> tuple[np.ndarray, np.ndarray]:
    """The word's left and right parts, split at the middle of its ink, each reaching the outline's
    width and two pixels more past the split (there its ring is drawn by the other half's letters)."""
    columns = np.cumsum((ink_on_axis(crop.astype(np.float32), fg, bg) > 0.5).sum(0))
    middle = int(np.searchsorted(columns, columns[-1] / 2))
    reach = outline.width + 2
    return np.ascontiguousarray(crop[:, : middle + reach]), np.ascontiguousarray(crop[:, max(0, middle - reach) :])


def shown_by_both_halves(crop: np.ndarray, fg, bg, effect: TextEffect, letters: int) -> bool:
    """Whether an outline found round a word is shown by its left and right halves (word_halves)
    each on their own: an outline, in a colour within SAME_EFFECT_COLOUR of it (True for a word of
    fewer than MIN_LETTERS letters: nothing to tell by). A real outline is drawn round every letter;
    on a textured ground, what explains the pixels round one part of a word as an outline is the
    ground itself (the unseen suite's blurred photos: an outline round "garden" that was the
    photo's green on one side only, its new "l" drawn white in a dark ring). A drop shadow has its
    own test (SHADOW_EXPLAINS, in estimate_effect), and a half's fit of it is too thin to add one:
    a synthetic word's true shadow failed in a half at SHADOW_EXPLAINS."""
    if effect.kind != "outline" or letters < MIN_LETTERS:
        return True
    for half in word_halves(crop, fg, bg, effect):
        found = estimate_effect(half, fg, bg)
        if found is None or found.kind != "outline":
            return False
        if float(np.linalg.norm(np.subtract(found.colour, effect.colour, dtype=np.float32))) > SAME_EFFECT_COLOUR:
            return False
    return True


MIN_FILL = 0.1  # of the text shape's solid pixels, at least this share is solid fill (outlined synthetic words: 0.31-1.0)


def estimate_fill_outline(
    crop: np.ndarray, fg, bg, gain: float = 0.45, min_contrast: float = 40.0,
) -> tuple[tuple[int, int, int], TextEffect, np.ndarray] | None:
    """Letters filled with one colour and outlined in another, where the colour split took the
    outline (or the blend of both) for the text: (fill colour, the outline, the fill's coverage),
    or None.

    The text's whole shape is what differs from the background (inpainted under it); the fill is
    that shape eroded by the outline's width. Both colours are solved by least squares; the two-
    colour model must cut the error of one colour by `gain`, give colours a real image can hold,
    and tell them apart by `min_contrast`. Blurred one-colour text also fits a little better with
    a ring (its edges are lighter): the colour test keeps that out. The fill's coverage returned
    is unmixed per pixel from the fill, the outline and the background.
    """
    img = crop.astype(np.float32)
    fg, bg = np.asarray(fg, np.float32), np.asarray(bg, np.float32)
    span = float(np.linalg.norm(fg - bg)) or 1.0
    near = ndimage.binary_dilation(ink_on_axis(img, fg, bg) > 0.5, iterations=4)
    if near.sum() < 20:
        return None
    plate = telea_fill(np.ascontiguousarray(crop), near)
    shape = np.where(near, np.clip(np.linalg.norm(img - plate, axis=-1) / span, 0, 1), 0).astype(np.float32)
    zone = ndimage.binary_dilation(shape > 0.3, iterations=1)
    target = (img - plate * (1 - shape[..., None]))[zone]
    _, one_colour = _least_squares(shape[zone][:, None], target)
    best = None
    for width in OUTLINE_WIDTHS:
        fit = _ring_fit(img, plate, shape, zone, width)
        if fit[3].sum() >= 0.15 * shape.sum() and (best is None or fit[0] < best[0]):
            best = fit
    if best is None:
        return None
    if not _holds(best, one_colour, gain, (-25, 280)):
        # The shape was measured against the colour split's contrast; a fill nearer the background
        # than the outline (cream letters in a thin black ring on a busy ground) differs from the
        # plate by less, so it came out as half covered and its colour was pushed past white to
        # make up. Measure the shape again as how much of the two fitted colours each pixel holds,
        # and fit again. The shape now bends to the fit, so the fit must cut the error further.
        best = _refit(img, plate, near, zone, best)
        if not _holds(best, one_colour, REFIT_GAIN, (-40, 295)):
            return None
    _, width, (outline, fill_colour), fill = best
    if np.linalg.norm(outline - fill_colour) < min_contrast:
        return None
    # A blurred edge is a mix of fill and background: a "ring" colour between the two (on the line
    # from one to the other, short of the fill) is that, not an outline. (A black outline round a
    # dark fill lies near that line too, but at or past the fill's end.)
    axis = fill_colour - bg
    t = float((outline - bg) @ axis) / (float(axis @ axis) or 1.0)
    off_line = float(np.linalg.norm(outline - bg - t * axis))
    if 0 < t < 0.9 and off_line < 0.15 * float(np.linalg.norm(axis)):
        return None
    # The shape is measured against the outline's contrast: a fill nearer the background reads as
    # partial coverage there, and least squares pushes its colour away to make up. Where the fill
    # has a body (pixels a pixel past the ring), those pixels say its colour and what full
    # coverage is; thin strokes have none, and there the least squares colour stands.
    solid = fill > 0.5 * fill.max()
    core = ndimage.binary_erosion(solid, iterations=1)
    if core.sum() >= max(10, 0.25 * solid.sum()):
        fill_colour = np.median(img[core], axis=0)
    fill = np.where(near, _unmix(img, plate, outline, fill_colour)[1], 0).astype(np.float32)
    if (fill > 0.5).sum() < MIN_FILL * (shape > 0.5).sum():
        # A "fill" that covers next to no pixel fully is not the letters': dark text on a light
        # green highlight (an OCR demo's result figure) came out as a green fill in a dark ring,
        # with no pixel over half, and no face could be fitted to it (ValueError, no plan).
        return None
    return (rgb(np.clip(np.round(fill_colour), 0, 255)), TextEffect("outline", rgb(np.clip(np.round(outline), 0, 255)), width=width),
            fill)


def _holds(fit, one_colour_err: float, gain: float, colour_range: tuple[float, float]) -> bool:
    """The two-colour fit (err, width, colours, fill) cuts one colour's error by `gain` with colours
    a real image can hold (least squares strays a little past black and white on thin rings)."""
    err, _, colours, _ = fit
    return err < gain * one_colour_err and bool(((colour_range[0] <= colours) & (colours <= colour_range[1])).all())


def _ring_fit(img: np.ndarray, plate: np.ndarray, shape: np.ndarray, zone: np.ndarray, width: int):
    """(err, width, (outline, fill) colours, fill coverage): the shape's ring of `width` px in one
    colour round its eroded fill in another, over the plate, solved by least squares on the zone."""
    fill = ndimage.grey_erosion(shape, size=(2 * width + 1, 2 * width + 1))
    target = (img - plate * (1 - shape[..., None]))[zone]
    colours, err = _least_squares(np.stack([(shape - fill)[zone], fill[zone]], 1), target)
    return err, width, colours, fill


def _refit(img: np.ndarray, plate: np.ndarray, near: np.ndarray, zone: np.ndarray, fit):
    """The two-colour fit again with the shape unmixed from its colours, while the error falls."""
    for _ in range(REFITS):
        _, width, (outline, fill_colour), _ = fit
        first, second = _unmix(img, plate, np.clip(outline, 0, 255), np.clip(fill_colour, 0, 255))
        shape = np.where(near, np.clip(first + second, 0, 1), 0).astype(np.float32)
        refit = _ring_fit(img, plate, shape, zone, width)
        if refit[0] >= fit[0]:
            break
        fit = refit
    return fit


def _unmix(img: np.ndarray, plate: np.ndarray, first, second) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, how much of each colour lies over the background plate (least squares on
    img - plate = a (first - plate) + b (second - plate)), each clipped to [0, 1]."""
    u, v, d = first - plate, second - plate, img - plate
    uu, vv, uv = (u * u).sum(-1), (v * v).sum(-1), (u * v).sum(-1)
    ud, vd = (u * d).sum(-1), (v * d).sum(-1)
    det = np.maximum(uu * vv - uv * uv, 1e-6)
    return np.clip((vv * ud - uv * vd) / det, 0, 1), np.clip((uu * vd - uv * ud) / det, 0, 1)


def _least_squares(a: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    solution, *_ = np.linalg.lstsq(a, y, rcond=None)
    return solution, float(((a @ solution - y) ** 2).sum())
