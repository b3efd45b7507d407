"""Find text in an image and one tight box per character.

Per-character boxes come from the ink itself: the line's ink is separated from its background by
colour distance, un-slanted, and cut into characters at the column-profile minima closest to where
a rendered reference of the same text puts the character boundaries (a dynamic programme keeps the
cuts in order). It works on dotted, multicoloured and slanted text, not only on clean renders.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
from scipy import ndimage

from tools.fonts import FontRegistry, fit_face, ink_colour, kmeans, on_blend, render_text
from tools.images import rgb
from tools.mask import Box
from tools.metrics import edit_distance
from tools.ocr import TextLine
from tools.text import confusable, lower, squeeze, squeeze_indexed


@dataclass
class LineInk:
    """The ink of one text line, in image coordinates of the region it was taken from."""

    region: Box  # the image region (x0, y0, x1, y1) the arrays below cover
    coverage: np.ndarray  # float32 in [0, 1]: how much of each pixel is text
    fg: tuple[int, int, int]  # typical text colour
    bg: tuple[int, int, int]  # typical background colour
    slant: float  # dx per dy of the strokes (positive leans right going up)


def _otsu(values: np.ndarray) -> float:
    hist, edges = np.histogram(values, bins=64)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres) / np.maximum(w0, 1)
    m1 = (np.sum(hist * centres) - np.cumsum(hist * centres)) / np.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2
    return float(centres[int(np.argmax(between))])


def _kmeans(px: np.ndarray, k: int, iters: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic k-means on colours, seeded at luminance quantiles."""
    lum = px.mean(1)
    order = np.argsort(lum)
    return kmeans(px, np.stack([px[order[int((i + 0.5) / k * (len(px) - 1))]] for i in range(k)]), iters)


def _coverage(crop: np.ndarray, bg: np.ndarray, fg: np.ndarray, blends_only: bool = True) -> np.ndarray:
    """Soft text coverage: where each pixel lies between the background and the text colour (only
    pixels that are blends of the two, with blends_only: see tools.fonts.on_blend)."""
    axis = fg - bg
    denom = float((axis**2).sum()) or 1.0
    t = ((crop - bg) @ axis) / denom
    cov = np.clip(t * 1.25 - 0.1, 0, 1)
    return (cov * on_blend(crop - bg, t, axis) if blends_only else cov).astype(np.float32)


SAME_COLOUR = 25.0  # RGB distance below which two colours count as one (noise, compression)


# Sensor noise (MAD of the residual off a 3x3 median, in 8-bit levels): the bundled and held-out
# photos and scans measure 0-3 (1.48 a level), the synthetic suite's noisy words 1.5-12 (median 7.4),
# its other words 0. Past NOISE_SIGMA a crop may be smoothed before its ink is separated: a noisy
# pink-on-maroon word's speckles made every face fit badly (best IoU 0.29, a mono face), and the
# plan drew an M from a thin condensed italic; smoothed (QUIET_BLUR), its own face fitted at 0.66.
# Smoothing every noisy crop moved thin faces to bolder ones (FreeMono to Nimbus Mono, SourceSerif
# to FreeSerif Bold: 3 synthetic edits lost strict, 3 gained); a 3x3 median instead lost 5. The plan
# smooths only where no face fits the raw ink (agent.plan.POOR_FIT).
NOISE_SIGMA = 4.0
QUIET_BLUR = 0.8  # px, Gaussian sigma: under a stroke's half width at the sizes text is read


def noise_sigma(pixels: np.ndarray) -> float:
    """The pixels' noise level: the robust spread (MAD x 1.4826) of their residual off a 3x3 median."""
    c = pixels.astype(np.float32)
    r = c - ndimage.median_filter(c, size=(3, 3, 1) if c.ndim == 3 else (3, 3))
    return float(1.4826 * np.median(np.abs(r - np.median(r))))


def noisy(pixels: np.ndarray) -> bool:
    return noise_sigma(pixels) > NOISE_SIGMA


def quieted(crop: np.ndarray) -> np.ndarray:
    """The crop smoothed when it is noisy (past NOISE_SIGMA, see there), else as it is."""
    if not noisy(crop):
        return crop
    return ndimage.gaussian_filter(crop, (QUIET_BLUR, QUIET_BLUR, 0) if crop.ndim == 3 else QUIET_BLUR)


FRAME_SHORT = 2  # px: a frame's side may stop this short of the line's crop at one end (a rounded corner)
KEPT_BY_REFINING = 0.7  # the text colour refined on the line's ink must keep this share of its columns (else it is one colour of several)


def line_ink(
    image: np.ndarray, box: Box, text: str | None = None, registry: FontRegistry | None = None, margin: float = 0.25,
    trim: bool = False, quiet: bool = False,
) -> LineInk:
    """Separate text from background around a detected line box (grown by margin x its height).

    Several hypotheses of which colour is text are tried (far from the border colour; each k-means
    cluster; local contrast); with the text known, the one whose line components best match its
    character count, and whose ink best overlaps a rendering of the text (given a registry), wins.
    trim: each hypothesis's ink is kept only near the letters' solid cores (trim_to_cores).
    quiet: a noisy crop is smoothed first (quieted).
    """
    h_img, w_img = image.shape[:2]
    x0, y0, x1, y1 = box
    lh = y1 - y0
    mx, my = int(round(margin * lh)), int(round(0.15 * lh))
    rx0, ry0, rx1, ry1 = max(0, x0 - mx), max(0, y0 - my), min(w_img, x1 + mx), min(h_img, y1 + my)
    crop = image[ry0:ry1, rx0:rx1].astype(np.float32)
    if quiet:
        crop = quieted(crop)
    border = np.concatenate([crop[0], crop[-1], crop[:, 0], crop[:, -1]])
    bg = np.median(border, axis=0)
    dist = np.sqrt(((crop - bg) ** 2).sum(-1))
    thr = max(_otsu(dist), 20.0)
    hypotheses = []
    if (dist > thr).any():
        hypotheses.append((bg, np.median(crop[dist > thr], axis=0), None))
    px = crop.reshape(-1, 3)
    sub = px[:: max(1, len(px) // 6000)]
    centres, lab = _kmeans(sub, 3)
    counts = np.bincount(lab, minlength=3)
    bgk = int(np.argmax(counts))
    for j in range(3):
        if j != bgk and counts[j] > 0 and np.abs(centres[j] - centres[bgk]).sum() > 60:
            hypotheses.append((centres[bgk], centres[j], None))
    # Local contrast (top-hat) hypotheses: text lighter / darker than its immediate surroundings,
    # which survives shadows and lighting gradients across the line.
    lum = crop.mean(-1)
    k = max(3, int(round(0.3 * lh)))
    for tophat in (lum - ndimage.grey_opening(lum, size=(k, k)), ndimage.grey_closing(lum, size=(k, k)) - lum):
        scale = float(np.percentile(tophat, 99))
        if scale > 20:
            cov = np.clip(tophat / (0.6 * scale), 0, 1)
            hypotheses.append((np.median(crop[cov < 0.1], axis=0), np.median(crop[cov > 0.5], axis=0), cov))
    best = None
    n_chars = len([c for c in text if not c.isspace()]) if text else None
    # Text is the strongest contrast around its own line: a split far weaker than the strongest
    # one on offer is the background's own shading (a gradient's halves, texture), not the ink.
    strongest = max((float(np.sqrt(((f - b) ** 2).sum())) for b, f, _ in hypotheses), default=0.0)
    for hbg, hfg, given in hypotheses:
        if float(np.sqrt(((hfg - bg) ** 2).sum())) < SAME_COLOUR:
            continue  # "text" the colour of the background around the line: the gaps between letters
        # Hypotheses compete on every pixel's projection: a wrong one (a sign's dark letter edges
        # for its white letters) takes the other colours' pixels in part and scores badly; set to
        # blends only, it kept a clean thin ink and won (the bundled Greenstead sign).
        cov = _coverage(crop, hbg, hfg, blends_only=False) if given is None else given
        if trim:
            cov = trim_to_cores(cov, lh)
        keep, n_comp = _line_components(cov > 0.5, y0 - ry0, y1 - ry0, text)
        cov = cov * keep
        score = abs(n_comp - n_chars) / max(1, n_chars) if n_chars else 0.0
        if registry is not None and text and text.strip():
            score -= 0.5 * fit_face(registry, registry.by_name["DejaVuSans"], text, cov)[0]
        # Ties go to the stronger contrast; the border-distance hypothesis (first, it also catches
        # multicoloured text) gets a head start.
        contrast = float(np.sqrt(((hfg - hbg) ** 2).sum()))
        score -= 0.3 * contrast / 441.0 + (0.1 if best is None else 0.0)
        if contrast < 0.4 * strongest:
            score += 0.5
        score += min(UNEVEN_CAP, UNEVEN_INK * max(0.0, _ink_spread(crop, cov) - ONE_COLOUR_SPREAD) / max(contrast, 1.0))
        if best is None or score < best[0]:
            best = (score, cov, hfg, hbg, keep if given is None else None)
    if best is None:
        cov, fg = np.zeros(dist.shape, np.float32), bg
        hbg = bg
    else:
        _, cov, fg, hbg, keep = best
        if keep is not None:  # the chosen colours' ink, blends of them only (a top-hat's is its own)
            cov = _blend_ink(crop, hbg, fg, keep, lh if trim else None)
        if keep is not None and (refined := ink_colour(crop, fg, hbg, keep > 0)) is not None:
            narrowed = _blend_ink(crop, hbg, refined, keep, lh if trim else None)
            # One colour of text in several loses whole characters, so columns: a terminal's teal
            # "26.4" and white "%" refined to the white (26% of the columns), and the five
            # characters were cut inside the "%". (Refining away a textured ground's pixels round
            # the letters keeps their columns: 92% in a synthetic case; its pixels, only 51%.)
            if (narrowed > 0.5).any(0).sum() >= KEPT_BY_REFINING * (cov > 0.5).any(0).sum():
                fg, cov = refined, narrowed
    # A neighbour's letter that the crop's side cuts through (where that side is inside the image)
    # is not this line's: the margin is there for letters the detector's box cut short.
    cov = _without_cut_neighbours(cov, x0 - rx0, x1 - rx0, rx0 > 0, rx1 < w_img)
    return LineInk((rx0, ry0, rx1, ry1), cov, rgb(fg), rgb(hbg), estimate_slant(cov))


# Text is drawn in one colour; a wrong hypothesis's "ink" is the ground's other colours, which vary. The
# spread of the solid ink's colours (_ink_spread) past what one colour shows in a photo or a JPEG
# (ONE_COLOUR_SPREAD), over the contrast, is added to a hypothesis's score UNEVEN_INK times, at most
# UNEVEN_CAP. On the unseen suite's photos, mint "Paris closed" over a dark street lost to the street's
# dark (the mint's spread 0, contrast 239, against the street's 25, contrast 241), and yellow "sale"
# over a blue sign's blurred white letters lost to the letters (0 of 269 against 28 of 143): they
# need weights over 1.4 and 0.7. A real photo's one-coloured letters spread 10-13 (the held-out
# kiosk's dark "Admission" on grey, every hypothesis; counted whole, the spread turned a close call
# and the e of the "Free" before it was taken in). The cap (the contrast term's own greatest weight)
# keeps right ink that truly varies (a gradient inside the letters, two colours of text) in the
# running against a hypothesis that is only a little better on the other terms.
UNEVEN_INK = 2.0
ONE_COLOUR_SPREAD = 15.0
UNEVEN_CAP = 0.3
SOLID = 0.9  # coverage at which a pixel is the text's own colour (trim_to_cores's core; 0.8 of the way along the projection)
SOLID_SHARE = 0.25  # ... where fewer of the ink's pixels than this share (or 20) are so solid, the ink's own spread is measured


def _ink_spread(crop: np.ndarray, cov: np.ndarray) -> float:
    """The median RGB distance of the solid ink's pixels from their own median colour (0 where there is
    no ink). From their own, not the hypothesis's: a k-means centre lies a few levels off the text's
    colour (the ground's pixels pull it), and every pixel of the text would count that (unseen-0-0067's
    magenta "$45" over a gradient: its cluster's centre 11 levels off, and the line's ink was taken in
    the gradient's other colour, which cut the "5" away)."""
    solid = crop[cov >= SOLID]
    if len(solid) < max(20, SOLID_SHARE * int((cov > 0.5).sum())):  # thin strokes, or ink that is all blend
        solid = crop[cov > 0.5]
    return float(np.median(np.sqrt(((solid - np.median(solid, axis=0)) ** 2).sum(-1)))) if len(solid) else 0.0


BLEND_KEEPS = 0.7  # a piece of ink keeping under this share of its projected ink as blends is text of another colour


def _blend_ink(crop: np.ndarray, bg: np.ndarray, fg: np.ndarray, keep: np.ndarray, trimmed_to: int | None) -> np.ndarray:
    """The line's ink in these colours (within `keep`, cut to the letters' cores of a line trimmed_to
    px tall if given): blends of the two only, piece by piece. A piece of ink that keeps under
    BLEND_KEEPS of its projected ink as blends is text of another colour (a terminal's white "%"
    after teal digits, alternate letters in red and blue) and keeps its projection, soft rim included."""
    plain, blended = _coverage(crop, bg, fg, blends_only=False), _coverage(crop, bg, fg)
    if trimmed_to is not None:
        plain, blended = trim_to_cores(plain, trimmed_to), trim_to_cores(blended, trimmed_to)
    plain, blended = plain * keep, blended * keep
    labels, n = ndimage.label(plain > 0.5)
    if n == 0:
        return blended
    index = np.arange(1, n + 1)
    other = index[ndimage.sum(blended, labels, index) < BLEND_KEEPS * ndimage.sum(plain, labels, index)]
    rim = ndimage.binary_dilation(np.isin(labels, other), iterations=2)
    return np.where(rim, plain, blended).astype(np.float32)


def _without_cut_neighbours(cov: np.ndarray, left: int, right: int, cut_left: bool, cut_right: bool) -> np.ndarray:
    """The coverage without the components that the crop's left or right edge cuts and that lie
    mostly (three quarters of their ink) past the detected box's side there: a neighbouring word's
    letter ("$45 Monday": the M's stem was cut as the 5); and without those wholly past a side: the
    recogniser read the box, so no character of the line's text is drawn there (a book page's "g
    that Clark", its g's bowl whole in the margin: the g took the t's box, each box slid one letter,
    and the edit of Clark's a repainted its l). `left`/`right`: the box's sides in crop columns;
    `cut_left`/`cut_right`: whether the crop's side there lies inside the image (at the image's edge
    it cuts nothing; ink wholly past the box's side is still not the line's). A texture cell joined
    to a letter of the line leaves that letter's ink inside the box, and stays."""
    w = cov.shape[1]
    lab, n = ndimage.label(cov > 0.5)
    if n == 0:
        return cov
    index = np.arange(1, n + 1)
    area = np.asarray(ndimage.sum(cov > 0.5, lab, index), np.float32)
    lo, hi = max(0, left), min(w, right)
    inside = np.asarray(ndimage.sum(cov[:, lo:hi] > 0.5, lab[:, lo:hi], index), np.float32)
    objs = ndimage.find_objects(lab)
    cut = np.array([(cut_left and o[1].start == 0) or (cut_right and o[1].stop == w) for o in objs])
    drop = (cut & (inside < 0.25 * area)) | (inside == 0)
    if not drop.any():
        return cov
    # the component's anti-aliased rim (below 0.5) goes with it
    gone = ndimage.binary_dilation(np.isin(lab, index[drop]), iterations=1)
    return np.where(gone, 0.0, cov).astype(np.float32)


def trim_to_cores(cov: np.ndarray, line_height: int) -> np.ndarray:
    """Ink only near the letters' solid cores: a texture's cells in a colour close to the text's
    touch the letters and join their components, but they stay fainter than the strokes and reach
    farther from them than a stroke's anti-aliased edge does. (Thin anti-aliased strokes have no
    solid core either: callers keep this only where a font fits it clearly better.)"""
    lab, n = ndimage.label(cov > 0.5)
    if n == 0:
        return cov
    peak = np.asarray(ndimage.maximum(cov, lab, index=np.arange(1, n + 1)), np.float32)
    # A component far fainter than the line's strongest ink (a texture cell) has no core of its own.
    level = np.maximum(peak, 0.85 * float(peak.max()))
    core = (lab > 0) & (cov >= 0.9 * np.concatenate([[np.inf], level])[lab])
    reach = max(2.0, 0.08 * line_height)
    return cov * (ndimage.distance_transform_edt(~core) <= reach)


LETTER_OF_MEDIAN = 0.6  # x the median letter height: an x-height letter beside capitals and ascenders is about 0.7
# An underline, against the median letter height mh: no thicker than UNDERLINE_THICK x mh (a rule is
# about a twelfth of the face's size; a letter's bar as thin is never as long), at least UNDERLINE_LONG
# x mh long (an em dash, the longest single stroke of a letter, is about 1.2 x a capital's height:
# it is told apart by where it lies too), its top at least UNDERLINE_BELOW x mh below the letters'
# middle (a letter's foot sits at 0.5; an underline starts past it).
UNDERLINE_THICK, UNDERLINE_THICK_MIN, UNDERLINE_LONG, UNDERLINE_BELOW = 0.15, 3, 1.5, 0.4


def _line_components(ink: np.ndarray, top: int, bottom: int, text: str | None = None) -> tuple[np.ndarray, int]:
    """The pixels of the components that form the text line: fit a line through the centres of
    the letter-sized components (the baseline may tilt) and drop components far from it
    (neighbouring lines, frames, stripes). Returns the kept pixels and how many letter-like column
    groups they form (the dots of a dotted letter share its columns and count once)."""
    h, w = ink.shape
    lh = max(4, bottom - top)
    lab, n = ndimage.label(ink)
    if n == 0:
        return np.zeros_like(ink, dtype=np.float32), 0
    objs = ndimage.find_objects(lab)
    x0s = np.array([o[1].start for o in objs])
    x1s = np.array([o[1].stop for o in objs])
    y0s = np.array([o[0].start for o in objs])
    y1s = np.array([o[0].stop for o in objs])
    cx = (x0s + x1s) / 2
    cy = (y0s + y1s) / 2
    hh = (y1s - y0s).astype(np.float32)
    area = np.asarray(ndimage.sum(ink, lab, index=np.arange(1, n + 1)), np.float32)
    # Border-touching bands that span much more than a letter are frames or stripes, not text.
    band = ((y0s == 0) | (y1s == h)) & (x1s - x0s > 3 * lh)
    # ... and ink through the whole crop, above and below the line, is a frame's side or a rule: no
    # letter of the line reaches past the detector's box at both ends (a parking sign's border
    # either side of PARKING was cut as its P and G, and the new B drawn over the border; a rounded
    # corner joins the side to the frame's bottom, and stops a row or two short of the crop's top).
    # (only where the crop has a margin round the box to tell it by: a line cut at the image's edge has none)
    post = ((y0s == 0) | (y1s == h)) & (y1s - y0s >= h - FRAME_SHORT) & (y0s < top) & (y1s > bottom)
    post &= min(top, h - bottom) > FRAME_SHORT
    keep = (cy >= top) & (cy <= bottom) & ~band & ~post & (area >= 2)
    big = keep & (hh >= 0.3 * lh)
    letter_h = 0.3 * lh
    if big.sum() >= 3:
        # The fit starts from the letters wholly inside the detector's box where there are enough:
        # a book page's box round "interested in exploring how" took in the top of the next line,
        # "of New Yorkers", whose letters the box cuts; fitted through both lines' centres, the
        # line ran between them and kept both, and the letters of "New" were cut as "interested"'s.
        inside = big & (y0s >= top - 1) & (y1s <= bottom + 1)
        sel = inside if inside.sum() >= 3 else big.copy()
        for _ in range(3):
            a, b = np.polyfit(cx[sel], cy[sel], 1, w=np.sqrt(area[sel]))
            mh = float(np.median(hh[sel]))
            resid = np.abs(cy - (a * cx + b))
            new_sel = big & (resid < 0.5 * mh)
            if new_sel.sum() < 3 or (new_sel == sel).all():
                break
            sel = new_sel
        keep = keep & (resid < 0.9 * mh) & (hh < 2.5 * mh)
        # An underline is not a letter: a thin run longer than any letter's stroke, below the
        # letters' middle (a form's underlined "Phone:" was cut and fitted with its rule as a floor
        # under every column, no gap between letters left, and the word's box took the whole line).
        # A dash lies on the middle, a strike-through across it: they stay.
        underline = ((hh <= max(UNDERLINE_THICK_MIN, UNDERLINE_THICK * mh)) & (x1s - x0s >= UNDERLINE_LONG * mh)
                     & (y0s >= a * cx + b + UNDERLINE_BELOW * mh))
        # (a form's blank "______" is characters the recogniser read; a single "_" is most often an
        # underline read as one: fresh2's form read "EMail:_")
        if "__" not in (text or ""):
            keep &= ~underline
        # A tilted line's box is taller than its letters: a letter is measured against the letters'
        # own median too (a kiosk's slanted "Admission.": its box 48 px tall for 14-20 px letters,
        # the final n, 14 px, was taken for a speck past the last letter, and the s added over it).
        letter_h = min(letter_h, LETTER_OF_MEDIAN * mh)
    # Specks of texture or noise: tiny components away from the letters' span. A thin anti-aliased
    # letter falls apart into short pieces at this threshold: short pieces that join up across
    # one-pixel gaps into something letter-sized count as a letter too (else a word's broken first
    # letter is lost). Half the line's height, not 0.3: specks joined up are not a letter.
    letters = keep & (hh >= letter_h)
    pieces = keep & ~letters
    if pieces.any():
        joined, _ = ndimage.label(ndimage.binary_dilation(np.isin(lab, np.nonzero(pieces)[0] + 1), np.ones((3, 3), bool)))
        group = np.array([joined[o][lab[o] == i + 1][0] if pieces[i] else 0 for i, o in enumerate(objs)])
        for g in np.unique(group[pieces]):
            members = group == g
            tall = y1s[members].max() - y0s[members].min() >= 0.5 * lh
            if tall and x1s[members].max() - x0s[members].min() <= 1.5 * lh:
                letters |= members
    # Letters of a smaller size than the detector's box: a poster's "SALE today only" (64 and 30 px)
    # has a box as tall as the capitals, and the serif's final "y", 20 px, fell under 0.3 of it,
    # counted as a speck past the last letter and was dropped ("only" -> "onto" drew no y). A piece
    # is a letter too where it is as tall as LETTER_OF_MEDIAN x the letters a line height either
    # side of it (half the letter threshold at the least: specks stay specks).
    full_size = letters.copy()
    for i in np.nonzero(keep & ~letters & (hh >= 0.5 * letter_h))[0]:
        near = full_size & (np.abs(cx - cx[i]) <= lh)
        if near.any() and hh[i] >= LETTER_OF_MEDIAN * float(np.median(hh[near])):
            letters[i] = True
    if letters.any():
        lo, hi = x0s[letters].min() - 0.3 * lh, x1s[letters].max() + 0.3 * lh
        keep &= (area >= 0.02 * np.median(area[letters])) & (x1s >= lo) & (x0s <= hi)
        # Nothing stands beyond the outer letters unless the text starts/ends with punctuation.
        t = (text or "").strip()
        if t and t[0].isalnum():
            keep &= x1s > x0s[letters].min()
        if t and t[-1].isalnum():
            keep &= x0s < x1s[letters].max()
    kept = np.concatenate([[False], keep])[lab]
    # Letter-like groups: kept components merged where their columns overlap.
    groups, last_end = 0, -1
    for i in np.argsort(x0s):
        if not keep[i]:
            continue
        if x0s[i] >= last_end - 0.3 * (x1s[i] - x0s[i]):
            groups += 1
        last_end = max(last_end, x1s[i])
    return ndimage.binary_dilation(kept, iterations=1).astype(np.float32), groups


def estimate_slant(ink: np.ndarray) -> float:
    """The shear (dx per dy) that makes the column profile sharpest, i.e. the strokes most vertical."""
    h, w = ink.shape
    if h == 0 or w == 0 or ink.sum() == 0:
        return 0.0
    upright = float((_sheared_profile(ink, 0.0) ** 2).sum())
    best, best_s = upright, 0.0
    for s in np.linspace(-0.35, 0.35, 15):
        sharp = float((_sheared_profile(ink, s) ** 2).sum())
        if sharp > best:
            best, best_s = sharp, float(s)
    # Upright unless a shear is clearly sharper (serifs and round letters make small gains noise).
    return best_s if best > 1.03 * upright else 0.0


def _sheared_x(h: int, w: int, s: float) -> np.ndarray:
    """Column of each pixel after removing a shear s around the middle row (strokes become vertical)."""
    ys = np.arange(h, dtype=np.float32)[:, None] - h / 2
    return np.arange(w, dtype=np.float32)[None, :] + s * ys


def _sheared_profile(ink: np.ndarray, s: float) -> np.ndarray:
    h, w = ink.shape
    cols = np.round(_sheared_x(h, w, s) + h).astype(int)
    prof = np.zeros(w + 2 * h + 2, np.float32)
    np.add.at(prof, cols.ravel(), ink.ravel())
    return prof


def _reference_boxes(registry: FontRegistry, face: str, text: str) -> list[Box | None]:
    """Each character's ink box in the face at REFERENCE_SIZE px, the text set on one line."""
    font = registry.font(face, REFERENCE_SIZE)
    width = int(font.getlength(text)) + 4 * REFERENCE_SIZE
    return render_text(font, text, (width, 3 * REFERENCE_SIZE), (REFERENCE_SIZE, 2 * REFERENCE_SIZE)).boxes


REFERENCE_SIZE = 64  # px: the face's layout drawn large enough that rounding moves its gaps by under 1%


def _reference_gaps(registry: FontRegistry, face: str, text: str) -> tuple[list[int], np.ndarray]:
    """Indices of inked characters and the normalised x of each gap between consecutive ones."""
    ref = _reference_boxes(registry, face, text)
    idx = [i for i, b in enumerate(ref) if b is not None]
    if not idx:
        return [], np.zeros(0)
    partings, span = _partings([ref[i] for i in idx])
    return idx, np.clip(np.array([x / span for x in partings], np.float32), 0, 1)


def _partings(drawn: list[Box]) -> tuple[list[float], int]:
    """Where the face parts each pair of consecutive glyphs (midway between one's ink end and the
    next one's start), in px from the first glyph's ink start, and the glyphs' ink span (at least 1)."""
    left = drawn[0][0]
    return [(a[2] + b[0]) / 2 - left for a, b in zip(drawn, drawn[1:], strict=False)], max(1, drawn[-1][2] - left)


GAP_INK = 0.02  # a column with less ink than this share of the fullest one is a gap (a scan's specks); the
#                 hairline joining a scanned u's stems is 3% (at 5% a cut went through it)
INK_CUT = 0.15  # what a cut through a stroke costs besides its ink: as much as moving it half a character (0.6 x 0.5^2)
#                 toward a gap (0.1 still cut the scan's "poulpes" through a hairline; 0.25 lost 2 of the locate
#                 benchmark's 1,026 characters, 0.15 none: python -m agent.evals.bench_locate --n 200 --seed 0)


def _cut(profile: np.ndarray, expected: np.ndarray, char_w: float, need_ink: bool = True, stroke_cost: float = INK_CUT) -> list[int]:
    """Choose ordered cut columns near the expected ones where the profile is lowest (DP).
    stroke_cost: what a cut through ink costs besides the ink (INK_CUT; none for italic letters,
    which interlock: no blank column parts them, and a cut through a thin join is where they meet).
    need_ink: every segment (before the first cut, between two, after the last) holds an inked
    column: two cuts in one blank gap gave a character nothing (a sign's "NOTICE", its I a narrow
    stem between two gaps in a face whose T reaches the I: both cuts fell in the gap after the I,
    and the T's box took the I). Without a way to do that, the cuts as near as they can be."""
    n = len(expected)
    if n == 0:
        return []
    W = len(profile)
    p = profile / max(1e-6, float(profile.max()))
    xs = np.arange(W, dtype=np.float32)
    min_gap = max(1, int(0.2 * char_w))
    # A cut through any stroke costs more than the stroke's weight: a serif face's hairlines weigh
    # little, and the cheapest cuts ran through them 9 px from the true gaps when the face's
    # layout drifted (a scan's "poulpes": the p's box took the l's top, the l was erased).
    through = p + stroke_cost * (p > GAP_INK)
    cost = np.stack([through + 0.6 * ((xs - e) / max(char_w, 1.0)) ** 2 for e in expected])  # n x W
    xs_idx = np.arange(W)
    # inked[x]: the inked columns before column x; a cut at x may follow one at most at limit[x]
    inked = np.concatenate([[0], np.cumsum(profile > 0)])
    limit = xs_idx - min_gap
    if need_ink:
        limit = np.minimum(limit, np.searchsorted(inked, inked[:W] - 1, side="right") - 1)
    total = cost[0] + np.where(inked[:W] >= 1 if need_ink else True, 0.0, np.inf)
    back = np.zeros((n, W), dtype=np.int64)
    for k in range(1, n):
        # best previous cut at or before limit: a running minimum and where it was reached
        run_min = np.minimum.accumulate(total)
        run_arg = np.maximum.accumulate(np.where(total == run_min, xs_idx, 0))
        ok = limit >= 0
        prev = np.where(ok, run_min[np.clip(limit, 0, W - 1)], np.inf)
        total = prev + cost[k]
        back[k] = np.where(ok, run_arg[np.clip(limit, 0, W - 1)], 0)
    if need_ink:
        total = total + np.where(inked[W] - inked[:W] >= 1, 0.0, np.inf)
        if not np.isfinite(total).any():
            return _cut(profile, expected, char_w, need_ink=False, stroke_cost=stroke_cost)
    cuts = [int(np.argmin(total))]
    for k in range(n - 1, 0, -1):
        cuts.append(int(back[k][cuts[-1]]))
    return cuts[::-1]


def char_boxes(registry: FontRegistry, ink: LineInk, text: str, face: str = "DejaVuSans",
               centres: dict[int, float] | None = None) -> list[Box | None]:
    """One tight ink box per character of text (None for spaces), in image coordinates.
    centres: where each character's middle lies (image x, by its index in text), when the face's
    layout cannot say where its letters part (a face that fits the ink poorly): the cuts are
    looked for between them instead."""
    cov = ink.coverage
    h, w = cov.shape
    idx, gaps = _reference_gaps(registry, face, text)
    boxes: list[Box | None] = [None] * len(text)
    if not idx or cov.sum() == 0:
        return boxes
    sx = _sheared_x(h, w, ink.slant)
    on = cov > 0.5
    if (marks := _unread_marks(cov, text[idx[0]].isalnum(), text[idx[-1]].isalnum(), len(idx))) is not None:
        cov = np.where(marks, 0.0, cov)
        on &= ~marks
    xs_on = sx[on]
    if len(xs_on) == 0:
        return boxes
    left, right = float(xs_on.min()), float(xs_on.max()) + 1
    prof = np.zeros(int(np.ceil(right - left)) + 1, np.float32)
    np.add.at(prof, np.clip(np.round(sx[on] - left).astype(int), 0, len(prof) - 1), cov[on])
    span = right - left
    char_w = span / max(1, len(idx))
    rx0, ry0 = ink.region[0], ink.region[1]
    if (pieces := _one_piece_each(on, len(idx), char_w)) is not None:
        for i, (x0, y0, x1, y1) in zip(idx, pieces, strict=True):
            boxes[i] = (x0 + rx0, y0 + ry0, x1 + rx0, y1 + ry0)
        return boxes
    upright = ink.slant == 0 and not registry.is_italic(face)
    # (italic text interlocks: a cut through a thin join moved off it, an italic Z's box took the a's stem)
    expected = gaps * span
    if centres is not None and all(i in centres for i in idx):
        middles = np.array([centres[i] for i in idx], np.float32) - ink.region[0] - left
        expected = np.clip((middles[:-1] + middles[1:]) / 2, 0, span)
    cuts = _cut(prof, expected, char_w, stroke_cost=INK_CUT if upright else 0.0)
    edges = [-1e9] + [c + left for c in cuts] + [1e9]
    ys, xs = np.nonzero(on)
    col = sx[on]
    # Each pixel goes to the segment its column falls in, except that a connected component lying
    # mostly (>= 70%) in one segment goes there whole: a j's hook tucked under the k before it.
    seg = np.searchsorted(np.asarray(edges[1:-1]), col, side="right")
    lab, n = ndimage.label(on)
    comp = lab[on]
    if n:
        counts = np.zeros((n + 1, len(idx)), np.int64)
        np.add.at(counts, (comp, seg), 1)
        share = counts.max(1) / np.maximum(1, counts.sum(1))
        major = counts.argmax(1)
        # (a component much wider than a character holds several touching ones: split it by column)
        cmin = np.full(n + 1, np.inf)
        cmax = np.full(n + 1, -np.inf)
        np.minimum.at(cmin, comp, col)
        np.maximum.at(cmax, comp, col)
        whole = (share >= 0.7) & (cmax - cmin <= 1.2 * char_w)
        by_column = seg
        seg = np.where(whole[comp], major[comp], seg)
        for k in set(range(len(idx))) - set(np.unique(seg).tolist()):  # never empty a character
            seg = np.where(by_column == k, k, seg)
    for k, i in enumerate(idx):
        sel = seg == k
        if not sel.any():
            continue
        boxes[i] = (int(xs[sel].min()) + rx0, int(ys[sel].min()) + ry0, int(xs[sel].max()) + 1 + rx0, int(ys[sel].max()) + 1 + ry0)
    if upright:
        _one_piece_per_letter_of_word(registry, face, lab, text, boxes, (rx0, ry0))
    return boxes


WORD_PIECE_WIDTH = 1.5  # x the face's own width of the letter (scaled to the word): a wider piece is two touching letters
PIECE_SLACK = 2  # px on a piece's width: a letter's antialiased edge, and a width rounded to pixels
GROUPING_MARGIN = 0.05  # squared log width ratio: the best sharing of pieces among letters beats the next by this
#                         much (one piece 25% off its letters' width) or the pieces are not taken
SPLIT_WINDOW = 0.35  # x the narrower letter's width: how far from the face's parting a shared piece is cut
SPLIT_MEMBER = 0.25  # x the largest part's area: a shared piece with two parts this big is two glyphs (a dot is smaller)
MAX_SHARED_WORD = 30  # letters: a longer word (a URL) is not searched for touching letters (the search grows as its length cubed)
MAX_SHARED = 3  # letters more than pieces: more touching pairs than this in one word, and its pieces are not read


def _one_piece_per_letter_of_word(registry: FontRegistry, face: str, labels: np.ndarray, text: str,
                                  boxes: list[Box | None], origin: tuple[int, int]) -> None:
    """Where the cut of a whole line left a word whose letters are separate pieces of ink, each
    piece is its letter's box (in place). A long line's cut follows the matched face's layout, and
    where that face is not the image's it drifts: at the end of a 1,000 px line in labelled boxes,
    a dark theme's "Wharton" had its W cut in two, each letter's box slid one on, and the re-set
    word was drawn over the old one. One word's pieces count its letters whatever the face.
    Pieces sharing columns are one letter's (an i's dot), and pieces wholly below the letters'
    baseline are none (_above_baseline). The pieces are taken only where they are the letters':
    blank columns part the word's span from its neighbours' ink; no piece is wider than its
    letter in the face (WORD_PIECE_WIDTH: else it holds two touching ones). Where the pieces lie
    is not checked against the face's layout: that face is not the image's, and a sign's "Walk",
    its W far wider than the matched face's, put the l's piece nearest the face's k (a letter
    broken in two and two touching ones elsewhere would count the same, and slide the pieces
    between them a letter; the width bound refuses most such pairs).
    Fewer pieces than letters: touching letters (a joined "ft") share a piece. Which letters share
    which piece is read from the pieces' widths (_letters_per_piece), and a shared piece is cut
    between its letters where its ink is thinnest near the face's own parting: a console
    screen's "Software", its "ft" one piece, in a face fitting it poorly (0.21), was cut at the
    face's layout over the whole word, the o's box took the f, the w's lost its left half, and
    "Hardware" was drawn over half a w (read "Hardvare").
    labels: the line's ink, its pieces labelled (ndimage.label)."""
    found = ndimage.find_objects(labels)
    spans = sorted((sl[1].start, sl[0].start, sl[1].stop, sl[0].stop, k + 1) for k, sl in enumerate(found) if sl is not None)
    rx0, ry0 = origin
    fixed_pitch = face in registry.by_name and registry.by_name[face].category == "mono"
    for run in re.finditer(r"\S{2,}", text):
        start, word = run.start(), run.group()
        placed = [b for b in boxes[start : run.end()] if b is not None]
        if len(placed) < len(word):
            continue
        x0, x1 = min(b[0] for b in placed) - rx0, max(b[2] for b in placed) - rx0
        inside = [b for b in spans if x0 <= (b[0] + b[2]) / 2 < x1]
        if not inside:
            continue
        left, right = min(b[0] for b in inside), max(b[2] for b in inside)
        others = [b for b in spans if b not in inside]
        if any(b[0] < right and b[2] > left for b in others):
            continue  # another word's ink shares the span's columns: no blank column parts them
        pieces: list[list[int]] = []
        members: list[list[int]] = []
        for b in _above_baseline(inside):
            last = pieces[-1] if pieces else None
            if last is not None and min(last[2], b[2]) - max(last[0], b[0]) > PIECE_OVERLAP * min(last[2] - last[0], b[2] - b[0]):
                last[:] = [min(last[0], b[0]), min(last[1], b[1]), max(last[2], b[2]), max(last[3], b[3])]
                members[-1].append(b[4])
            else:
                pieces.append(list(b[:4]))
                members.append([b[4]])
        drawn = [b for b in _reference_boxes(registry, face, word) if b is not None]
        if len(drawn) != len(word) or not 2 <= len(pieces) <= len(word):
            continue
        if len(pieces) < len(word) and (fixed_pitch or not _set_apart(pieces, others)):
            continue  # (a fixed-pitch face draws an f, a t and a w alike wide: its widths cannot say which touch)
        scale = (pieces[-1][2] - pieces[0][0]) / max(1, drawn[-1][2] - drawn[0][0])
        groups = _letters_per_piece([p[2] - p[0] for p in pieces], drawn, scale)
        if groups is None:
            continue
        letter_boxes: list[Box] = []
        for piece, ids, (first, stop) in zip(pieces, members, groups, strict=True):
            if stop - first == 1:
                letter_boxes.append((piece[0], piece[1], piece[2], piece[3]))
                continue
            mine = np.isin(labels, ids)
            areas = np.bincount(labels[mine])[ids]
            if (areas >= SPLIT_MEMBER * areas.max()).sum() > 1:
                break  # (separate glyphs whose columns overlap, a kerned "To": not one piece to cut)
            parts = _split_piece(mine, drawn[first:stop])
            if parts is None:
                break
            letter_boxes += parts
        else:
            for k, (px0, py0, px1, py1) in enumerate(letter_boxes):
                boxes[start + k] = (px0 + rx0, py0 + ry0, px1 + rx0, py1 + ry0)


def _set_apart(pieces: list[list[int]], others: list[tuple[int, int, int, int, int]]) -> bool:
    """Whether the line's other ink stands farther from the word's pieces than they stand from
    each other: the spaces round the word are wider than any gap between its letters. A word with
    touching letters is taken to hold fewer pieces than letters only then: a long line's cut that
    drifted by two letters put "Attenti" where "Attention" was, and its pieces, one fewer than
    the word's letters, were shared out among all nine."""
    inner = max((b[0] - a[2] for a, b in zip(pieces, pieces[1:], strict=False)), default=0)
    before = [pieces[0][0] - o[2] for o in others if o[2] <= pieces[0][0]]
    after = [o[0] - pieces[-1][2] for o in others if o[0] >= pieces[-1][2]]
    return all(min(gaps) > inner for gaps in (before, after) if gaps)


def _letters_per_piece(widths: list[int], drawn: list[Box], scale: float) -> list[tuple[int, int]] | None:
    """Which letters each piece of ink holds (first, last + 1), in order, each piece at least one:
    the sharing whose pieces are as wide as their letters are in the face, scaled to the word
    (least squared log ratio), taken only where every piece is within WORD_PIECE_WIDTH of its
    letters' width (PIECE_SLACK px aside; as many pieces as letters, only not wider, as before) and
    the next best sharing is clearly worse (GROUPING_MARGIN): two ways of sharing the pieces that
    fit alike say nothing of which is right. At most MAX_SHARED letters more than pieces. None
    otherwise."""
    n_p, n_l = len(widths), len(drawn)
    if n_l - n_p > MAX_SHARED or (n_p < n_l and n_l > MAX_SHARED_WORD):
        return None

    def want(a: int, b: int) -> float:  # letters a..b-1's width in the face, scaled to the word
        return (drawn[b - 1][2] - drawn[a][0]) * scale

    @functools.cache
    def fit(p: int, a: int, b: int) -> float:
        return math.log((widths[p] + PIECE_SLACK) / (want(a, b) + PIECE_SLACK)) ** 2

    scored = []
    for inner in itertools.combinations(range(1, n_l), n_p - 1):
        edges = (0, *inner, n_l)
        groups = list(zip(edges, edges[1:], strict=False))
        scored.append((sum(fit(p, a, b) for p, (a, b) in enumerate(groups)), groups))
    scored.sort(key=lambda c: c[0])
    cost, groups = scored[0]
    for p, (a, b) in enumerate(groups):
        if widths[p] > WORD_PIECE_WIDTH * want(a, b) + PIECE_SLACK:
            return None
        if n_p < n_l and widths[p] < want(a, b) / WORD_PIECE_WIDTH - PIECE_SLACK:
            # (a piece too narrow for its letters: a letter broken in two, a JPEG's "xlvu", its u in two
            # pieces and its x and l joined, had the l given to the v's piece, and the j drawn there)
            return None
    if len(scored) > 1 and scored[1][0] - cost < GROUPING_MARGIN:
        return None
    return groups


def _split_piece(ink: np.ndarray, drawn: list[Box]) -> list[Box] | None:
    """The boxes of the letters that share one piece of ink (drawn: their boxes in the face): each
    parting at the piece's thinnest column within SPLIT_WINDOW of the narrower letter's width of
    where the face parts them (its layout scaled to the piece). Unbounded, the thinnest column of a
    joined "ft" was the f's crossbar left of its stem, and the f's box was 2 px wide."""
    ys, xs = np.nonzero(ink)
    if len(xs) == 0:
        return None
    left = int(xs.min())
    profile = np.bincount(xs - left).astype(np.float32)
    span = len(profile)
    offsets, face_span = _partings(drawn)
    unit = span / face_span
    edges = [0]
    for offset, a, b in zip(offsets, drawn, drawn[1:], strict=False):
        parting = offset * unit
        reach = SPLIT_WINDOW * min(a[2] - a[0], b[2] - b[0]) * unit
        lo, hi = max(edges[-1] + 1, int(np.floor(parting - reach))), min(span - 1, int(np.ceil(parting + reach)))
        if lo > hi:
            return None
        window = np.arange(lo, hi + 1)
        edges.append(int(window[np.argmin(profile[lo : hi + 1] + 1e-3 * np.abs(window - parting))]))
    edges.append(span)
    parts: list[Box] = []
    for c0, c1 in zip(edges, edges[1:], strict=False):
        sel = (xs - left >= c0) & (xs - left < c1)
        if not sel.any():
            return None
        parts.append((int(xs[sel].min()), int(ys[sel].min()), int(xs[sel].max()) + 1, int(ys[sel].max()) + 1))
    return parts


PIECE_OVERLAP = 0.3  # neighbouring pieces sharing more of the narrower one's columns are one glyph's (an i's dot)


PieceT = TypeVar("PieceT", bound=tuple[int, ...])


def _above_baseline(boxes: list[PieceT]) -> list[PieceT]:
    """The pieces not wholly below the letters' baseline (the median bottom of the pieces at least
    half the tallest's height): the screw under a sign's "TIMES" made eleven pieces of ten letters,
    and the cut gave the M's box to the E."""
    tall = max(b[3] - b[1] for b in boxes)
    baseline = float(np.median([b[3] for b in boxes if b[3] - b[1] >= 0.5 * tall]))
    return [b for b in boxes if b[1] < baseline]


def _one_piece_each(on: np.ndarray, n: int, char_w: float) -> list[Box] | None:
    """The boxes of the ink's separate pieces, left to right, where there is exactly one per
    character (pieces wholly below the baseline aside): each no wider than 1.5 characters and
    overlapping its neighbours' columns by less than PIECE_OVERLAP (not a dot over its stem). A
    condensed sign's letters matched to a monospaced face were cut at the face's equal advances:
    the O split in two, the P's bowl given to the A."""
    labels, count = ndimage.label(on)
    if count < n or n < 2:
        return None
    found = sorted(ndimage.find_objects(labels), key=lambda sl: (sl[1].start, sl[1].stop))
    boxes = [(sl[1].start, sl[0].start, sl[1].stop, sl[0].stop) for sl in found]
    boxes = _above_baseline(boxes)
    if len(boxes) != n or any(b[2] - b[0] > 1.5 * char_w for b in boxes):
        return None
    for a, b in zip(boxes, boxes[1:], strict=False):
        if min(a[2], b[2]) - max(a[0], b[0]) > PIECE_OVERLAP * min(a[2] - a[0], b[2] - b[0]):
            return None
    return boxes


MARK_WIDTH = 0.5  # x a character's mean width: a mark is narrower than this (and an "i" or "l", which cross the letters' middle)
MARK_PIECE = 0.15  # coverage: a mark's piece is found on ink this faint, so that a thin stroke broken at 0.5 (an r's arm) stays its letter's
MARK_MIN = 2  # px: a mark is at least this tall and wide (a speck of noise is none)


def _unread_marks(cov: np.ndarray, letter_first: bool, letter_last: bool, n: int) -> np.ndarray | None:
    """The ink of punctuation the reading lacks at an end of the text (None: none): a piece
    (on faint ink too: MARK_PIECE) past a blank column after every other piece, at an end the
    text has a letter or digit, narrow (MARK_WIDTH of the pieces' mean width per character) and
    wholly below the letters' middle row (a comma, a full stop) or above it (a quote), where every
    letter crosses it (the middle of the other pieces' median top and bottom). A Courier letter's
    "Bellevue," was read "Bellevue": the cut spread eight letters over the comma too, gave the e's
    box to it, and "Seattle" set anew lost its e ("Seattl,")."""
    labels, count = ndimage.label(cov > MARK_PIECE)
    if count < 2:
        return None
    width = cov.shape[1]
    pieces = [(sl[1].start, sl[0].start, sl[1].stop, sl[0].stop) for sl in ndimage.find_objects(labels)]
    marks = np.zeros(cov.shape, bool)
    # The last piece, and the first one as the last of the pieces mirrored left to right.
    for wanted, spans in ((letter_last, pieces), (letter_first, [(width - b[2], b[1], width - b[0], b[3]) for b in pieces])):
        k = max(range(count), key=lambda i: spans[i][2])
        piece, others = spans[k], spans[:k] + spans[k + 1 :]
        char_w = (max(b[2] for b in others) - min(b[0] for b in others)) / max(1, n)
        middle = (float(np.median([b[1] for b in others])) + float(np.median([b[3] for b in others]))) / 2
        if (wanted and piece[0] > max(b[2] for b in others) and MARK_MIN <= piece[2] - piece[0] < MARK_WIDTH * char_w
                and piece[3] - piece[1] >= MARK_MIN and (piece[1] > middle or piece[3] < middle)):
            marks |= labels == k + 1
    return marks if marks.any() else None


# ----------------------------------------------------------------------------- finding a string


@dataclass
class Occurrence:
    line: int  # index into the reading-ordered lines
    start: int  # index of the first character in the line's text
    end: int  # index after the last character
    approximate: bool = False  # the line's text there differs from find by an OCR misreading or two (I for 1, ...)


def exact(text: str) -> str:
    return text


def same_case_mostly(read: str, find: str) -> bool:
    """Whether at least half the letters of a case-insensitive match have the case the user typed:
    an all-caps word read in mixed case ("SpEED" for SPEED) is the user's word; an all-lowercase
    word elsewhere is another word (a scan's running text "histoire" is not its title HISTOIRE)."""
    # (letters only: a "0" read as "O" is not a case the user typed)
    pairs = [(r, f) for r, f in zip(squeeze_indexed(read)[0], squeeze_indexed(find)[0], strict=False) if r.isalpha() and f.isalpha()]
    return not pairs or 2 * sum(r.isupper() == f.isupper() for r, f in pairs) >= len(pairs)


def titled_capitals(read: str, find: str) -> bool:
    """Whether an all-caps find was read as a capitalised word ("Cook" for COOK: a recogniser reads
    a word set in capitals, or a bold italic one, as Title case now and then): the user's word when
    no reading keeps more of its case (same_case_mostly decides first)."""
    letters = [c for c in find if c.isalpha()]
    first = next((c for c in read if c.isalpha()), "")
    return len(letters) >= 2 and all(c.isupper() for c in letters) and first.isupper()


def find_occurrences(lines: list[TextLine], find: str, least: int = 1) -> list[Occurrence]:
    """Every place find occurs, in reading order. Exact (case-sensitive) matches; OCR often inserts
    or drops spaces ("6, 001 , 271"), so a match that ignores spaces counts when no exact one exists;
    then one that ignores case (an all-caps sign read "SpEED"), then confusable characters, then
    a near miss (_approximate). Only exact matches are not `approximate`: for the others the user's
    spelling names the characters. A user who names the `least`-th occurrence knows there are that
    many: fewer found, the looser tiers' matches join them (a demo's label "Parachute" read exactly,
    the word crop below it "Perachuto": occurrence 2 was "not found")."""
    found = _first_tier(lines, find)
    if len(found) >= least:
        return found
    for looser in (_loose(lines, find), _approximate(lines, find)):
        found += [o for o in looser if all(o.line != f.line or o.end <= f.start or o.start >= f.end for f in found)]
    return sorted(found, key=lambda o: (o.line, o.start))


def _first_tier(lines: list[TextLine], find: str) -> list[Occurrence]:
    """find_occurrences' matches from the first tier that has any."""
    found = []
    for li, line in enumerate(lines):
        start = line.text.find(find)
        while start >= 0:
            found.append(Occurrence(li, start, start + len(find)))
            start = line.text.find(find, start + 1)
    if found:
        if not word_like(find):  # a few characters inside a number ("1" of "6,001"): every place counts
            return found
        if words := _whole_words(lines, found):
            return words
        # Found only inside longer words ("art" in "Department"): the word itself may be there,
        # misread ("ant"); a user who names a word means it, not the letters inside another.
        return _whole_words(lines, _loose(lines, find)) or _approximate(lines, find) or found
    titled: list[Occurrence] = []
    return _loose(lines, find, titled) or _approximate(lines, find) or (word_like(find) and _whole_words(lines, titled)) or titled


def find_any_case(lines: list[TextLine], find: str) -> list[Occurrence]:
    """The last resort when find_occurrences finds nothing in any reading: its looser tiers with
    the case rule dropped (same_case_mostly), the matched letters in whatever case they were read.
    A recogniser reads display capitals in lower case now and then (a store front's LITTLE read
    "@liitle]" was "not found"), and the user, who sees the image, names the word; with nothing else
    to edit, a word that is the user's but for case is the user's word. Only a word read as a line
    of its own (a title, a sign's or a logo's word, stray marks aside): one in running text is
    another word, not a misread one (a scan's running "histoire" is not the title HISTOIRE)."""
    alone = [ln if len(_words(ln.text)) == len(_words(find)) else replace(ln, text="") for ln in lines]
    return _loose(alone, find, case_blind=True) or _approximate(alone, find, case_blind=True)


def _words(text: str) -> list[str]:
    """The text's space-separated tokens that hold a letter or a digit."""
    return [t for t in text.split() if any(c.isalnum() for c in t)]


def _loose(lines: list[TextLine], find: str, titled: list[Occurrence] | None = None, case_blind: bool = False) -> list[Occurrence]:
    """Matches ignoring spaces, then also case, then confusable characters (the first tier that
    finds any), whole words first. An all-caps find read capitalised (titled_capitals) is left out,
    and put in `titled` (when given) for the caller's last resort; case_blind: neither that nor
    same_case_mostly applies (find_any_case)."""
    found: list[Occurrence] = []
    titled = [] if titled is None else titled
    for canon, misread in ((exact, False), (lower, True), (lambda t: confusable(lower(t)), True)):
        target = canon(squeeze_indexed(find)[0])
        for li, line in enumerate(lines):
            squeezed, where = squeeze_indexed(line.text)
            squeezed = canon(squeezed)
            start = squeezed.find(target)
            while start >= 0 and target:
                a, b = where[start], where[start + len(target) - 1] + 1
                if canon is not exact and not case_blind and not same_case_mostly(line.text[a:b], find):
                    if titled_capitals(line.text[a:b], find) and all((o.line, o.start) != (li, a) for o in titled):
                        titled.append(Occurrence(li, a, b, approximate=True))
                    start = squeezed.find(target, start + 1)
                    continue
                found.append(Occurrence(li, a, b, approximate=misread))
                start = squeezed.find(target, start + 1)
        if found:
            return (word_like(find) and _whole_words(lines, found)) or found
    return []


def another_number(read: str, find: str, keep: tuple[int, int] = (0, 0), sure: bool = False) -> bool:
    """Whether a misreading of find is another number: its digits where the edit changes find's
    (all but `keep`, the characters the edit keeps at find's start and end, when the reading is as
    long) are as many as find's there but not the same in order, or neither digit sequence lies
    inside the other. A digit read as a letter ("0" as "O"), a letter read as a digit, or a digit
    dropped is a misreading; so is a kept digit misread (a receipt's 200,000 read "200,034": the
    user's word names it), but not in a reading the recogniser is `sure` of. Asked for "4987" ->
    "4988" in a bank statement whose detector missed it, the row below's "4982" (read with
    confidence 1.0), 4987 through look-alikes (2 ~ Z ~ 7), was edited, and verified."""
    read, find = squeeze(read), squeeze(find)
    if len(read) == len(find) and not sure:
        read, find = read[keep[0] : len(read) - keep[1]], find[keep[0] : len(find) - keep[1]]
    got, want = [c for c in read if c.isdigit()], [c for c in find if c.isdigit()]
    if len(got) == len(want):
        return got != want
    short, long = sorted((got, want), key=len)
    rest = iter(long)
    return not all(c in rest for c in short)


def word_like(find: str) -> bool:
    """A find that names a word (three or more characters, letters among them), not a few
    characters inside one ("1" of "6,001", "001")."""
    return len(squeeze(find)) >= 3 and any(c.isalpha() for c in find)


def _whole_words(lines: list[TextLine], found: list[Occurrence]) -> list[Occurrence]:
    """The occurrences that are words, not letters inside another word: asked to replace "art" in
    "Department art river", a user means the word, not the letters in "Department" (the first
    match, which was changed and verified). One letter or digit glued to a match does not make it
    part of another word: OCR glues such characters on ("SPEEDI" for the sign's SPEED, |)."""
    def glued(text: str, i: int, step: int) -> int:
        n = 0
        while 0 <= i < len(text) and text[i].isalnum():
            n, i = n + 1, i + step
        return n

    return [o for o in found
            if glued(lines[o.line].text, o.start - 1, -1) + glued(lines[o.line].text, o.end, +1) <= 1]


def _approximate(lines: list[TextLine], find: str, case_blind: bool = False) -> list[Occurrence]:
    """Last resort: the whole words whose reading is within an edit distance of 1 (find up to 5
    characters) or 2 (longer) of find, confusable characters counting as equal. OCR drops,
    merges and misreads characters ("Harbour" read "Eabour"); the user knows what the text says.
    Case aside, as the looser tiers match: a kiosk's all-caps FIBRE read "Ribre" was "not found"
    (the letters must mostly keep the user's case, or be the capitals read as a capitalised word)."""
    plain = squeeze_indexed(find)[0]
    # (look-alikes of capitals, 8 ~ B, E ~ F, are lost in lower case: both forms, the nearer counts)
    targets = (confusable(plain), confusable(lower(plain)))
    n = len(plain)
    if n < 3:
        return []
    allowed = 1 if n <= 5 else 2
    found = []
    for li, line in enumerate(lines):
        raw, where = squeeze_indexed(line.text)
        forms = (confusable(raw), confusable(lower(raw)))
        spans = []
        for i in range(len(raw)):
            for j in range(i + max(1, n - allowed), min(len(raw), i + n + allowed) + 1):
                a, b = where[i], where[j - 1] + 1
                if (a > 0 and line.text[a - 1].isalnum()) or (b < len(line.text) and line.text[b].isalnum()):
                    continue  # only whole words: "ands" inside "hands" is not a misreading of "Hands"
                d = min(edit_distance(form[i:j], target) for form, target in zip(forms, targets, strict=True))
                # A difference of case alone is the user's word, not a misreading ("Hands" is not in "hands").
                if (d <= allowed and raw[i:j].lower() != plain.lower()
                        and (case_blind or same_case_mostly(raw[i:j], plain) or titled_capitals(raw[i:j], plain))):
                    spans.append((d, abs(j - i - n), i, j))
        # Best spans first; keep those that do not overlap a better one.
        taken: list[tuple[int, int]] = []
        for d, _, i, j in sorted(spans):
            if all(j <= a or i >= b for a, b in taken):
                taken.append((i, j))
                found.append((d, li, where[i], where[j - 1] + 1))
    if not found:
        return []
    best = min(f[0] for f in found)
    return [Occurrence(li, a, b, approximate=True) for d, li, a, b in sorted(found, key=lambda f: (f[1], f[2])) if d == best]
