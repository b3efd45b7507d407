"""Locate the requested text and plan the edit: which characters, where, in which font and colours.

agent/repaint.py turns a plan plus the current attempt's settings into masks and glyph drafts.
"""

from __future__ import annotations

import re
import string
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Literal

import numpy as np
from PIL import Image
from scipy import ndimage

from agent.schemas import CharEdit, EditPlan, EditRequest, EffectInfo, Exemplar, FaceCandidate, FontInfo
from tools.effects import estimate_effect, estimate_fill_outline, ink_on_axis, shown_by_both_halves
from tools.fonts import (
    MAX_WEIGHT,
    _soft_fit,
    composite,
    confirm_slant,
    fit_face,
    glyph_outline,
    glyph_pen,
    ink_box,
    ink_colour,
    match_font,
    on_line,
    project_ink,
    render_alpha,
    render_text,
    scaled_name,
    split_colours,
    unscaled_name,
    vertical_shear,
)
from tools.locate import (
    Occurrence,
    another_number,
    char_boxes,
    estimate_slant,
    find_any_case,
    find_occurrences,
    line_ink,
    noisy,
    word_like,
)
from tools.mask import Box, box_iou, union
from tools.metrics import edit_distance
from tools.ocr import LIKELIHOOD_SLACK, TextLine
from tools.text import height_class, look_alike, lower, shared_ends, squeeze


class BadRequest(ValueError):
    """The request cannot be carried out on this image (exit 2, one-line reason)."""


class NotFound(BadRequest):
    """The text, or the occurrence asked for, is not in the reading (a fuller reading may find it)."""


# How much more likely (nats) the recogniser finds a line's pixels with the user's word at each of
# some occurrences in it than as it read them (agent/graph.pixels_say: the recogniser runs once a line).
Support = Callable[[TextLine, list[Occurrence]], list[float]]


def _supported(lines: list[TextLine], occ: list[Occurrence], support: Support) -> list[float]:
    """support of each occurrence, asked once for each line they lie in."""
    by_line: dict[int, list[int]] = {}
    for k, o in enumerate(occ):
        by_line.setdefault(o.line, []).append(k)
    scores = [0.0] * len(occ)
    for li, ks in by_line.items():
        for k, score in zip(ks, support(lines[li], [occ[k] for k in ks]), strict=True):
            scores[k] = score
    return scores


def locate(lines: list[TextLine], request: EditRequest, support: Support | None = None,
           beyond: bool = False) -> tuple[list[TextLine], int, int, int, int]:
    """(lines, line index, start index, number of occurrences, its number in reading order) of the
    requested occurrence, or BadRequest. When the text
    was found only approximately (OCR misread a character or two), the line's reading is corrected
    to the user's spelling there, so the characters are cut and verified as the user named them.
    Found only approximately in several places, and no occurrence named: the first place whose
    pixels say the user's word (`support`: the user's spelling there about as likely as the reading,
    as a near miss passes verify) is edited. Not found at all and `beyond` (the caller's last
    resort, every reading tried): a word the recogniser finds likelier to say the user's word than
    what it read is the word (read_beyond)."""
    least = max(1, request.occurrence or 1)

    def found_in(lines: list[TextLine]) -> list[Occurrence]:
        return _occurrences(lines, request, least)

    occ = found_in(lines)
    # The detector split the word (or the phrase) into neighbouring boxes: join them and look again.
    joined = joined_neighbours(lines) if not occ else lines
    if not occ and (occ := found_in(joined)):
        lines = joined
    if not occ and beyond:
        # Every reading tried: a word that is the user's but for case (find_any_case), then one the
        # recogniser finds likelier to be the user's word than its own reading.
        for any_case in (lines, joined):
            if (occ := _occurrences(any_case, request, least, find_any_case)):
                lines = any_case
                break
    if not occ and beyond:
        occ = read_beyond(lines, request.find, support)
    if not occ:
        seen = "; ".join(f'"{ln.text}"' for ln in lines[:8]) or "no text at all"
        raise NotFound(f'"{request.find}" not found in the image (it reads: {seen})')
    if request.occurrence is None and support is not None and len(occ) > 1 and all(o.approximate for o in occ):
        # A word misread everywhere: a label drawn over a scan read "Intantry" (and says it: the
        # label is what the annotator's OCR wrote) before the scan's own word read "Infentry" was
        # taken for the user's "Infantry" as the first in reading order, edited and verified.
        said = [o for o, score in zip(occ, _supported(lines, occ, support), strict=True)
                if score >= -LIKELIHOOD_SLACK * max(1, edit_distance(lines[o.line].text[o.start : o.end], request.find))]
        o = said[0] if said else occ[0]
    else:
        n = request.occurrence or 1
        if n == -1:  # the last one
            n = len(occ)
        if n > len(occ):
            raise NotFound(f'occurrence {n} requested but "{request.find}" occurs {len(occ)} time(s)')
        o = occ[n - 1]
    number = occ.index(o) + 1
    read_there = lines[o.line].text[o.start : o.end]
    if o.approximate and len(read_there) > len(request.find) and (k := lower(read_there).find(lower(request.find))) >= 0:
        # A near miss longer than the word, holding it whole but for case: the rest is other text
        # the reading glued on (a barrier's "NO PARKING" read "NOparkInG": the whole was taken for
        # PARKING, the NO's ink cut as its first letters, and the B drawn on the N).
        o = Occurrence(o.line, o.start + k, o.start + k + len(request.find), approximate=True)
        read_there = lines[o.line].text[o.start : o.end]
    if o.approximate and lower(read_there) == lower(request.find) and lower(request.find) == lower(request.replace):
        # Found only ignoring case, and the edit changes only case: which letters to change cannot be
        # told from the user's spelling (the sign reads SPEED; "speed" -> "Speed" would verify as is).
        raise BadRequest(f'"{request.find}" was found only ignoring case (the image reads "{read_there}"): '
                         f'give the text as it reads, e.g. --find "{read_there}"')
    if o.approximate:
        line = lines[o.line]
        lines = [*lines[: o.line], replace(line, text=line.text[: o.start] + request.find + line.text[o.end :]), *lines[o.line + 1 :]]
    return lines, o.line, o.start, len(occ), number


def _occurrences(lines: list[TextLine], request: EditRequest, least: int, finder=None) -> list[Occurrence]:
    """find_occurrences of the request's text (or finder's matches), less a misreading that reads
    another number where the edit changes it (not the number asked for)."""
    keep = shared_ends(squeeze(request.find), squeeze(request.replace))
    found = find_occurrences(lines, request.find, least) if finder is None else finder(lines, request.find)
    return [o for o in found
            if not (o.approximate and another_number(lines[o.line].text[o.start : o.end], request.find, keep,
                                                     sure=lines[o.line].confidence >= SURE_READING))]


def misread_before(lines: list[TextLine], request: EditRequest, line: int, start: int) -> list[Box]:
    """Where the reading holds, before the place locate chose (`line`, `start`: in reading order;
    after it, for the last occurrence), a near miss of the user's text that locate did not count
    because the text was also read exactly (find_occurrences' looser tiers, less another number):
    a misreading of the same word there would change which occurrence is which. Each near miss's
    box is its characters' share of its line's box. A form's bold header "Company" in a drawn box
    read "Comnanu", and the "Company" of a row below, read exactly, was edited as the first."""
    chosen = (line, start)
    counted = {(o.line, o.start) for o in _occurrences(lines, request, max(1, request.occurrence or 1))}
    boxes: list[Box] = []
    for k, text_line in enumerate(lines):
        # Line by line: over the whole reading, the near misses closest to the text hide the rest
        # (the header's "Comnanu", two edits off, behind a "Campany" one edit off further down).
        for o in _occurrences([text_line], request, sys.maxsize):
            if o.approximate and (k, o.start) not in counted and ((k, o.start) > chosen if request.occurrence == -1
                                                                  else (k, o.start) < chosen):
                (x0, y0, x1, y1), n = text_line.box, max(1, len(text_line.text))
                boxes.append((x0 + (x1 - x0) * o.start // n, y0, x0 + -(-(x1 - x0) * o.end // n), y1))
    return boxes


BEYOND_LENGTH = 2  # characters a word misread beyond the edit-distance rule may be read longer or shorter than the user's


def read_beyond(lines: list[TextLine], find: str, support: Support | None) -> list[Occurrence]:
    """The words (as many space-separated tokens as find has) misread beyond find_occurrences'
    edit-distance rule whose pixels the recogniser finds likelier to be the user's word than its
    own reading (support > 0: its greedy decoding is not the likeliest text). A blurred,
    outlined bold "green" was read "Eeen" and "ueen" and not found; "green" scores higher on its
    pixels than "Eeen", "queen" 6.5 nats lower. A few characters (no word) are not looked for so."""
    if support is None or not word_like(find):
        return []
    n, words = len(squeeze(find)), len(find.split())
    candidates = []
    for li, line in enumerate(lines):
        tokens = [(m.start(), m.end()) for m in re.finditer(r"\S+", line.text)]
        for i in range(len(tokens) - words + 1):
            a, b = tokens[i][0], tokens[i + words - 1][1]
            if abs(len(squeeze(line.text[a:b])) - n) <= BEYOND_LENGTH:
                candidates.append(Occurrence(li, a, b, approximate=True))
    return [o for o, score in zip(candidates, _supported(lines, candidates, support), strict=True) if score > 0]


SURE_READING = 0.9  # a line read with this confidence is what it says: a kept digit read as another is another number
JOIN_GAP = 1.0  # boxes on one row closer than this x their height may be one word or phrase the detector split
OVERLAP = 0.5  # ... and boxes overlapping by at most this x their height (and half the narrower's width)


def joined_neighbours(lines: list[TextLine]) -> list[TextLine]:
    """The lines with each run of boxes on one row (vertical centres within half a height, gaps
    under JOIN_GAP heights) joined into one line, its text joined with spaces, in reading order."""
    return [_joined([lines[i] for i in row]) for row in _rows(lines)]


def row_around(lines: list[TextLine], index: int) -> tuple[TextLine, int]:
    """The joined row (joined_neighbours) holding lines[index], and where that line's text starts in it."""
    row = next(r for r in _rows(lines) if index in r)
    before = row[: row.index(index)]
    return _joined([lines[i] for i in row]), sum(len(lines[i].text) + 1 for i in before)


def _rows(lines: list[TextLine]) -> list[list[int]]:
    """Indices of the lines, grouped into runs of boxes on one row (see joined_neighbours)."""
    rows: list[list[int]] = []
    box = None
    for i, line in enumerate(lines):
        if box is not None:
            h = min(box[3] - box[1], line.box[3] - line.box[1])
            same_row = abs((box[1] + box[3]) - (line.box[1] + line.box[3])) / 2 < 0.5 * h
            gap = line.box[0] - box[2]
            # Overlapping a little: an italic phrase's boxes lean into each other ("park" and
            # "public" overlapped by 0.28 of their height); much more is one text read twice.
            overlap = min(OVERLAP * h, 0.5 * min(box[2] - box[0], line.box[2] - line.box[0]))
            if same_row and -overlap <= gap < JOIN_GAP * h:
                rows[-1].append(i)
                box = (min(box[0], line.box[0]), min(box[1], line.box[1]), max(box[2], line.box[2]), max(box[3], line.box[3]))
                continue
        rows.append([i])
        box = line.box
    return rows


def _joined(row: list[TextLine]) -> TextLine:
    if len(row) == 1:
        return row[0]
    box = (min(ln.box[0] for ln in row), min(ln.box[1] for ln in row), max(ln.box[2] for ln in row), max(ln.box[3] for ln in row))
    return TextLine.of_box(" ".join(ln.text for ln in row), min(ln.confidence for ln in row), box)


GOOD_FIT = 0.5  # a font match whose rendering overlaps the observed ink this well (IoU) lays the text out as it is
POOR_FIT = 0.35  # a font match whose rendering overlaps the observed ink less (IoU) does not fit it
CLEARLY_BETTER = 0.15  # IoU a second fit of the line's ink (trimmed, denoised, set level) must gain to replace the first


def span_end(text: str, start: int, find: str) -> int:
    """Where the requested text found at `start` ends in the line's text; found ignoring spaces the
    OCR inserted, the line's own characters for that span."""
    end = start + len(find)
    if text[start:end] == find:
        return end
    end, count = start, 0
    while end < len(text) and count < len(squeeze(find)):
        if not text[end].isspace():
            count += 1
        end += 1
    return end


# What the side of a box drawn round a word reads as when the recogniser takes it for a letter
# glued to the word: a docTR figure's pale box round "571.227.2900" was read "1571.227.2900", the
# line was cut into one character too many, and the "1" meant for the last "0" was drawn over the
# "(" of the next word; a pdfplumber page's box round "Company" read "[Company".
# (Not the round brackets, braces and slashes that verify.BORDERS also trims at a line's ends: a
# real one glued to a word is common, "(U.S.)", and one in another colour than its word's would
# pass the likelihood test as a box's side does, and be cut and painted over unseen.)
BAR_LIKE = "1lIi!|[]"
# nats: how much likelier the reading without the marks must be on the text's own ink. Measured on
# lines drawn for tests/test_drawn_marks.py: a box's side read "1" or "[" gained 3.3 to 7.4 dropped
# (the docTR box 12); a letter that is there ("l" of "live", "1" of "1571", "[" of "[Harbour]") lost 13 to 25.
DRAWN_MARK_GAIN = 2.0


def without_drawn_marks(ocr, registry, image: np.ndarray, line: TextLine, start: int, find: str) -> tuple[TextLine, int]:
    """(line, start) without the bar-like characters (BAR_LIKE, one or two) that OCR read glued to
    the requested text, at the edge of its word, where the text's own ink does not hold them: the
    line's ink (line_ink: the text's colour, apart from a box's side in another) is set flat on
    its ground and the recogniser asked how likely each reading is there (OCR.likelihoods). A
    letter that is there stays: its ink is drawn too ("live" keeps its "l" when "ive" is asked)."""
    text = line.text
    end = span_end(text, start, find)
    lead = len(text[:start]) - len(text[:start].rstrip(BAR_LIKE))
    trail = len(text[end:]) - len(text[end:].lstrip(BAR_LIKE))
    lead = lead if 0 < lead <= 2 and (lead == start or text[start - lead - 1].isspace()) else 0
    trail = trail if 0 < trail <= 2 and (end + trail == len(text) or text[end + trail].isspace()) else 0
    if not lead and not trail:
        return line, start
    readings = {(a, b): text[: start - a] + text[start : end] + text[end + b :]
                for a in {0, lead} for b in {0, trail}}
    ink = line_ink(image, line.box, text, registry)
    flat = composite(np.full((*ink.coverage.shape, 3), ink.bg, np.float32), ink.coverage, ink.fg).astype(np.uint8)
    scores = dict(zip(readings, ocr.likelihoods(flat, list(readings.values())), strict=True))
    best = max(scores, key=lambda k: scores[k])
    if best == (0, 0) or scores[best] < scores[(0, 0)] + DRAWN_MARK_GAIN:
        return line, start
    return replace(line, text=readings[best]), start - best[0]


# Where the recogniser reads a character (tools.ocr.OCR.char_positions) lies left of its middle
# by about this x the text's mean advance (measured between the read positions, not by a face
# that may not fit): median 0.17 (10th-90th percentile 0.03-0.39) over 504 characters of 10 words
# in 6 faces drawn at 18-48 px, black on white.
READ_LAG = 0.17

# Where the recogniser reads each character of a text in a crop (image box, text) -> x per
# character, spaces left out; None where it cannot tell (tools.ocr.OCR.char_positions).
ReadPositions = Callable[[Box, str], "list[float] | None"]


AS_READ = 0.5  # x the mean advance: a character's box whose middle lies further from where the recogniser
#               reads it is another character's (read positions scatter 0.24 of an advance about
#               READ_LAG, 90th percentile, on the drawn lines READ_LAG was measured on; a box one
#               letter off lies about a whole advance away)


WIDEST_AS_READ = 1.6  # x the mean advance: the widest box cut where the recogniser reads; a "W" or "M" is
#                      about 1.5 in a proportional face, two letters about 2


def _changed(found: str, request: EditRequest) -> list[tuple[int, str, str]] | None:
    """(index in found, old, new) of each character the edit changes, compared as the user typed
    them (not as OCR read them: it may have read a 7 as Z); None where found, find and replace
    differ in length (the word is set anew)."""
    found_chars = [i for i, c in enumerate(found) if not c.isspace()]
    find_chars, new_chars = squeeze(request.find), squeeze(request.replace)
    if not len(found_chars) == len(find_chars) == len(new_chars):
        return None
    return [(i, a, b) for i, a, b in zip(found_chars, find_chars, new_chars, strict=True) if a != b]


def _named(text: str, start: int, end: int, request: EditRequest) -> list[int]:
    """The indices in text of the characters the edit changes (_changed) in the found span
    text[start:end]; all of it where it is set anew."""
    changed = _changed(text[start:end], request)
    if changed is None:
        return [i for i in range(start, end) if not text[i].isspace()]
    return [start + i for i, _, _ in changed]


def _cut_as_read(registry, ink, text: str, face: str, boxes: list[Box | None], named: list[int],
                 read: list[float] | None) -> list[Box | None]:
    """The character boxes cut where the recogniser reads the characters (read: x of each
    non-space character, tools.ocr.OCR.char_positions) where the face's layout put the named
    characters' boxes AS_READ or more of an advance from where they are read (the median): a face
    that fits the ink poorly cannot say where its letters part (a serif sign's "dintaifungSG", in a sans at IoU 0.19,
    had its S's box on the g, and the H was drawn there). Where they agree, the layout's cuts stay:
    the recogniser's places scatter, and cut by them alone, a photographed "BANK" gave its N a box
    too narrow for the new R, and the N's diagonal was left beside it."""
    chars = [i for i, c in enumerate(text) if not c.isspace()]
    if read is None or len(read) != len(chars) or len(chars) < 2:
        return boxes
    advance = (read[-1] - read[0]) / (len(read) - 1)
    if advance <= 0:
        return boxes
    centres = {i: x + READ_LAG * advance for i, x in zip(chars, read, strict=True)}

    def off(bs: list[Box | None]) -> float:
        """How far the named characters' box middles lie from where they are read, in advances: the
        median (a narrow letter's place scatters most: an "i" in a scanned poster's "Admission" lay
        0.56 of an advance from its box's middle, where the box was the i's own, and cut again, the
        m's box took it)."""
        gaps = [abs((b[0] + b[2]) / 2 - centres[i]) / advance for i in named if (b := bs[i]) is not None]
        return float(np.median(gaps)) if gaps else 0.0

    if off(boxes) < AS_READ:
        return boxes
    again = char_boxes(registry, ink, text, face, centres)
    # The recogniser's places are taken only where the ink agrees with them: no box they cut at a
    # named character or beside one spans two letters' width. On a photographed sign turned 8
    # degrees, "Needs" was read with its N a whole advance right of its ink, and cut there, the N's
    # box took the e beside it (2.2 advances); a bank's "BANK" gave its K the N's right stem (2.3).
    near = range(max(0, named[0] - 1), min(len(text), named[-1] + 2))
    if any(again[i] is None or again[i][2] - again[i][0] > WIDEST_AS_READ * advance for i in near if not text[i].isspace()):
        return boxes
    return again if off(again) < off(boxes) else boxes


def make_plan(registry, image: np.ndarray, line: TextLine, start: int, request: EditRequest,
              read_at: ReadPositions | None = None) -> EditPlan:
    """The plan of the request's edit at line.text[start:]. read_at: where the recogniser reads
    the line's characters, which cut them where no face fits the line's ink well."""
    text = line.text
    end = span_end(text, start, request.find)
    found = text[start:end]
    missing = [c for c in request.replace if not c.isspace() and not any(registry.can_draw(f.name, c) for f in registry.faces)]
    if missing:
        raise BadRequest(f"no available font can draw {''.join(sorted(set(missing)))!r}")
    ink = line_ink(image, line.box, text, registry)
    if (marked := _without_edge_marks(text, start, end, ink.coverage)) != (text, start, end):
        text, start, end = marked
        ink = line_ink(image, line.box, text, registry)
    rx0, ry0, rx1, ry1 = ink.region
    region = image[ry0:ry1, rx0:rx1]
    two_colour = estimate_fill_outline(region, *split_colours(region)[1:])
    if two_colour is not None:
        # Outlined letters: the face is matched, and the characters cut, on the fill (an outline
        # makes any face look bold and joins neighbouring letters).
        ink = replace(ink, coverage=two_colour[2], fg=two_colour[0])
    drawable = [f for f in registry.faces if registry.can_draw(f.name, squeeze(text) + squeeze(request.replace))]
    if not drawable:
        raise BadRequest(f"no available font can draw both {text!r} and {request.replace!r}")
    match = match_font(registry, ink.coverage, text, ink.fg, ink.bg, faces=drawable, offset=(rx0, ry0), slant=ink.slant)
    if match.score < POOR_FIT and two_colour is None:
        # No face fits the ink: texture cells touching the letters may have stretched it, or sensor
        # noise speckled it (tools.locate.NOISE_SIGMA).
        for retried in [line_ink(image, line.box, text, registry, trim=True)] + (
                [line_ink(image, line.box, text, registry, quiet=True)] if noisy(region) else []):
            retry = match_font(registry, retried.coverage, text, retried.fg, retried.bg, faces=drawable,
                               offset=(rx0, ry0), slant=retried.slant)
            if retry.score > match.score + CLEARLY_BETTER:
                ink, match = retried, retry
    text, start, end, match = _without_phantoms(registry, ink, text, start, end, match, drawable)
    found = text[start:end]
    candidates: list[FaceCandidate] = []
    if registry.library is not None:
        match, candidates = _library_match(registry, ink, text, start, end, match, squeeze(text) + squeeze(request.replace))
    match.slant = confirm_slant(registry, match, text, ink.coverage, (rx0, ry0))
    if not registry.is_italic(match.face):  # an italic face leans by itself; the cuts follow the ink's own lean
        ink = replace(ink, slant=match.slant)
    boxes = char_boxes(registry, ink, text, match.face)
    if read_at is not None and match.score < POOR_FIT:
        boxes = _cut_as_read(registry, ink, text, match.face, boxes, _named(text, start, end, request), read_at(line.box, text))
    tilt = level_slope(ink.coverage, baseline_tilt(text, boxes, match.size), match.size)
    if tilt:
        # A tilted line is matched set level: tilted, its glyphs fitted a condensed face best, whose
        # new R, in a line turned 12 degrees, crowded the I before it.
        levelled_ink = vertical_shear(ink.coverage, -tilt, (rx1 - rx0) / 2)
        level = replace(ink, coverage=levelled_ink, slant=estimate_slant(levelled_ink))
        levelled = match_font(registry, level.coverage, text, level.fg, level.bg, faces=drawable, offset=(rx0, ry0),
                              slant=level.slant)
        level_candidates = candidates
        if registry.library is not None:
            levelled, level_candidates = _library_match(registry, level, text, start, end, levelled,
                                                        squeeze(text) + squeeze(request.replace))
        levelled.slant = confirm_slant(registry, levelled, text, level.coverage, (rx0, ry0))
        if levelled.score > match.score + CLEARLY_BETTER:
            # Its face, size and lean (a line the camera turned leans its stems too). Only a clearly
            # better fit: a barrier's "NO PARKING", 4 degrees off level, fitted no face well either way
            # (IoU 0.32 tilted, 0.40 level), and the level fit's size left the new B blurred. Where the line
            # and its glyphs lie stays the tilted line's: cut again by the level face's layout, the
            # boxes of "DAILY" lost the rise of its last three letters.
            match = replace(levelled, baseline=match.baseline, x0=match.x0)
            candidates = level_candidates
    boxes = _plausible(registry, image, text, boxes, match, range(start, end), tilt)
    ws, we = visual_word(text, boxes, start, end)
    found_chars = [i for i, c in enumerate(found) if not c.isspace()]
    find_chars, new_chars = squeeze(request.find), squeeze(request.replace)
    same_spacing = request.find.count(" ") == request.replace.count(" ")
    edits = []
    changed = _changed(found, request)
    mode: Literal["chars", "relayout"] = "chars" if changed is not None and same_spacing else "relayout"
    if changed is not None and mode == "chars":
        for i, a, b in changed:
            if boxes[start + i] is None:
                mode = "relayout"
                break
            edits.append(CharEdit(index=i, old=a, new=b, box=boxes[start + i]))
        if len(edits) >= 2 and len(edits) > len(find_chars) / 2:
            # Most of it is new ("Big" -> "For"): glyphs repainted one by one in the old ones' places
            # keep the old word's spacing ("Fcr  paper"); it is set anew, as a word of another length.
            mode = "relayout"
    # (set anew by the graph's refine after failed attempts in place, where the line has room; not
    # on a tilted line, whose word is set anew only in its levelled frame)
    crowded = (mode == "chars" and not tilt
               and _crowds_its_neighbours(registry.font(match.face, match.size), text, boxes, start, edits, match.size))
    if mode == "relayout" and found != request.find and len(find_chars) == len(found_chars):
        # Set anew as the user spells it (_boxes_as_typed): a re-set word's spacing follows its characters.
        spelt = _boxes_as_typed(boxes[start:end], found, request.find)
        text, boxes = text[:start] + request.find + text[end:], boxes[:start] + spelt + boxes[end:]
        we += len(request.find) - (end - start)
        end, found = start + len(request.find), request.find
        found_chars = [i for i, c in enumerate(found) if not c.isspace()]
    if mode == "relayout":
        edits = [CharEdit(index=i, old=c, new="", box=boxes[start + i]) for i, c in enumerate(found) if not c.isspace()]

    def spell(chars: str) -> str:  # the found span spelt with these characters, in the line's (OCR) spacing
        out, k = list(found), 0
        for i in found_chars:
            out[i] = chars[k] if k < len(chars) else ""
            k += 1
        return "".join(out)

    old_found = spell(find_chars)
    new_found = spell(new_chars) if mode == "chars" else request.replace
    word, new_word = text[ws:start] + old_found + text[end:we], text[ws:start] + new_found + text[end:we]
    word_box: Box | None = None
    for char_box in boxes[ws:we]:
        word_box = union(word_box, char_box)
    if word_box is None:
        raise BadRequest(f'could not find the ink of "{found}" in the image')
    # Draft colours exactly as the model saw them in training: 2-means on the word crop.
    pad = max(2, match.size // 4)
    h, w = image.shape[:2]
    x0, y0, x1, y1 = word_box
    fg, bg = _draft_colours(image, word_box, [b for b in boxes[ws:we] if b is not None], pad, (ink.fg, ink.bg))
    if two_colour is not None:
        fg, found_effect = two_colour[0], two_colour[1]
    else:  # shadows reach a few pixels past the ink: look at a wider crop for them
        m = pad + 6
        around = image[max(0, y0 - m) : min(h, y1 + m), max(0, x0 - m) : min(w, x1 + m)]
        found_effect = estimate_effect(around, fg, bg)
        lx0, ly0, lx1, ly1 = line.box
        busy = found_effect is not None and busy_ground(around, fg, bg)
        if busy and not shown_by_both_halves(around, fg, bg, found_effect, sum(b is not None for b in boxes[ws:we])):
            # On a textured ground an outline must be the whole word's (shown_by_both_halves). The
            # unseen suite draws none: of the 3 outlines found round its words on busy grounds (the
            # plans' first crops), this sets aside 2; of the synthetic suite's 15 words whose drawn
            # effect is found, none (its 2 outlines on busy grounds keep theirs), and of its 5
            # outlines found where none was drawn (2 on busy grounds), 1.
            found_effect = None
        if busy and found_effect is not None and (lx1 - lx0) > (x1 - x0) + 2 * (y1 - y0):
            # On a textured ground the cells round a short word fitted a shadow that the rest of its
            # line does not have, and the new word was drawn with it (changing pixels past the
            # line): there, an outline or shadow must be the line's too. (On a plain ground one
            # word of a line may well be outlined alone.)
            on_line = estimate_effect(image[max(0, ly0 - m) : min(h, ly1 + m), max(0, lx0 - m) : min(w, lx1 + m)], fg, bg)
            if on_line is None or on_line.kind != found_effect.kind:
                found_effect = None
    effect = None if found_effect is None else EffectInfo(
        kind=found_effect.kind, colour=found_effect.colour, width=found_effect.width,
        offset=found_effect.offset, blur=found_effect.blur)
    blur = _blur(registry, image, text, boxes[ws:we], ws, match, fg, bg, effect, tilt)
    weight = _weight(registry, image, text, boxes[ws:we], ws, match, fg, bg, effect, blur, tilt)
    # A word set anew is drawn level, on a tilted line in the line's levelled frame (agent/graph.py's
    # plan node: tools/level.py): its plan keeps tilt 0, so its pens are fitted as on a level line.
    font = FontInfo(face=match.face, category=match.category, size=match.size, baseline=round(match.baseline, 2), slant=match.slant,
                    tilt=tilt if mode == "chars" else 0.0, fg=fg, bg=bg, score=round(match.score, 4), blur=blur, weight=weight, effect=effect, candidates=candidates)
    exemplars = (exemplars_in_line(registry, image, text, boxes, {start + e.index for e in edits}, {e.new for e in edits},
                                   fg, bg, match.face, match.size)
                 if mode == "chars" and effect is None and match.score < GOOD_FIT else [])
    return EditPlan(
        exemplars=exemplars,
        line_text=text, line_box=line.box, start=start, word=word, new_word=new_word, word_box=word_box,
        target=(start - ws, end - ws),
        word_start=ws, char_boxes=boxes[ws:we], mode=mode, crowded=crowded, edits=edits, font=font, line_tilt=tilt,
        outside=(next((b for b in reversed(boxes[:ws]) if b), None), next((b for b in boxes[we:] if b), None)),
    )


# How far (x the font size) the face draws new letters wider than the old ones beyond the room the
# old ones leave (their gaps to the kept neighbours, and SPACE_GIVE of a space beside them) before
# the word is crowded (set anew after failed attempts in place, agent/graph.CROWDED_AFTER): a slide's
# "blazingly" -> "amazingly" drew its m where the l stood, over the kept a (0.3 past the room), and
# six attempts read "azingly". A letter within the room's reach of a tenth of the size is no wider
# than the spacing absorbs.
CROWDING = 0.1
SPACE_GIVE = 0.1  # x the size: how much of the space beside a word new letters may take


def _crowds_its_neighbours(font, text: str, boxes: list, start: int, edits: list[CharEdit], size: int) -> bool:
    """Whether a run of new characters drawn in the old ones' places would not fit between the ink
    of the kept characters either side of it (by more than CROWDING x the size): such a word is set
    anew after failed attempts in place, where its line has room (EditPlan.crowded)."""
    runs: list[list[CharEdit]] = []
    for e in sorted(edits, key=lambda e: e.index):
        if runs and e.index == runs[-1][-1].index + 1:
            runs[-1].append(e)
        else:
            runs.append([e])
    def kept(i: int) -> Box | None:  # the box of a kept character there (None: a space or the line's end)
        return boxes[i] if 0 <= i < len(text) and not text[i].isspace() else None

    for run in runs:
        first, last = boxes[start + run[0].index], boxes[start + run[-1].index]
        before, after = kept(start + run[0].index - 1), kept(start + run[-1].index + 1)
        if first is None or last is None or (before is None and after is None):
            continue  # (a word wholly new has no kept neighbour to crowd)
        # The room the old letters leave round them: the gaps to the kept neighbours' ink, and on a
        # side where a space is, SPACE_GIVE x the size of it.
        spare = ((after[0] if after is not None else last[2] + SPACE_GIVE * size)
                 - (before[2] if before is not None else first[0] - SPACE_GIVE * size)) - (last[2] - first[0])
        # How much wider the face draws the new letters than the old ones (its widths, not the
        # image's: a scan's "MARCUS" -> "MARKUS" matched a face whose K is wide, but no wider than its C).
        new_left, _, new_right, _ = font.getbbox("".join(e.new for e in run), anchor="ls")
        old_left, _, old_right, _ = font.getbbox("".join(e.old for e in run), anchor="ls")
        if (new_right - new_left) - (old_right - old_left) > spare + CROWDING * size:
            return True
    return False


def fitted_alone(line_plan: EditPlan, alone: EditPlan) -> EditPlan | None:
    """The line's plan with what a plan of the same text read alone (in a crop round the word)
    fitted: the word as its cut bounds it, the face, size and colours, the character boxes and the
    edits cut by them, the exemplars and the tilt; None where the line's reading does not hold
    that word round the named text. The line stays the line's (verify reads it whole, and a word
    set anew moves the rest of it); of the ink beside the word, the crop's, else the line's where
    it does not reach into the word's new box. On a poster's "SALE today only", the line's fit (two
    sizes, one face) took "ay only" for the word; and on a book's highlighted "interested" it put
    the "i" outside it."""
    word_start = line_plan.start - (alone.start - alone.word_start)
    if word_start < 0 or line_plan.line_text[word_start : word_start + len(alone.word)] != alone.word:
        return None
    x0, _, x1, _ = alone.word_box
    (crop_before, crop_after), (line_before, line_after) = alone.outside, line_plan.outside
    before = crop_before or (line_before if line_before is not None and line_before[2] <= x0 else None)
    after = crop_after or (line_after if line_after is not None and line_after[0] >= x1 else None)
    return line_plan.model_copy(update={
        "word": alone.word, "new_word": alone.new_word, "word_start": word_start, "target": alone.target,
        "word_box": alone.word_box, "char_boxes": alone.char_boxes, "edits": alone.edits, "font": alone.font,
        "exemplars": alone.exemplars, "line_tilt": alone.line_tilt, "outside": (before, after)})


def _boxes_as_typed(boxes: list, found: str, typed: str) -> list:
    """The found text's character boxes for the text as the user typed it: OCR's spaces inside it
    ("6, 001") are not the image's. The k-th character the user names is the k-th one OCR read
    there (its box); a space of the user's has none."""
    named = iter(b for b, c in zip(boxes, found, strict=True) if not c.isspace())
    return [None if c.isspace() else next(named) for c in typed]


def set_anew(plan: EditPlan, find: str, replace: str) -> EditPlan:
    """A character edit's plan as the same word set anew (mode relayout: agent/reflow.py plans how),
    for a retry: a narrow new letter drawn in a wide old one's place leaves a gap that reads as a
    space (a "Shipping" whose new i stood alone: "Sh ipping"), where a typesetter closes it up.
    Spelt as the user typed find and replace, as make_plan spells a word set anew. Only for a level
    line: a tilted one is set anew in its levelled frame, which the plan node makes."""
    a, b = plan.target
    word, boxes, line_text = plan.word, plan.char_boxes, plan.line_text
    if word[a:b] != find:
        boxes = boxes[:a] + _boxes_as_typed(boxes[a:b], word[a:b], find) + boxes[b:]
        line_text = line_text[: plan.start] + find + line_text[plan.start + b - a :]
        word, b = word[:a] + find + word[b:], a + len(find)
    edits = [CharEdit(index=i, old=c, new="", box=boxes[a + i]) for i, c in enumerate(find) if not c.isspace()]
    return plan.model_copy(update={"mode": "relayout", "edits": edits, "exemplars": [], "word": word, "target": (a, b),
                                   "char_boxes": boxes, "line_text": line_text, "new_word": word[:a] + replace + word[b:]})


GLYPH_INK_SHARE = 0.6  # of the text colour's pixels in the word crop, at least this share lies in the glyphs' boxes
TIGHT_PAD = 2  # px round the word: its glyphs' own ground, where a frame or another object has no room


def _draft_colours(image: np.ndarray, word_box: Box, glyph_boxes: list, pad: int, line_colours: tuple) -> tuple:
    """(text, ground) colours: 2-means on the word crop grown by pad, as the model saw them in
    training. A crop whose "text" colour lies mostly outside the glyphs' boxes split something else
    (a sign's yellow frame and red letters against its white plate and the grey wall: "text" came
    out grey and the ground brown, the N's hole was filled brown, the new G drawn grey): then the
    crop grown by TIGHT_PAD only, where the glyphs' ground is all there is beside them.

    A split whose text colour lies nearer the line's ground colour, and its ground nearer the line's
    text (line_colours: the ink the face was matched on), took the ground for the text: on a photo's
    light and dark patches the cluster touching the crop's border least can be the ground's
    (unseen-0-0041: dark green "garden" over a pale photo drawn white; 0064, mint "closed" drawn
    grey). The line's polarity stands there, the text colour refined on the crop (ink_colour)."""
    fg, bg = _split_draft_colours(image, word_box, glyph_boxes, pad)
    line_fg, line_bg = line_colours

    def apart(a, b) -> float:
        return float(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).sum())

    opposite = apart(fg, line_bg) < apart(fg, line_fg) and apart(bg, line_fg) < apart(bg, line_bg)
    # ... and the crop must agree: the line's text colour lies more in the glyphs' boxes than the
    # split's (a light word on a dark badge in a dark-on-light line keeps its own colours)
    if opposite and _glyph_share(image, word_box, glyph_boxes, pad, bg, fg) > _glyph_share(image, word_box, glyph_boxes, pad, fg, bg):
        fg, bg = bg, fg
        x0, y0, x1, y1 = word_box
        pixels = image[y0:y1, x0:x1].reshape(-1, 3).astype(np.float32)
        refined = ink_colour(pixels, np.asarray(fg, np.float32), np.asarray(bg, np.float32))
        if refined is not None:
            fg = tuple(round(float(v)) for v in refined)
    return fg, bg


def _split_draft_colours(image: np.ndarray, word_box: Box, glyph_boxes: list, pad: int) -> tuple:
    """_draft_colours' 2-means split, the crop grown by pad or by TIGHT_PAD."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = word_box

    def split(grow: int) -> tuple:
        ox, oy = max(0, x0 - grow), max(0, y0 - grow)
        _, fg, bg = split_colours(image[oy : min(h, y1 + grow), ox : min(w, x1 + grow)])
        return fg, bg, _glyph_share(image, word_box, glyph_boxes, grow, fg, bg)

    fg, bg, share = split(pad)
    if share < GLYPH_INK_SHARE and pad > TIGHT_PAD:
        tight_fg, tight_bg, tight_share = split(TIGHT_PAD)
        if tight_share >= GLYPH_INK_SHARE:
            return tight_fg, tight_bg
    return fg, bg


def _glyph_share(image: np.ndarray, word_box: Box, glyph_boxes: list, grow: int, fg, bg) -> float:
    """Of the pixels of the word's crop (grown by grow) that are more fg than bg, the share inside the glyphs' boxes."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = word_box
    ox, oy = max(0, x0 - grow), max(0, y0 - grow)
    inked = project_ink(image[oy : min(h, y1 + grow), ox : min(w, x1 + grow)], fg, bg) > 0.5
    inside = np.zeros_like(inked)
    for bx0, by0, bx1, by1 in glyph_boxes:
        inside[max(0, by0 - oy) : max(0, by1 - oy), max(0, bx0 - ox) : max(0, bx1 - ox)] = True
    return float((inked & inside).sum()) / max(1, int(inked.sum()))


WIDTH_MIN = 0.05  # a face is also fitted at the width the line's glyphs show when that is 5% or more off its own
#                   (x_scale >= 1.05 or <= 1 / 1.05); tools/library.py Candidate.x_scale
WIDTH_REFITS = 2  # faces at another width the line's fit may set aside one by one before it sets all aside (each a refit)
LIBRARY_SHORTLIST = 8  # library faces fitted to the line (the drawing face was among the 8 closest for 91% of calibration words)
WITNESS_GAIN = 0.9  # a library face replaces the registry's by its glyphs' error only when 10% lower (not a clone's near
#                     tie); a face at another width replaces the face as drawn on the same terms
WITNESSES = 10  # glyphs nearest the edit that judge the faces when the line's layout does not fit any or none surely
#                 (FIT_BAND, SURE_FIT), and a face at another width against the face as drawn (each aligned alone)


def _library_match(registry, ink, text: str, start: int, end: int, match, drawn: str):
    """(match, candidates): the best fit among the registry's match and the font library's faces whose
    glyphs are closest to the line's own (cut where the registry's match puts the characters, the
    requested span's first). The registry holds 68 faces; the line is most often set in another.

    Where some face lays the whole line out well (IoU >= GOOD_FIT: text set by a renderer like ours)
    a library face replaces the registry's match only where both say so: its glyphs are closer to the
    line's, and it draws the line better (_fits_better). On a textured ground the line's ink is
    noisy, and the best line fit among thousands of faces can be a wrong one (the synthetic suite's
    FreeSans-BoldItalic word, retrieved first, was fitted best by Prompt's, and lost half its SSIM). Elsewhere the line's layout drifts from every face's (another renderer's
    spacing and hinting: the WHO poster's line fits no face better than IoU 0.5), and the line-level
    fit ranks faces by how their spacing happens to drift; there the glyphs nearest the edit, each
    aligned to its own ink, decide (the poster's "hands" was matched to Roboto, and its new "b" was a
    third lighter than the "h" and "d" beside it). So do they among the faces whose line fits lie
    within FIT_BAND of the best, where none fits as a renderer's own would (SURE_FIT).

    Each shortlisted face is also fitted at the width the line's glyphs show (the retrieval's
    Candidate.x_scale, its distance measured from that width) where that is WIDTH_MIN or more off
    its own: a condensed or extended cut no package holds. Such a face stands only where
    truer_width holds, against the face as its file draws it.
    """
    rx0, ry0, rx1, ry1 = ink.region
    boxes = char_boxes(registry, ink, text, match.face)
    near = sorted((i for i, b in enumerate(boxes) if b is not None and not text[i].isspace()),
                  key=lambda i: 0 if start <= i < end else min(abs(i - start), abs(i - (end - 1))))
    glyphs = [(text[i], ink.coverage[max(0, b[1] - ry0) : b[3] - ry0, max(0, b[0] - rx0) : b[2] - rx0])
              for i in near for b in [boxes[i]]]
    shortlist, own = registry.library.retrieve(glyphs, top=LIBRARY_SHORTLIST, reference=match.face)
    found = [c for c in shortlist if registry.can_draw(c.face, drawn)]
    if not found:
        return match, []
    # Each face also at the width the line's glyphs show, where that is another (a condensed or
    # extended cut no package holds; each then competes with the faces as drawn), but not where
    # the letters lean (an italic face, or ink with a fitted slant): on a photo, upright
    # letters seen at an angle lean like an italic's, and a width fitted to them measures the angle
    # (the dev half's barrier "NO PARKING" took an italic condensed face 0.76 wide, its new B came
    # out blurred, and the judge read "DBARKING" where the agent verified "NOBARKING"). The cost: an
    # italic that is itself condensed or extended is drawn at its face's own width (Lato Italic
    # drawn 0.8 wide was fitted at 0.80 without this).
    upright = ink.slant == 0
    distance: dict[str, float] = {}
    for c in found:
        distance[c.face] = c.score
        if upright and not registry.is_italic(c.face) and abs(np.log(c.x_scale)) >= np.log(1 + WIDTH_MIN):
            distance[scaled_name(c.face, c.x_scale)] = c.scaled_score
    others = [registry.by_name[name] for name in distance if name != match.face]
    if not others:
        return match, [FaceCandidate(face=c.face, distance=c.score, fit=round(match.score, 4)) for c in found]
    fitted = match_font(registry, ink.coverage, text, ink.fg, ink.bg, faces=others, offset=(rx0, ry0), slant=ink.slant)
    fits = fitted.fits | {match.face: round(match.score, 4)}
    witnesses = [(text[i], boxes[i]) for i in near[:WITNESSES]]
    witness: dict[str, float] = {}

    def glyph_error(face) -> float:  # the witnesses' squared error, each drawn in face and aligned alone
        if face.name not in witness:
            _, size, baseline, _ = fit_face(registry, face, text, ink.coverage)
            if size <= 0:
                return np.inf
            witness[face.name] = sum(glyph_pen(registry, face.name, size, char, b, 0.0, baseline + ry0,
                                               (ink.coverage, (rx0, ry0))).error for char, b in witnesses)
        return witness[face.name]

    def truer_width(face) -> bool:
        """A face drawn at another width stands only where it lays the line out well (GOOD_FIT) and
        better than the face as its file draws it (by LIBRARY_GAIN of IoU), and its glyphs, each
        aligned alone, fit better (by WITNESS_GAIN): the line's spacing alone misleads (the unseen
        suite's Cmss10 "total", set as its file draws it, was measured 6% narrow and fitted so at
        IoU 0.53 against 0.38), and where no face lays the line out a width is fitted to what the
        faces cannot explain."""
        base = registry.by_name[unscaled_name(face.name)]
        return (fits.get(face.name, 0.0) >= max(GOOD_FIT, fits.get(base.name, 0.0) + LIBRARY_GAIN)
                and glyph_error(face) < WITNESS_GAIN * glyph_error(base))

    for refits in range(WIDTH_REFITS + 1):
        if registry.by_name[fitted.face].x_scale == 1.0 or truer_width(registry.by_name[fitted.face]):
            break
        # that width is not the line's: the next best without it (without any other width, after a few)
        others = [f for f in others if f.name != fitted.face and (refits < WIDTH_REFITS or f.x_scale == 1.0)]
        fitted = match_font(registry, ink.coverage, text, ink.fg, ink.bg, faces=others, offset=(rx0, ry0),
                            slant=ink.slant) if others else match

    def by_glyphs(faces: list, default):
        """default, or the face among faces (one at another width only where truer_width holds) whose
        glyphs fit clearly better (WITNESS_GAIN), refitted alone."""
        errors = {face.name: glyph_error(face) for face in faces if face.x_scale == 1.0 or truer_width(face)}
        chosen = min(errors, key=errors.__getitem__, default=default.face)
        kept = errors[default.face] if default.face in errors else glyph_error(registry.by_name[default.face])
        if chosen != default.face and errors[chosen] < WITNESS_GAIN * kept:
            return match_font(registry, ink.coverage, text, ink.fg, ink.bg, faces=[registry.by_name[chosen]], offset=(rx0, ry0), slant=ink.slant)
        return default

    best = match
    if max(fitted.score, match.score) >= GOOD_FIT:
        closer = own is None or distance[fitted.face] < own
        if closer and _fits_better(registry, ink, text, fitted, match):
            best = fitted
        # Where no face lays the line out as its renderer did (SURE_FIT), faces within FIT_BAND of the
        # best are not told apart by the layout (its spacing and the ink's noise weigh as much as their
        # letters' forms): there too the glyphs nearest the edit, each aligned alone, decide.
        top = max(fits.values())
        # (none under GOOD_FIT: a face that fits the line that poorly is planned as one that does not lay it out)
        band = [registry.by_name[name] for name, fit in fits.items() if fit >= max(GOOD_FIT, top - FIT_BAND)]
        if top < SURE_FIT and len(band) > 1:
            best = by_glyphs(band, best)
    else:
        best = by_glyphs([registry.by_name[match.face], *others], match)
    candidates = [FaceCandidate(face=name, distance=d, fit=fits.get(name),
                                glyph_error=round(witness[name], 2) if name in witness else None) for name, d in distance.items()]
    return best, candidates


FIT_BAND = 0.1  # line fits (IoU) this close to the best do not rank faces: their glyphs' error does (the unseen suite's
#                100 cases, each drawn in each of its 8 best-fitting faces: the glyphs' choice within 0.1 of the
#                best fit drew 72 edits at SSIM >= 0.75 against the layout's 69; within 0.05, 64; 0.2, 70) ...
SURE_FIT = 0.8  # ... unless a face fits the line this well: text set by a renderer like ours, in that face (the synthetic
#                suite's median fit is 0.94). There a blurred line's glyphs, drawn crisp, erred less in another face: three
#                synthetic edits set in FreeMono Bold, fitted at 0.90-0.97, went to Nimbus Mono PS Bold (0.81-0.90), each
#                less like its truth.
LIBRARY_GAIN = 0.02  # IoU a library face must fit the line better by to replace the registry's match (and a face at
#                      another width, to stand against the face as its file draws it)


def _fits_better(registry, ink, text: str, new, old) -> bool:
    """Whether the new match draws the line better than the old one on both measures: a higher IoU (by
    LIBRARY_GAIN) and a lower squared error of the soft coverage. match_font's choice among a few faces
    is relative to the best IoU among them: fitted alone against the registry's, the library's best
    beat the very face the synthetic suite drew its words in (FreeSans-BoldItalic lost to Prompt's)."""
    if new.score < old.score + LIBRARY_GAIN:
        return False
    rx0, ry0 = ink.region[:2]
    errors = [_soft_fit(registry, registry.by_name[m.face], text, ink.coverage, m.size, m.baseline - ry0, m.x0 - rx0)[0]
              for m in (new, old)]
    return errors[0] < errors[1]


EXEMPLAR_FACE_IOU = 0.88  # the matched face draws an exemplar this well (ink IoU) or better: the face draws it instead


def exemplars_in_line(registry, image: np.ndarray, text: str, boxes: list, edited: set[int], wanted: set[str], fg, bg,
                      face: str, size: int) -> list[Exemplar]:
    """For each wanted character, its occurrence in the line nearest the edit that the edit leaves
    alone, stands clear of its neighbours (a clear column each side: no other glyph's ink in it), lies
    on a plain ground (a textured one would come along with it) and that the matched face does not
    draw as it stands (ink IoU under EXEMPLAR_FACE_IOU). Its pixels are the image's own face, weight,
    blur and colour. Where the face draws it as well, the face's glyph lands on the sub-pixel phase
    the layout asks for and a copy on a whole pixel: the synthetic suite's 29 edits with an exemplar,
    drawn in faces the plan matched (IoU 0.79-1.0 with the exemplar, all but three over 0.9), lost
    0.03 of mean SSIM to them; a face no package holds drew its exemplars at 0.78-0.85. The plan asks
    only where no face lays the line out (IoU under GOOD_FIT): an italic the plan matched exactly
    drew its exemplar at 0.84, and the copy cost the edit its strict pass."""
    h, w = image.shape[:2]
    inked = [k for k, b in enumerate(boxes) if b is not None]
    out = []
    for ch in sorted(wanted):
        spots = []
        for n, k in enumerate(inked):
            if text[k] != ch or k in edited:
                continue
            x0, y0, x1, y1 = boxes[k]
            prev, nxt = (boxes[inked[n - 1]] if n else None), (boxes[inked[n + 1]] if n + 1 < len(inked) else None)
            left, right = (x0 - prev[2] if prev else 9), (nxt[0] - x1 if nxt else 9)
            if min(left, right) < 1:
                continue
            if busy_ground(image[max(0, y0 - 2) : min(h, y1 + 2), max(0, x0 - 2) : min(w, x1 + 2)], fg, bg):
                continue
            # its soft edge, a pixel past the box, where no neighbour's can be
            crop = (max(0, x0 - (left >= 2)), max(0, y0 - 1), min(w, x1 + (right >= 2)), min(h, y1 + 1))
            ink = observed_ink(image[y0:y1, x0:x1], fg, bg, None)
            if _face_draws(registry, face, size, ch, ink) >= EXEMPLAR_FACE_IOU or _drawn_as_other(registry, face, size, ch, ink):
                continue
            spots.append((min(abs(k - j) for j in edited), k, crop))
        if spots:
            _, k, b = min(spots)
            ws = text.rfind(" ", 0, k) + 1
            we = text.find(" ", k)
            out.append(Exemplar(char=ch, box=b, word=text[ws : we if we >= 0 else len(text)]))
    return out


# The characters an exemplar is compared with (besides its own): the recogniser's reading of it is
# checked against the face's drawing of every letter and digit.
EXEMPLAR_RIVALS = string.ascii_letters + string.digits
# Ink IoU (_shape_iou): a rival must draw the exemplar this much better than its own character does.
# Within it the face cannot tell them apart (a scan's true "n", in a face that only approximates the
# book's: 0.726 as an "n", 0.709 as a "u"); a misread one loses by far more (unseen-0-0030's "1" read
# as a "7": 0.38 as the "7", 0.71 as a "9").
EXEMPLAR_RIVAL_MARGIN = 0.05


def _drawn_as_other(registry, face: str, size: int, char: str, ink: np.ndarray) -> bool:
    """Whether the face draws another character (not a look-alike of this one) more like the
    exemplar's ink than this one: the recogniser misread the exemplar. unseen-0-0030's "1999 2024"
    was read "79992024", and the "1" was copied as the "7" of "2724": the edit read "2924"."""
    own = _shape_iou(registry, face, size, char, ink)
    # Rivals of its own height class only: stretched onto the exemplar's box, a squashed "d" could pass
    # for an "a" (a character of no class, "i", "t", "f", "j", meets them all).
    cls = height_class(char)
    return any(_shape_iou(registry, face, size, c, ink) > own + EXEMPLAR_RIVAL_MARGIN
               for c in EXEMPLAR_RIVALS if c != char and not look_alike(c, char) and (cls is None or height_class(c) == cls))


def _shape_iou(registry, face: str, size: int, char: str, ink: np.ndarray) -> float:
    """The ink IoU of the face's glyph for char, its ink box stretched onto the observed ink's: the
    shape alone. Exemplars are wanted where the face does not lay the line out (another width or
    weight), so placed as drawn every glyph would fit badly: a condensed "o" fitted an "n" better
    than an "o" in the nearest face (0.72 against 0.64), and stretched onto its box the "o" best (0.88)."""
    ob = ink_box(ink, 0.5)
    drawn = render_alpha(registry.font(face, size), char, (3 * size, 3 * size), (size, 2 * size))
    rb = ink_box(drawn, 0.5)
    if ob is None or rb is None:
        return 0.0
    observed = ink[ob[1] : ob[3], ob[0] : ob[2]] > 0.5
    glyph = Image.fromarray(np.round(drawn[rb[1] : rb[3], rb[0] : rb[2]] * 255).astype(np.uint8))
    stretched = np.asarray(glyph.resize((ob[2] - ob[0], ob[3] - ob[1]), Image.Resampling.BILINEAR)) > 127
    return float((stretched & observed).sum() / max(1, (stretched | observed).sum()))


def _face_draws(registry, face: str, size: int, char: str, ink: np.ndarray) -> float:
    """How well the face draws a glyph the image shows: the best ink IoU (> 0.5) of its rendering at the
    size or a step either side, ink boxes centred across and bottoms level, then moved a pixel either way."""
    observed = ink > 0.5
    ob = ink_box(ink, 0.5)
    if ob is None:
        return 0.0
    h, w = observed.shape
    best = 0.0
    for s in (size, size - 1, size + 1):
        drawn = render_alpha(registry.font(face, max(4, s)), char, (3 * s, 3 * s), (s, 2 * s)) > 0.5
        rb = ink_box(drawn.astype(np.float32), 0.5)
        if rb is None:
            continue
        ys, xs = np.nonzero(drawn)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                ty = ys + ob[3] - rb[3] + dy
                tx = xs + round((ob[0] + ob[2] - rb[0] - rb[2]) / 2) + dx
                inside = (ty >= 0) & (ty < h) & (tx >= 0) & (tx < w)
                placed = np.zeros_like(observed)
                placed[ty[inside], tx[inside]] = True
                best = max(best, float((placed & observed).sum() / max(1, (placed | observed).sum())))
    return best


PHANTOM_GAIN = 0.1  # how much better (ink IoU) the span alone must fit for the extra characters to go


def _without_phantoms(registry, ink, text: str, start: int, end: int, match, faces):
    """(text, start, end, match) with the characters OCR read at the line's edge, glued to
    the requested span, dropped when the ink does not hold them.

    easyocr now and then reads a character that is not there at a line's edge ("176342" for
    76342); cut six ways, five glyphs land in the wrong boxes. When at most two such characters
    (no space between) sit on one side of the span, the font fit decides: if the span alone
    explains the line's ink clearly better than the whole reading, they are dropped.
    """
    extra = text[:start] or text[end:]
    if (text[:start] and text[end:]) or not extra or len(extra) > 2 or any(c.isspace() for c in extra):
        return text, start, end, match
    alone = match_font(registry, ink.coverage, text[start:end], ink.fg, ink.bg, faces=faces,
                       offset=ink.region[:2], slant=ink.slant)
    if alone.score < match.score + PHANTOM_GAIN:
        return text, start, end, match
    return text[start:end], 0, end - start, alone


def _without_edge_marks(text: str, start: int, end: int, coverage: np.ndarray) -> tuple[str, int, int]:
    """(text, start, end) without a mark OCR read as a word of its own at the line's edge (one or
    two characters, no letter or digit, outside the requested span) where the ink has no glyph for
    it: its separate pieces number the other characters exactly. A sign's frame beside "NO PARKING"
    was read "=": ten characters cut from nine letters split the O in two, and the B drawn for the
    P went over the O's right half."""
    candidates = []
    if (lead := re.match(r"[^\w\s]{1,2}\s+", text)) and lead.end() <= start:
        candidates.append((text[lead.end() :], lead.end()))
    if (trail := re.search(r"\s+[^\w\s]{1,2}$", text)) and trail.start() >= end:
        candidates.append((text[: trail.start()], 0))
    if not candidates:
        return text, start, end
    _, pieces = ndimage.label(coverage > 0.5)
    for kept, shift in candidates:
        if pieces == len(squeeze(kept)) < len(squeeze(text)):
            return kept, start - shift, end - shift
    return text, start, end


BUSY = 0.1  # x the text's contrast: a ground whose own colours spread wider is textured


def busy_ground(pixels: np.ndarray, fg, bg) -> bool:
    """Whether the ground round some text (the pixels with next to no ink) is textured: the spread
    of its colours (their mean distance from its mean) is over BUSY x the text's contrast."""
    ground = pixels[observed_ink(pixels, fg, bg, None) < 0.1].astype(np.float32)
    if len(ground) < 20:
        return False
    contrast = float(np.linalg.norm(np.subtract(fg, bg, dtype=np.float32)))
    return float(np.linalg.norm(ground - ground.mean(0), axis=-1).mean()) > BUSY * contrast


def _plausible(registry, image: np.ndarray, text: str, boxes: list, match, indices, tilt: float = 0.0) -> list:
    """A character box far larger than the glyph it should hold (a failed cut that swallowed its
    neighbours), one that mostly misses it when the font fits well (a cut between interlocking
    italic letters that gave this one's stem to its neighbour; where the font only approximates
    the text its layout drifts, and a ledger's digits were moved onto their neighbours), or none
    at all for a visible character, is replaced by where the matched font's own layout puts it
    (on a tilted line, each glyph raised or lowered by the tilt from the layout's middle). A tilted
    line's boxes are not held to the level layout's: its "I" in "DAILY" turned 12 degrees lay 11 px
    above the layout's, and was moved down onto the ground."""
    font = registry.font(match.face, match.size)
    # Laid out on a canvas around the line, not the whole image (one layer per character: on a
    # 4000x3000 photo the whole-image canvas took 7.6 s and over a gigabyte), then moved back.
    left, top = int(np.floor(match.x0)) - match.size, int(np.floor(match.baseline)) - 2 * match.size
    canvas = (int(np.ceil(font.getlength(text))) + 2 * match.size, 3 * match.size)
    layout = render_text(font, text, canvas, (match.x0 - left, match.baseline - top))
    fixed = list(boxes)
    h, w = image.shape[:2]
    for i in indices:
        b, ref = boxes[i], layout.boxes[i]
        if ref is None:
            continue
        rise = round(tilt * ((ref[0] + ref[2]) / 2 - canvas[0] / 2))
        # Clipped to the image, as a glyph drawn on it would be.
        ref = (max(0, ref[0] + left), max(0, ref[1] + top + rise), min(w, ref[2] + left), min(h, ref[3] + top + rise))
        if ref[2] <= ref[0] or ref[3] <= ref[1]:
            continue
        if (b is None or (b[2] - b[0]) > 1.8 * (ref[2] - ref[0]) + 2 or (b[3] - b[1]) > 1.8 * (ref[3] - ref[1]) + 2
                or (match.score >= GOOD_FIT and not tilt and box_iou(b, ref) < 0.4)):
            fixed[i] = ref
    return fixed


TILT_PX = 1.5  # a line whose baseline rises or falls this far (px) over one font size is drawn tilted (under it, a glyph's ends stay within a pixel)
TILT_SPREAD = 0.05  # x the size: the glyphs' centres lie this close to one straight line per height class (median)


def baseline_tilt(text: str, boxes: list, size: int) -> float:
    """The slope of the line's baseline (dy per px across; 0 when level within TILT_PX over the
    size, or when the glyphs do not agree on one straight line).

    A sign photographed at an angle tilts its whole line; each new glyph was drawn upright on its
    own baseline, and an upright "R" in a line turned 12 degrees crowded the "I" before it: the
    judge read "DAIRY" as "DARY", and the edit had been verified. Witnesses: the centres of the
    glyphs' boxes, compared only within a height class (capitals with capitals, x-height letters
    with x-height letters). A tilted glyph's lowest ink is its foot's corner, further down the wider
    the glyph, so the feet would tilt the slope; a box's centre turns with the glyph's own.
    """
    centres: dict[int, list[tuple[float, float]]] = {}
    for c, b in zip(text, boxes, strict=True):
        if b is not None and (cls := height_class(c)) is not None:
            centres.setdefault(cls, []).append(((b[0] + b[2]) / 2, (b[1] + b[3]) / 2))
    # pairs at least half a size apart: a pixel of a box's centre is then at most 2 / size of slope
    slopes = [(y2 - y1) / (x2 - x1) for group in centres.values() for i, (x1, y1) in enumerate(group)
              for x2, y2 in group[i + 1 :] if abs(x2 - x1) >= 0.5 * size]
    if len(slopes) < 2:
        return 0.0
    slope = float(np.median(slopes))  # Theil-Sen: a glyph cut short or a merged neighbour is outvoted
    spread = []  # each centre's distance from its class's line (a class of one glyph says nothing)
    for group in centres.values():
        if len(group) >= 2:
            offsets = [y - slope * x for x, y in group]
            spread += [abs(o - float(np.median(offsets))) for o in offsets]
    if not spread or float(np.median(spread)) > TILT_SPREAD * size or abs(slope) * size < TILT_PX:
        return 0.0
    return round(slope, 4)


# The slope is refined this far (dy per px) either side of the glyphs' estimate (a few glyphs' boxes
# missed it by up to 0.03), in steps of a fifth of a pixel over a 40 px glyph.
TILT_SEARCH, TILT_STEP = 0.06, 0.005


# Where the glyphs' boxes give no estimate, the whole range a photographed line turns through is
# searched, a hundredth at a time, and a slope is taken only where it levels the ink clearly better.
TILT_RANGE, TILT_COARSE = 0.35, 0.01
TILT_GAIN = 0.1  # how much sharper (row profile) than level the best slope must make the ink


def _profile_sharpness(coverage: np.ndarray, slope: float) -> float:
    """How uneven the rows' ink is with the line levelled by `slope` (squared row sums)."""
    return float((vertical_shear(coverage, -slope, coverage.shape[1] / 2).sum(1) ** 2).sum())


def wide_tilt(coverage: np.ndarray, size: int) -> float:
    """A line's tilt when its glyphs' boxes cannot say (the projection-profile deskew over
    TILT_RANGE): the slope whose levelling makes the rows' ink clearly (TILT_GAIN) more uneven
    than level, else 0. A photo's word turned 14 degrees was cut upright into boxes that overlapped
    by a third of a letter, their centres agreed on no line, and the new "a" of "descant?" was
    drawn upright over the c before it."""
    pad = int(np.ceil(TILT_RANGE * coverage.shape[1] / 2)) + 1  # (ink sheared past the crop's top or bottom is kept)
    padded = np.pad(coverage, ((pad, pad), (0, 0)))
    slopes = TILT_COARSE * np.arange(-round(TILT_RANGE / TILT_COARSE), round(TILT_RANGE / TILT_COARSE) + 1)
    sharpness = np.array([_profile_sharpness(padded, float(s)) for s in slopes])
    best = int(np.argmax(sharpness))
    level = sharpness[len(slopes) // 2]
    if sharpness[best] < (1 + TILT_GAIN) * level or abs(slopes[best]) * size < TILT_PX:
        return 0.0
    return float(slopes[best])


def level_slope(coverage: np.ndarray, estimate: float, size: int) -> float:
    """The glyphs' estimate of a line's tilt refined on all its ink: the slope whose levelling
    makes the rows' ink most uneven (a level line's tops and baselines fall on single rows), the
    classic projection-profile deskew; 0 for a level line. Box centres follow each glyph's shape
    (a Y's box leans with its arms): "DAILY" turned 12 degrees was read at 14, and the crisp face,
    turned 2 degrees off, fitted the ink worse than a blurred one. No estimate: wide_tilt's."""
    if not estimate:
        estimate = wide_tilt(coverage, size)
    if not estimate:
        return 0.0
    slopes = estimate + TILT_STEP * np.arange(-round(TILT_SEARCH / TILT_STEP), round(TILT_SEARCH / TILT_STEP) + 1)
    sharpness = [_profile_sharpness(coverage, float(s)) for s in slopes]
    slope = float(slopes[int(np.argmax(sharpness))])
    return round(slope, 4) if abs(slope) * size >= TILT_PX else 0.0


BLURS = (0.5, 0.8, 1.1, 1.5)  # candidate Gaussian sigmas of an out-of-focus or resampled text


def _glyph_ink(image: np.ndarray, text: str, boxes: list, first: int, fg, bg, effect: EffectInfo | None, margin: int = 4):
    """(character, its box, the window around it, the observed ink there) for each inked character."""
    h, w = image.shape[:2]
    for k, b in enumerate(boxes):
        char = text[first + k]
        if b is None or char.isspace():
            continue
        window = (max(0, b[0] - margin), max(0, b[1] - margin), min(w, b[2] + margin), min(h, b[3] + margin))
        x0, y0, x1, y1 = window
        yield char, b, window, observed_ink(image[y0:y1, x0:x1], fg, bg, effect)


def _blur(registry, image: np.ndarray, text: str, boxes: list, first: int, match, fg, bg, effect: EffectInfo | None,
          tilt: float = 0.0, gain: float = 0.9) -> float:
    """The blur of the word: the sigma whose blurred rendering of its glyphs (each aligned to its
    own ink, so layout drift does not pass for blur) best matches the observed ink, when that
    beats the crisp rendering by a clear margin (1 - gain) and keeps the strokes' full strength.

    A face that does not quite fit also fits better blurred (a soft shape forgives a misplaced
    stroke), but blurred text has lost its peak: a sigma whose rendering peaks well below the
    observed ink's peak is that, and is not taken.
    """
    font = registry.font(match.face, match.size)
    lean = registry.drawn_slant(match.face, match.slant)
    errs = np.zeros(len(BLURS) + 1)
    peaks = np.zeros(len(BLURS) + 1)  # summed 99th percentiles: [0] observed, [j] rendered at BLURS[j - 1]
    for char, b, (x0, y0, x1, y1), observed in _glyph_ink(image, text, boxes, first, fg, bg, effect):
        pen = glyph_pen(registry, match.face, match.size, char, b, lean, match.baseline, (observed, (x0, y0)), slope=tilt)
        if pen.size != match.size:
            continue
        crisp = on_line(render_text(font, char, (x1 - x0, y1 - y0), (pen.x - x0, pen.baseline - y0), [0.0]).alpha,
                        lean, pen.baseline - y0, tilt, pen.x - x0)
        errs[0] += float(((crisp - observed) ** 2).sum())
        peaks[0] += float(np.percentile(observed, 99))
        for j, sigma in enumerate(BLURS, 1):
            blurred = ndimage.gaussian_filter(crisp, sigma)
            errs[j] += float(((blurred - observed) ** 2).sum())
            peaks[j] += float(np.percentile(blurred, 99))
    errs[1:][peaks[1:] < 0.9 * peaks[0]] = np.inf
    j = int(np.argmin(errs))
    return BLURS[j - 1] if j > 0 and errs[j] < gain * errs[0] else 0.0


WEIGHT_STEP = 0.25  # px: the candidate stroke weights are multiples of this


def _weight(registry, image: np.ndarray, text: str, boxes: list, first: int, match, fg, bg, effect: EffectInfo | None,
            blur: float, tilt: float = 0.0, gain: float = 0.8) -> float:
    """How far (px) the face's outlines must move out (bolder) or in (lighter) for its rendering of
    the word's glyphs, each aligned to its own ink at the word's size and blurred as the word is, to
    match the observed ink; 0 unless that beats the face's own weight by a clear margin (1 - gain).

    Faces come in a few weights here, text in many: a light or black face that is not in the
    registry matches its regular or bold one, whose strokes are a pixel or two off, and a new
    glyph drawn in it would stand out from its neighbours. Only measured where the face fits well
    and the letters have no outline or shadow: a wrong face, or an effect's ink, would be paid for
    in weight.
    """
    if effect is not None or match.score < GOOD_FIT:
        return 0.0
    steps = int(min(MAX_WEIGHT, max(2 * WEIGHT_STEP, 0.03 * match.size)) / WEIGHT_STEP)
    weights = WEIGHT_STEP * np.arange(-steps, steps + 1)
    errs = np.zeros(len(weights))
    lean = registry.drawn_slant(match.face, match.slant)
    for char, b, (x0, y0, x1, y1), observed in _glyph_ink(image, text, boxes, first, fg, bg, effect):
        pen = glyph_pen(registry, match.face, match.size, char, b, lean, match.baseline, (observed, (x0, y0)), fixed_size=True,
                        slope=tilt)
        outline = glyph_outline(registry, match.face, match.size, char, (y1 - y0, x1 - x0), (pen.x - x0, pen.baseline - y0))
        for i, weight in enumerate(weights):
            drawn = on_line(outline.coverage(weight), lean, pen.baseline - y0, tilt, pen.x - x0)
            if blur:
                drawn = ndimage.gaussian_filter(drawn, blur)
            errs[i] += float(((drawn - observed) ** 2).sum())
    zero, best = steps, int(np.argmin(errs))
    return float(weights[best]) if errs[best] < gain * errs[zero] else 0.0


def visual_word(text: str, boxes: list, start: int, end: int) -> tuple[int, int]:
    """The word around text[start:end] as the image shows it: a break is a visible gap between
    characters that the OCR also put a space in (gap > 0.25 x char height), or any wide gap (> 0.6 x).
    OCR inserts spaces that are not there ("6, 001 , 271") and drops some that are."""
    inked = [i for i, b in enumerate(boxes) if b is not None]
    if not inked:
        return start, end
    heights = sorted(boxes[i][3] - boxes[i][1] for i in inked)
    h = heights[len(heights) // 2]

    def joined(a: int, b: int) -> bool:  # a < b, both inked, consecutive among inked
        gap = boxes[b][0] - boxes[a][2]
        spaced = any(c.isspace() for c in text[a + 1 : b])
        return gap <= (0.25 if spaced else 0.6) * h

    pos = [k for k, i in enumerate(inked) if start <= i < end]
    if not pos:
        return start, end
    lo, hi = pos[0], pos[-1]
    while lo > 0 and joined(inked[lo - 1], inked[lo]):
        lo -= 1
    while hi < len(inked) - 1 and joined(inked[hi], inked[hi + 1]):
        hi += 1
    return min(inked[lo], start), max(inked[hi] + 1, end)


def observed_ink(pixels: np.ndarray, fg, bg, effect: EffectInfo | None) -> np.ndarray:
    """How much of each pixel is the text's fill. An outline lies off the line from the background
    to the fill colour, yet may project far along it (a black outline round a dark fill): there
    only the pixels on that line count."""
    if effect is not None and effect.kind == "outline":
        return ink_on_axis(pixels.astype(np.float32), fg, bg)
    return project_ink(pixels, fg, bg)


def verify_crop(image: np.ndarray, plan: EditPlan, mask_boxes: list, reset: bool = False) -> np.ndarray:
    """The word's crop (grown to include every mask) with a margin, as the recogniser likes it.
    reset: the word was set anew (agent/reflow.py): mask_boxes hold where it now lies, which is all
    the crop takes (a shorter word's old box holds the start of the next word), and the text on
    one side of it moved by the plan's dx."""
    box = None if reset else plan.word_box
    for b in mask_boxes:
        box = union(box, tuple(b))
    r = plan.reflow if reset else None
    moved_right = r.dx if r is not None and r.side == "after" else 0
    moved_left = -r.dx if r is not None and r.side == "before" else 0
    h, w = image.shape[:2]
    m = crop_margin(box[3] - box[1])
    x0, x1 = word_columns(plan, box, m, w, moved_left, moved_right)
    return image[max(0, box[1] - m) : min(h, box[3] + m), x0:x1]


def crop_margin(height: float) -> int:
    """The margin the recogniser likes round a word: a fifth of its height, at least 2 px."""
    return max(2, round(0.2 * height))


def word_columns(plan: EditPlan, box, m: int, width: int, moved_left: int = 0, moved_right: int = 0) -> tuple[int, int]:
    """The columns of a word's crop: its box and m either side, stopping halfway to the nearest ink
    outside the word (moved by a re-set line's dx), so no neighbour is read with it."""
    x0, x1 = max(0, box[0] - m), min(width, box[2] + m)
    left, right = plan.outside
    if left is not None and left[2] + moved_left <= box[0]:
        x0 = max(x0, (left[2] + moved_left + box[0] + 1) // 2)
    if right is not None and right[0] + moved_right >= box[2]:
        x1 = min(x1, (right[0] + moved_right + box[2]) // 2 + 1)
    return x0, x1
