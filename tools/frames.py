"""Annotation frames: rectangles drawn round words (an OCR tool's word boxes, a labelling tool's
frames, a reviewer's red box), found so that reading and repainting can look through them.

The recogniser reads a frame's sides as letters: Textract-style boxes round every word made
"CITY SUN HANDS STORE" read "CITYIISUNHANDSIISTORE" (the boxed suite, agent/evals/boxed.py), and
a verified-right "SANXS" was refused for reading "[SANXS]". Each phantom letter also takes a
glyph's box when the line is cut, so the edit lands a letter off.

A frame here is a closed rectangle of thin sides (1 to MAX_SIDE px) in one colour (a colour,
not black or grey: MIN_CHROMA; those are a table's rules, which letters touch): its top and
bottom are runs of that colour along rows (at least MIN_SIDE px long) with the same ends, and its
left and right sides are columns of that colour joining them. Letters do not close such a
rectangle ("E" has no right side, "O" no corners), so text is not taken for one. A side shared
by two frames that touch, and an upright side inside a frame where word boxes abut, are taken too.

Outlines drawn round words by a text detector's visualisation (a polygon or a turned box, in a
vivid colour such as PGNet's and DRRG's cyan, often thicker than MAX_SIDE) are not rectangles:
`find_outlines` finds them as thin straight strokes of one vivid hue that stand out from the ground on
both sides, two of them roughly parallel in one piece (a box's top and bottom), longer than they
lie apart (a ground's own vivid bars pass too, a barrier's rails: they are laid back as frames
are). `lift_outlines` replaces them with the nearest pixel off them.

`lift(image, frames)` is the image as a reader sees it through the frames: each side's pixels
replaced by the ground just inside the frame. The image itself is never edited there: an edit is
painted on the lifted image and the frames are laid back over it (agent/graph.py). Not found
(yet): sides thicker than MAX_SIDE, boxes with a translucent fill's soft edge, frames drawn in
black or grey (MIN_CHROMA), a frame whose top or bottom lies on the image's edge (a bar needs a
row either side).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

MIN_CHROMA = 60  # max - min of a frame's RGB: annotation tools draw in colour; a grey or black rectangle is a
#                  table's cell, its text touching the rules (a scan's balance sheet lost the feet of its letters)
MAX_SIDE = 4  # px: the thickest side taken (annotation tools draw 1-3 px; a table's rules are as thin)
MIN_SIDE = 10  # px: the shortest side (a box round a two-letter word at 12 px is about 14 px wide)
SAME = 60.0  # summed |RGB| difference within which two pixels are one colour (JPEG and antialiasing)
APART = 90.0  # ... beyond which a side stands out from what lies either side of it
CLOSED = 0.85  # share of a side's length that must be in the frame's colour (text touching it breaks the rest)
ENDS = 2  # px: how far the ends of a frame's top and bottom may differ
TEXT_INSIDE = 0.03  # share of a frame's inside that stands out from its ground: it holds text (a letter's counter, none)
RING = 3  # px inside a frame whose pixels are its ground (bar a letter touching it)
EDGE_REACH = 2  # px past a frame's sides where pixels near its colour are its own too
OWN_COLOUR_INSIDE = 0.45  # the most of a frame's inside in its own colour (text as dark as a black box: about a third)
# Outlines (find_outlines). A DRRG figure's cyan quads round "BANK" on a dark sign were taken for the
# text's ink (cyan is bright on the text's dark-to-white axis): the face fitted at IoU 0.13, and
# the sides were read "W" and ")".
VIVID_SATURATION, VIVID_VALUE = 150, 120  # of 255 (OpenCV's HSV): annotation tools draw in pure colours
HUE_BIN = 10  # of OpenCV's 180 hue steps (20 degrees), bins overlapping by half: a stroke's own hue drifts a few steps
OUTLINE_SIDE = 8  # px: about the thickest outline stroke (DRRG's cyan sides measure 7 to 8): a run of the hue that an
#                   (OUTLINE_SIDE + 2) px square fits in is a patch, not a stroke
OUTLINE_LENGTH = 30  # px: the shortest straight stroke taken (about a short word's box side)
ALONG_STROKE = 0.9  # share of a straight stroke's pixels that must be in its hue
STEADY_STROKE = 0.8  # ... within SAME of its median colour (a JPEG's drawn line drifts)
CLEAR = 0.7  # ... standing out from both sides (_stands_out; where a letter touches the line, it does not)
PARALLEL = 10.0  # degrees within which two strokes of one outline count as its top and bottom
OUTLINE_GAP = 8  # px: the least distance between them (a letter's stem is one stroke, not two)
OUTLINE_ASPECT = 1.5  # ... and they are longer than this x that distance (a word's box is wider than tall)
ENCLOSES = 1.2  # x its own area: the least ground an outline closes round (6 px quads round "BANK" and "RAFIDAIN" close 1.6 and 1.8 x; an E, nothing)


def _bars(img: np.ndarray) -> list[tuple[int, int, int, int, np.ndarray]]:
    """Horizontal bars: (y, thickness, x0, x1, colour) of runs at least MIN_SIDE long of rows
    1..MAX_SIDE thick in one colour, standing out from the row above and the row below them."""
    h, w = img.shape[:2]
    found = []
    taken = np.zeros((h, w), bool)
    # apart[k][y]: how far row y+k's colour is from row y's, per column (each computed once)
    apart = {k: np.abs(img[k:] - img[:-k]).sum(-1, dtype=np.int32) for k in range(1, MAX_SIDE + 1) if k < h}
    for t in range(1, MAX_SIDE + 1):
        if h < t + 2:
            break
        # index y: a bar in rows y+1 .. y+t, row y above it and row y+t+1 below it
        bar = (apart[1][: h - t - 1] > APART) & (apart[1][t : h - 1] > APART)
        for k in range(1, t):
            bar &= apart[k][1 : h - t] <= SAME
        for y in np.nonzero(bar.any(1))[0]:
            row = bar[y]
            edges = np.diff(np.concatenate([[0], row.view(np.int8), [0]]))
            for x0, x1 in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0], strict=True):
                if x1 - x0 < MIN_SIDE or taken[y + 1, x0:x1].all():
                    continue
                found.append((int(y + 1), t, int(x0), int(x1), np.median(img[y + 1, x0:x1], axis=0)))
                taken[y + 1 : y + 1 + t, x0:x1] = True
    return found


def _in_colour(pixels: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Which pixels are the colour (within SAME)."""
    return np.abs(pixels - colour).sum(-1) <= SAME


def _side(img: np.ndarray, cols: slice, rows: slice, colour: np.ndarray) -> np.ndarray | None:
    """The columns (absolute x) among `cols` that are in the colour in at least CLOSED of `rows`
    (a side is straight: a letter's round bowl has no such column), or None."""
    strip = img[rows, cols]
    if not strip.size:
        return None
    share = _in_colour(strip, colour).mean(0)
    found = np.nonzero(share >= CLOSED)[0]
    return found + (cols.start or 0) if len(found) else None


CORNER_GAP = 2 * MAX_SIDE  # rows below a bar within which its sides must begin (_side lets 15% of a side's rows miss)


def _turns_down(img: np.ndarray, y: int, x: int, colour: np.ndarray) -> bool:
    """Whether a side in the colour may go down from a bar's end (row y is the one below the bar,
    x its end): a pixel of the colour in the CORNER_GAP rows below, as far either way as _side's
    columns reach (ENDS + MAX_SIDE + 1 px). A page of ruled lines (red rules with the same ends,
    none joined by sides) paired every rule with every rule below it and searched for sides
    between them: 6.5 s on a 3000 px square page (a page ruled into a coloured grid still does)."""
    reach = ENDS + MAX_SIDE + 1
    block = img[y : y + CORNER_GAP, max(0, x - reach) : x + reach + 1]
    return bool(block.size and _in_colour(block, colour).any())


def _stands_out(img: np.ndarray, xs: np.ndarray, ys: np.ndarray, normal: np.ndarray, colour: np.ndarray) -> float:
    """The share of a stroke's samples (xs, ys) whose colour stands out (APART) from the pixels
    OUTLINE_SIDE + 2 px away on both sides and from their mean: a drawn line's, not an edge's
    between two grounds (its antialiased colour lies between theirs)."""
    h, w = img.shape[:2]
    reach = OUTLINE_SIDE + 2
    inside = np.ones(len(xs), bool)
    sides = []
    for sign in (1, -1):
        sx, sy = np.round(xs + sign * reach * normal[0]).astype(int), np.round(ys + sign * reach * normal[1]).astype(int)
        inside &= (sx >= 0) & (sx < w) & (sy >= 0) & (sy < h)
        sides.append(img[np.clip(sy, 0, h - 1), np.clip(sx, 0, w - 1)].astype(np.float32))
    a, b = sides
    apart = ((np.abs(a - colour).sum(-1) > APART) & (np.abs(b - colour).sum(-1) > APART)
             & (np.abs((a + b) / 2 - colour).sum(-1) > APART))
    return float(apart[inside].mean()) if inside.any() else 0.0


def _outline_pair(strokes: list[tuple[int, int, int, int]]) -> bool:
    """Whether two of the strokes are an outline's top and bottom: within PARALLEL degrees of each
    other, at least OUTLINE_GAP apart, and both longer than OUTLINE_ASPECT x that distance."""
    for i, (ax0, ay0, ax1, ay1) in enumerate(strokes):
        la = float(np.hypot(ax1 - ax0, ay1 - ay0))
        ta = np.arctan2(ay1 - ay0, ax1 - ax0)
        nx, ny = -(ay1 - ay0) / la, (ax1 - ax0) / la
        for bx0, by0, bx1, by1 in strokes[i + 1 :]:
            lb = float(np.hypot(bx1 - bx0, by1 - by0))
            turn = abs((ta - np.arctan2(by1 - by0, bx1 - bx0) + np.pi / 2) % np.pi - np.pi / 2)
            gap = abs(((bx0 + bx1) / 2 - ax0) * nx + ((by0 + by1) / 2 - ay0) * ny)
            if np.degrees(turn) <= PARALLEL and gap >= OUTLINE_GAP and min(la, lb) >= OUTLINE_ASPECT * gap:
                return True
    return False


def _encloses(piece: np.ndarray) -> bool:
    """Whether a piece of stroke (a mask cut to its box) closes round ground at least ENCLOSES x its
    own area (a box round a word does; a letter's counter is no larger than its strokes, and an E
    closes nothing)."""
    area = int(piece.sum())
    return int(ndimage.binary_fill_holes(piece).sum()) - area >= ENCLOSES * area


def find_outlines(image: np.ndarray, frames: np.ndarray | None = None) -> np.ndarray:
    """The pixels of outlines drawn round words in a vivid colour (bool, HxW; see the module's
    notes), grown a pixel for their antialiased edges; not those of the closed rectangles found
    already (`frames`: lifted from inside, they keep their ground; a Textract form's olive boxes)."""
    import cv2  # (easyocr's own dependency; loaded only where outlines are looked for)

    if image.ndim != 3 or image.shape[2] < 3:
        return np.zeros(image.shape[:2], bool)
    img = image[..., :3]  # (sampled where strokes lie, not copied: a 12-megapixel copy in int16 is 72 MB per edit)
    hsv = cv2.cvtColor(np.ascontiguousarray(img, dtype=np.uint8), cv2.COLOR_RGB2HSV)
    hue = np.ascontiguousarray(hsv[..., 0])
    vivid = cv2.inRange(hsv, (0, VIVID_SATURATION, VIVID_VALUE), (180, 255, 255))
    mask = np.zeros(img.shape[:2], bool)
    patch = np.ones((OUTLINE_SIDE + 2, OUTLINE_SIDE + 2), np.uint8)
    # (OpenCV's own histogram and ranges: a 12-megapixel poster's blue ground is all vivid, and
    # numpy's modular arithmetic on its pixels, bin by bin, took seconds)
    counts = cv2.calcHist([hue], [0], vivid, [180], [0, 180]).ravel()
    for start in range(0, 180, HUE_BIN // 2):
        if counts[np.arange(start, start + HUE_BIN) % 180].sum() < OUTLINE_LENGTH:
            continue
        in_hue = cv2.inRange(hue, start, min(179, start + HUE_BIN - 1))
        if start + HUE_BIN > 180:
            in_hue = cv2.bitwise_or(in_hue, cv2.inRange(hue, 0, start + HUE_BIN - 181))
        in_hue = cv2.bitwise_and(in_hue, vivid)
        # (worked in the box round the hue's pixels: a phone photo's vivid pixels are few)
        left, top, width, height = cv2.boundingRect(in_hue)
        in_hue = (in_hue[top : top + height, left : left + width] > 0).astype(np.uint8)
        thin = (in_hue & ~cv2.morphologyEx(in_hue, cv2.MORPH_OPEN, patch).astype(bool)).astype(np.uint8)
        found = cv2.HoughLinesP(thin * 255, 1, np.pi / 180, threshold=OUTLINE_LENGTH, minLineLength=OUTLINE_LENGTH, maxLineGap=2)
        if found is None:
            continue
        labels, _ = ndimage.label(thin, np.ones((3, 3), bool))
        strokes: dict[int, list[tuple[int, int, int, int]]] = {}
        for x0, y0, x1, y1 in found.reshape(-1, 4).tolist():
            n = max(abs(x1 - x0), abs(y1 - y0)) + 1
            xs, ys = np.round(np.linspace(x0, x1, n)).astype(int), np.round(np.linspace(y0, y1, n)).astype(int)
            on = thin[ys, xs] > 0
            if on.mean() < ALONG_STROKE:
                continue
            line = img[ys[on] + top, xs[on] + left].astype(np.int16)
            colour = np.median(line, 0)
            if (np.abs(line - colour).sum(-1) <= SAME).mean() < STEADY_STROKE:
                continue
            normal = np.array([y1 - y0, -(x1 - x0)], np.float32) / np.hypot(x1 - x0, y1 - y0)
            if _stands_out(img, xs + left, ys + top, normal, colour) < CLEAR:
                continue
            piece = int(np.bincount(labels[ys[on], xs[on]]).argmax())
            if piece:
                strokes.setdefault(piece, []).append((x0, y0, x1, y1))
        area = (slice(top, top + in_hue.shape[0]), slice(left, left + in_hue.shape[1]))
        taken = frames[area] if frames is not None else np.zeros(in_hue.shape, bool)
        boxes = ndimage.find_objects(labels)
        outlined = [piece for piece, s in strokes.items()
                    if _outline_pair(s) and _encloses(labels[boxes[piece - 1]] == piece)
                    and not taken[boxes[piece - 1]][labels[boxes[piece - 1]] == piece].any()]
        if outlined:
            mask[area] |= np.isin(labels, outlined)
    return ndimage.binary_dilation(mask) if mask.any() else mask


def find_frames(image: np.ndarray) -> np.ndarray:
    """The pixels of the closed rectangles drawn on the image (bool, HxW), see the module's notes."""
    if image.ndim != 3 or image.shape[2] < 3:  # (a grey picture has no frame in a colour)
        return np.zeros(image.shape[:2], bool)
    img = image[..., :3].astype(np.int16)
    h, w = img.shape[:2]
    mask = np.zeros((h, w), bool)
    found: list[tuple] = []  # (top y, its thickness, bottom y, its thickness, left columns, right columns, colour)
    bars = sorted(_bars(img), key=lambda b: b[0])
    starting: dict[int, list[int]] = {}
    for i, b in enumerate(bars):
        starting.setdefault(b[2], []).append(i)
    for i, (ya, ta, xa0, xa1, ca) in enumerate(bars):
        if float(ca.max() - ca.min()) < MIN_CHROMA or not (_turns_down(img, ya + ta, xa0, ca) and _turns_down(img, ya + ta, xa1, ca)):
            continue
        below = sorted(j for x in range(xa0 - ENDS, xa0 + ENDS + 1) for j in starting.get(x, ()) if j > i)
        for yb, tb, xb0, xb1, cb in (bars[j] for j in below):
            if yb <= ya + ta + 2 or abs(xb1 - xa1) > ENDS or np.abs(ca - cb).sum() > SAME:
                continue
            t = max(ta, tb)
            # The sides: straight columns in the colour just past the ends of the top and bottom
            # (a bar's run stops short of the corners, where the side below it has its colour).
            inner = slice(ya + ta, yb)
            x0, x1 = min(xa0, xb0), max(xa1, xb1)
            left = _side(img, slice(max(0, x0 - t - 1), x0 + 1), inner, ca)
            right = _side(img, slice(max(0, x1 - 1), min(w, x1 + t + 1)), inner, ca)
            if left is None or right is None or len(left) > t + 1 or len(right) > t + 1:
                continue
            # A frame holds text: a letter's own counter (a D's, an O's) is bare ground.
            # ... and its inside is not mostly its own colour: the ground left between a box's top
            # and a letter's is a "bar" too, hugging the letter, in the colour of the ground round it.
            # ... and the text inside is not in its colour: a red CJK 日 is a closed rectangle with
            # a stroke inside, and a red box round red text would take the letters' stems with its
            # sides (such a frame is left as it is: read and painted as before).
            inside = img[ya + ta + 1 : yb - 1, left.max() + 2 : right.min() - 1]
            if not inside.size:
                continue
            standing_out = np.abs(inside - np.median(inside.reshape(-1, 3), 0)).sum(-1) > APART
            if (standing_out.mean() < TEXT_INSIDE or _in_colour(inside, ca).mean() > OWN_COLOUR_INSIDE
                    or (np.abs(inside[standing_out] - ca).sum(-1) <= 2 * SAME).any()):
                continue
            found.append((ya, ta, yb, tb, left, right, ca))
            break
    # A frame round other frames is a table's cell or a page's layout, not a word's annotation:
    # lifted with the word boxes inside it, the rules between a table's rows left blots that
    # the recogniser read as letters (a pdfplumber page's word boxes inside its table).
    outer = {k for k, a in enumerate(found) for b in found
             if b is not a and a[0] < b[0] and b[2] < a[2] and a[4].max() < b[4].min() and b[5].max() < a[5].min()}
    colours = []
    for ya, ta, yb, tb, left, right, ca in (f for k, f in enumerate(found) if k not in outer):
        t = max(ta, tb)
        rows = slice(ya, yb + tb)
        for cols in (left, right):
            mask[rows, cols] |= _in_colour(img[rows][:, cols], ca)
        span = slice(int(left.min()), int(right.max()) + 1)
        for y, th in ((ya, ta), (yb, tb)):
            mask[y : y + th, span] |= _in_colour(img[y : y + th, span], ca)
        # Upright sides inside it, where word boxes abut and their tops and bottoms ran on as
        # one: straight full-height columns in the colour, no thicker than the frame's sides.
        between = _side(img, slice(int(left.max()) + 1, int(right.min())), rows, ca)
        if between is not None:
            for run in np.split(between, np.nonzero(np.diff(between) > 1)[0] + 1):
                if len(run) <= t + 1:
                    mask[rows, run] |= _in_colour(img[rows][:, run], ca)
        colours.append(ca)
    if colours:
        # Each frame's own colour just past what was taken (a corner, a side's antialiased edge, the
        # side of a box abutting another): its specks, left behind, read as "'" and ":".
        ys, xs = np.nonzero(ndimage.binary_dilation(mask, iterations=EDGE_REACH) & ~mask)
        near = img[ys, xs]
        own = np.zeros(len(ys), bool)
        for c in np.unique(np.round(np.asarray(colours)), axis=0):
            own |= _in_colour(near, c)
        mask[ys[own], xs[own]] = True
    return mask


HIDDEN_INK = 3  # pixels of an attempt's ink under the frames laid back over it: what was read is not what is shown


def hidden_by_frames(before: np.ndarray, after: np.ndarray, frames: np.ndarray) -> bool:
    """Whether the frames, laid back over an edit painted on the lifted image (`before` ->
    `after`), would cover ink it drew: pixels under them that it changed by more than APART."""
    under = np.abs(after[frames].astype(np.int32) - before[frames].astype(np.int32)).sum(-1) > APART
    return int(under.sum()) >= HIDDEN_INK


def lift(image: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """The image with each frame pixel replaced by the nearest pixel of the ground just inside a
    frame (the ground the box was drawn round; the nearest off the frames where there is none).
    Not from outside: a table's rule just below a word's box was copied into its bottom side, a
    grey underline the cut took for ink. Not from a letter touching the side: a scan's box round
    "Reserves" took the R's stem, and the R was cut as two letters. The ground is the ring of
    pixels within RING px inside each frame, less those far (APART) from its median colour."""
    if not frames.any():
        return image
    inside = ndimage.binary_fill_holes(frames) & ~frames
    ring = ndimage.binary_dilation(frames, iterations=RING) & inside
    sources = ~frames
    if ring.any():
        labels, n = ndimage.label(ring)
        index = np.arange(1, n + 1)
        median = np.stack([np.asarray(ndimage.median(image[..., c], labels, index)) for c in range(3)], -1)
        ground = ring & (np.abs(image[..., :3].astype(np.float32) - np.vstack([[0, 0, 0], median])[labels]).sum(-1) <= APART)
        sources = ground if ground.any() else inside
    _, (iy, ix) = ndimage.distance_transform_edt(~sources, return_indices=True)
    out = image.copy()
    out[frames] = image[iy[frames], ix[frames]]
    return out


def lift_outlines(image: np.ndarray, outlines: np.ndarray) -> np.ndarray:
    """The image with each outline pixel (find_outlines) replaced by the nearest pixel off them.
    Not lift's ring inside the frame: a turned box hugs its word, and the ring's median there is
    the letters' (a DRRG sign's green "RAFIDAIN BANK" was smeared into a green block)."""
    if not outlines.any():
        return image
    # (in the outlines' box, grown by a stroke: the nearest pixel off them lies within that; over a
    # whole 12-megapixel image the distance transform took a second)
    ys, xs = np.nonzero(outlines)
    reach = OUTLINE_SIDE + 2
    area = (slice(max(0, ys.min() - reach), ys.max() + reach + 1), slice(max(0, xs.min() - reach), xs.max() + reach + 1))
    on, part = outlines[area], image[area]
    _, (iy, ix) = ndimage.distance_transform_edt(on, return_indices=True)
    out = image.copy()
    out[area][on] = part[iy[on], ix[on]]
    return out
