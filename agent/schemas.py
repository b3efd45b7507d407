"""The data that flows through glyphfix: one pydantic schema per concept, shared by the CLI, the
tool-call API (MCP, LangChain) and the graph."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, ValidationError, computed_field, field_validator, model_validator

from tools.fonts import Category
from tools.level import Levelled

Method = Literal["agent", "single-shot", "naive"]
Tool = Literal["glyph-diffusion", "naive"]  # inpainting backends (tools/inpaint.py, models/inpaint_tool.py)
Status = Literal["verified", "failed", "error"]
Box = tuple[int, int, int, int]
Confirmation = Literal["reading", "likelihood", "reading+pixels"]  # how a passing attempt was confirmed


class EditRequest(BaseModel):
    """What to change in which image."""

    image: str = Field(description="Path of the input image (never modified).")
    find: str = Field(description="Text in the image to change: a word, part of a line, or a substring such as '001'.")
    replace: str = Field(description="What it should read instead (case-sensitive).")
    occurrence: int | None = Field(
        default=None, ge=-1, description="Which occurrence of find, 1-based in reading order (-1: the last); default: the only one or the first."
    )
    region: Box | None = Field(default=None, description="Look for find only inside this box (x0, y0, x1, y1; end "
                               "exclusive); default: the whole image. Reading a part of a large image is faster.")
    seed: int = Field(default=0, description="Random seed; the same request and seed give the same pixels.")
    max_attempts: int = Field(default=6, ge=1, le=50, description="Budget of repaint attempts (agent method).")
    method: Method = Field(default="agent", description="agent (verify and retry), single-shot (one diffusion attempt) or naive (OpenCV inpaint + drawn glyph).")
    move_line: bool = Field(default=False, description="Let a replacement of another width move the rest of its line "
                            "(set like a typesetter), or its re-set ground reach past the word's box, and still be "
                            "verified, the line then read and checked whole. "
                            "Default: a verified edit changes no pixel outside the word; one that had to move its "
                            "line is returned unverified, saying so.")

    @field_validator("find", "replace")
    @classmethod
    def _not_empty(cls, v: str) -> str:
        if not v or not v.strip():
            raise ValueError("must not be empty")
        if "\n" in v:
            raise ValueError("must be a single line")
        return v

    @field_validator("region")
    @classmethod
    def _a_box(cls, v: Box | None) -> Box | None:
        if v is not None and (min(v) < 0 or v[2] <= v[0] or v[3] <= v[1]):
            raise ValueError("must be x0,y0,x1,y1 with x0 < x1, y0 < y1, none negative")
        return v

    @field_validator("occurrence")
    @classmethod
    def _counted(cls, v: int | None) -> int | None:
        if v == 0:
            raise ValueError("occurrences count from 1 (or -1 for the last)")
        return v

    @model_validator(mode="after")
    def _differs(self) -> EditRequest:
        if self.find == self.replace:
            raise ValueError("find and replace are the same: nothing to change")
        return self


class EffectInfo(BaseModel):
    kind: Literal["outline", "shadow"] = Field(description="An outline around the letters or a drop shadow under them.")
    colour: tuple[int, int, int] = Field(description="Colour of the outline or shadow.")
    width: int = Field(default=0, description="Outline: how far it reaches beyond the ink (px).")
    offset: tuple[int, int] = Field(default=(0, 0), description="Shadow: (dx, dy) from the ink (px).")
    blur: float = Field(default=0.0, description="Shadow: Gaussian sigma (px).")


class FaceCandidate(BaseModel):
    face: str = Field(description="A font library face (ending in @x<scale>: drawn at the width the line's glyphs show).")
    distance: float = Field(description="How far its glyphs are from the line's own (tools.library retrieval; lower is closer).")
    fit: float | None = Field(default=None, description="IoU of the line drawn in it with the observed ink (None: not fitted).")
    glyph_error: float | None = Field(default=None, description="Squared error of the glyphs nearest the edit, each drawn "
                                      "in it and aligned to its own ink (where the line's layout fits no face, or "
                                      "none surely: then faces within 0.1 of the best fit are ranked by it; lower "
                                      "is closer; None: not measured).")


class FontInfo(BaseModel):
    face: str = Field(description="Face the text is matched to (a registry face or a font library face; a name ending "
                      "in @x<scale>, e.g. Roboto@x0.86, is that face drawn <scale> times as wide: a condensed or extended "
                      "cut fitted to the line's own glyphs).")
    category: Category = Field(description="sans, serif or mono.")
    size: int = Field(description="Font size in pixels.")
    baseline: float = Field(default=0.0, description="y of the line's baseline in the image (fallback for placing glyphs).")
    slant: float = Field(description="Shear of the strokes (dx per dy).")
    tilt: float = Field(default=0.0, description="Slope of the line's baseline (dy per px across, image rows: negative "
                        "rises to the right; 0 for a level line): new glyphs are set on it, their columns moved down by it "
                        "times their distance from the pen (tools.fonts.tilt).")
    fg: tuple[int, int, int] = Field(description="Text colour (as its letters show it: what finds their ink).")
    drawn_fg: tuple[int, int, int] | None = Field(default=None, description="The colour new letters are drawn in where "
                                                  "it is not fg: a JPEG'd word's thin strokes show paler than the colour "
                                                  "they were drawn in (tools/compression.drawn_colour). None: fg.")
    bg: tuple[int, int, int] = Field(description="Background colour.")
    score: float = Field(description="IoU of the matched rendering with the observed ink.")
    blur: float = Field(default=0.0, description="Gaussian sigma (px) that makes the crisp rendering look like the observed ink.")
    weight: float = Field(default=0.0, description="Pixels the face's outlines move out (bolder) or in (lighter) to match the ink's strokes.")
    effect: EffectInfo | None = Field(default=None, description="Outline or drop shadow drawn under the letters, if any.")
    candidates: list[FaceCandidate] = Field(default_factory=list, description="The font library's closest faces to the "
                                            "line's glyphs, closest first, each fitted to the line; the face chosen is "
                                            "the best fit of these and the registry's.")


class CharEdit(BaseModel):
    index: int = Field(description="Position of the character inside the found text.")
    old: str
    new: str
    box: Box | None = Field(description="Ink box of the old character (x0, y0, x1, y1).")


class Cut(BaseModel):
    """A line between two glyphs that leans with the text: pixel (x, y) lies right of it when
    x >= x_base + lean * (baseline - y)."""

    x_base: float = Field(description="Where the line crosses the baseline (image x).")
    lean: float = Field(description="dx per pixel above the baseline (the ink's slant, italic faces included).")


class Reflow(BaseModel):
    """How a replacement of another length is set (agent/reflow.py): the characters the old and new
    text share at the word's start keep their pixels, those they share at its end move with the
    rest of the line, the ones between are erased and drawn anew."""

    how: Literal["moved", "tracked", "condensed"] = Field(
        description="moved: the word's moving part (its shared ending, and the rest of the line unless `why` says it keeps "
        "its pixels) moves by dx; with dx 0, a narrower text set against the punctuation after it (nothing moves). "
        "tracked: the new characters are set closer (the line cannot move that far) or, where the difference is within "
        "a reader's notice, in the old width (nothing else moves). condensed: as tracked, and the new characters are also "
        "drawn narrower (condense).")
    side: Literal["after", "before"] = Field(default="after", description="after: what follows the changed characters "
                                             "moves (dx); before: what precedes them moves (-dx), as right-aligned text does.")
    why: str = Field(description="Why it was set that way, in one line.")
    head: int = Field(description="Characters at the start of the word that old and new share (their pixels stay).")
    tail: int = Field(description="Characters at the end of the word that old and new share (they move with the line).")
    pen_x: float = Field(description="Pen x of the first new character.")
    baseline: float
    size: int = Field(description="Font size the new characters are drawn at (the word's glyphs agree on it).")
    tracking: float = Field(description="Scale of the new characters' advances (1: the face's own spacing).")
    condense: float = Field(default=1.0, description="Horizontal scale of the new characters as drawn, about the first "
                            "one's pen (1: the face's own width; down to agent/reflow.CONDENSE_MIN where the word must fit).")
    cut_before: Cut = Field(description="Between the kept head and the replaced characters.")
    cut_after: Cut = Field(description="Between the replaced characters and the kept tail (or what follows the word).")
    dx: int = Field(description="How far the moving part moves (px; what follows moves dx, or what precedes -dx): the "
                    "width difference, or 0 where nothing moves.")
    run: tuple[int, int] = Field(description="Where the moving part ends (image x, end exclusive): the line's ink, or the "
                                 "word's own end where the rest of the line keeps its pixels; it runs from a cut to one "
                                 "of them.")
    band: tuple[int, int] = Field(description="The rows the edit may change (y0, y1).")
    cells: Literal["face", "figures", "all"] = Field(
        default="face", description="How the characters advance: the matched face's own widths; figures in equal "
        "cells as wide as its 0 (tabular figures, which the face's are not); or every character so (monospaced text).")
    frame: tuple[int, int, int, int] | None = Field(
        default=None, description="The right side of a box drawn round the line (x0, y0, x1, y1; px of the plan's frame), moved dx "
        "with what follows, its top and bottom drawn on: the box grows with its text.")
    rows: tuple[float, float] | None = Field(default=None, description="The rows the line's letters span ([top, bottom), px of "
                                             "the plan's frame: the face's extent for its text and the word's own ink); strokes "
                                             "mostly outside them are another line's, kept where they are.")
    run_text: str = Field(default="", description="What the detector read in the run's other boxes (the words on the "
                          "line's row it joins): their tallest and deepest glyphs, with the line's and the new word's, "
                          "bound the rows that move.")
    carried: list[tuple[int, int, int, int]] = Field(
        default_factory=list, description="Punctuation (ink boxes; px of the plan's frame) kept with what follows the changed "
        "characters whichever side of cut_after it lies, whole: a mark no cut can part from their last glyph (an italic "
        "letter's tail leans over its full stop), and marks against the word's end that the recogniser did not read "
        "(a comma's tail lies below the rows of the text it read).")


class Exemplar(BaseModel):
    """A glyph the image already shows in the word's style: the new character drawn by the image itself."""

    char: str
    box: Box = Field(description="Where its pixels are taken: its ink box and a pixel round it where no neighbour's ink is.")
    word: str = Field(description="The word of the line it stands in.")

    def describe(self) -> str:
        return f'"{self.char}" of "{self.word}" at {list(self.box)}'


class EditPlan(BaseModel):
    line_text: str = Field(description="The OCR line the text was found in.")
    line_box: Box
    start: int = Field(description="Index of the found text in the line.")
    word_start: int = Field(description="Index of the word in the line.")
    word: str = Field(description="The whole word around the found text (as the image spaces it), before the edit.")
    new_word: str = Field(description="That word after the edit: what verification must read.")
    word_box: Box = Field(description="Box of the word; verification reads this crop.")
    target: tuple[int, int] | None = Field(default=None, description="The characters the user named, as indices into "
                                           "word/char_boxes (the word as the image shows it may take in more: OCR "
                                           "spaces, punctuation, a neighbour set close).")
    char_boxes: list[Box | None] = Field(description="Per-character boxes of the word.")
    outside: tuple[Box | None, Box | None] = Field(default=(None, None), description="Nearest ink boxes left and right of the word.")
    mode: Literal["chars", "relayout"] = Field(description="chars: same length, repaint differing characters; relayout: redraw the word.")
    crowded: bool = Field(default=False, description="chars only: new letters drawn in the old ones' places would "
                          "cover a kept neighbour (agent/plan.CROWDING); after two failed attempts in place (agent/graph.CROWDED_AFTER) the "
                          "word is set anew where its line has room.")
    edits: list[CharEdit]
    jpeg_quality: int | None = Field(default=None, description="JPEG quality the word's surroundings show (repaints are re-encoded to match); None: no JPEG seen.")
    original_read: str | None = Field(default=None, description="How the verifier reads the untouched word (its crop), the reference for unedited characters.")
    exact_reading: bool = Field(default=False, description="Found only beyond the edit-distance rule, by the recogniser's "
                                "likelihoods (agent/plan.read_beyond): after the edit every character must read as the user "
                                "typed it; none passes for reading as the recogniser read it before.")
    font: FontInfo
    reflow: Reflow | None = Field(default=None, description="relayout: how the new text is set and the line moved.")
    line_tilt: float = Field(default=0.0, description="The line's measured tilt (as FontInfo.tilt), also for a re-set "
                             "word, whose FontInfo.tilt is 0: it is set level, in the frame below.")
    frame: Levelled | None = Field(default=None, description="relayout on a tilted line (or chars on one, after the "
                                   "attempts drawn in place failed): the levelled frame "
                                   "(tools/level.py) the word was planned, drawn and verified in. Every box and row of "
                                   "this plan and its reflow is in that frame (in_image maps one back; the attempts' "
                                   "boxes are the image's); None: the image's own.")
    exemplars: list[Exemplar] = Field(default_factory=list, description="chars: new characters the line already shows "
                                      "elsewhere (unedited, standing clear of their neighbours, on a plain ground); "
                                      "an attempt may draw them from these pixels rather than from the face.")

    def edited_in_word(self) -> set[int]:
        """The indices in `word` (and `char_boxes`) of the characters the edits repaint."""
        return {self.start - self.word_start + e.index for e in self.edits}

    def in_image(self, box: Box) -> Box:
        """A box of this plan in the image's frame (a re-set word on a tilted line, and characters that failed
        drawn in place on one, are planned in a levelled one)."""
        return box if self.frame is None else self.frame.to_image(box)


class StyleCheck(BaseModel):
    """The new glyphs' stroke weight and height against the word's unchanged glyphs (agent/style.py)."""

    stroke: float | None = Field(default=None, description="Mean stroke width (px) of the new glyphs (None: the face "
                                 "fits the line too poorly to say how heavy they should be).")
    expected_stroke: float | None = Field(default=None, description="What the new glyphs' stroke width should be: the "
                                          "median of the word's unchanged glyphs', times the ratio the matched face draws between these letters.")
    ratio: float | None = Field(default=None, description="stroke / expected_stroke (1: as heavy as the word's own glyphs).")
    height_ratio: float | None = Field(default=None, description="The new glyphs' ink height over what the matched face's "
                                       "letters say it is next to the word's unchanged ones (1: the word's size).")
    witnesses: int = Field(description="Unchanged glyphs measured.")
    control_ratio: float | None = Field(default=None, description="Where the ratio lies outside the tolerance: the same "
                                        "ratio of the old glyphs in the original (right letters, in place; None: not "
                                        "measurable). Outside the tolerance too, the measure cannot judge a stroke here, and "
                                        "the stroke is not judged.")
    passed: bool = Field(description="Each ratio judged lies within the tolerance a right letter in the right face shows.")


class Attempt(BaseModel):
    number: int
    tool: Tool = Field(description="glyph-diffusion or naive.")
    seed: int
    guidance: float
    steps: int
    mask_pad: int = Field(description="Pixels added around the old+new glyph boxes.")
    mask_grow_x: int = Field(description="Extra pixels toward the neighbours.")
    mask_shaped: bool = Field(default=True, description="Only the old and new glyphs' ink (with a halo) inside the boxes was repainted.")
    size_scale: float = Field(description="Scale applied to the matched font size for the draft.")
    weight: float = Field(default=0.0, description="Pixels the glyphs' outlines moved out (in: negative) beyond the "
                          "plan's weight: a retry after the style check found the strokes lighter or heavier.")
    exemplars: list[str] = Field(default_factory=list, description="Glyphs drawn from the image's own pixels: which "
                                 "character, from which word and box (plan.exemplars); the others from the face.")
    mask_boxes: list[Box] = Field(description="The boxes of the pixels the attempt changed, in the image's frame (also "
                                  "for a plan in a levelled frame: EditPlan.frame).")
    ocr_text: str = Field(description="What the verifier read on the word crop.")
    ocr_confidence: float
    passed: bool
    confirmed_by: Confirmation | None = Field(
        default=None, description="reading: read exactly as requested; likelihood: read with look-alike characters "
        "(5/S, 1/l, x/X) in unedited characters only, and the recogniser scores the requested word near its reading "
        "and far above the old word; reading+pixels: a re-set word of another length whose letters read exactly as "
        "requested, while the punctuation it kept (. , : ;) is checked on its pixels (moved unchanged), not read.")
    style: StyleCheck | None = Field(default=None, description="The new glyphs' stroke weight and height against the word's "
                                     "unchanged glyphs (None: not checked: a re-set word, no unchanged glyph to compare, "
                                     "glyphs under 8 px, or letters with an outline or shadow).")
    line_before: str | None = Field(default=None, description="The whole line read from scratch in the original "
                                    "(no character boxes): the reference of the line check.")
    line_read: str | None = Field(default=None, description="The whole line read from scratch after the edit: it must "
                                  "read as line_before with only the requested word changed.")
    changed_outside_word: int | None = Field(default=None, description="Changed pixels outside the word's box plus a "
                                             "margin, or on its neighbours' ink (must be 0; what a re-set word moved or grew into counts: why_failed reset-past-word).")
    seconds: float
    why_failed: str | None = None


class EditResult(BaseModel):
    status: Status = Field(description="verified: OCR read back exactly the requested text; failed: budget spent, output holds the best attempt; error: nothing done.")
    output: str | None = Field(default=None, description="Path of the written image.")
    request: EditRequest | None = None
    plan: EditPlan | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    seconds: float = 0.0
    message: str = ""
    occurrences: int | None = Field(default=None, description="How many times find occurs in the image; when more than "
                                    "once, `occurrence` (or the first, in reading order) was edited: its box is plan.word_box.")
    edited_occurrence: int | None = Field(default=None, description="Which occurrence was edited (1-based, reading order).")

    kept_attempt: int | None = Field(default=None, description="The number of the attempt the output holds: the "
                                     "verified one, else the best (a pass, then characters read right, then confidence).")

    @computed_field(description="The likeness check of the attempt the output holds (kept_attempt): "  # type: ignore[prop-decorator]
                    "the new glyphs' stroke weight and height against the word's own (None: not checked).")
    @property
    def style(self) -> StyleCheck | None:
        chosen = next((a for a in self.attempts if a.number == self.kept_attempt), None)
        return chosen.style if chosen is not None else None

    edits: list[EditResult] = Field(default_factory=list, description="A request with several edits: each edit's own "
                                    "result, in order (each ran on the image the one before it left); the status is "
                                    "verified only when every edit is.")


def request_error(e: ValueError) -> str:
    """A request that failed validation, in one line for a person: "bad request: find: must not be
    empty" (pydantic's own text is three lines with a banner and a link)."""
    errors = e.errors() if isinstance(e, ValidationError) else []
    if not errors:
        return f"bad request: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
    err = errors[0]
    where = ".".join(str(x) for x in err["loc"])
    return f"bad request: {where + ': ' if where else ''}{err['msg'].removeprefix('Value error, ')}"


class EditSpec(BaseModel):
    """One edit of a request with several (the image, seed, budget and method are the request's)."""

    find: str = Field(description="Text in the image to change.")
    replace: str = Field(description="What it should read instead (case-sensitive).")
    occurrence: int | None = Field(default=None, ge=-1, description="Which occurrence of find, 1-based in reading order (-1: the last).")


class CharBox(BaseModel):
    char: str
    box: Box


class WordReading(BaseModel):
    text: str
    box: Box
    start: int = Field(description="Index of the word's first character in its line's text.")
    chars: list[CharBox] = Field(description="One tight box per character, in reading order.")


class LineReading(BaseModel):
    text: str
    confidence: float
    box: Box
    words: list[WordReading]


class TextReading(BaseModel):
    """Everything glyphfix read in an image, in reading order."""

    width: int
    height: int
    lines: list[LineReading]
