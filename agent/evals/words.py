"""Word and phrase edits with exact ground truth: the `words` suite of issue #19.

A case is a line of 3-6 words drawn in a registry face on the training scenes' grounds (flat,
gradient, texture, noise; some blurred or JPEG'd), and the same line set again with one word
replaced by a word 2 characters shorter to 3 longer, or two neighbouring words by two others. The
truth is what a typesetter gives: the line laid out again from the same left edge, so the words
after the edit move by the width difference, and punctuation stays attached to its word. Cases
are fully determined by (seed, index).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.data import degrade, draw_text, random_background, random_text_colour
from tools.fonts import FontRegistry, ink_box, render_text
from tools.mask import union

# Everyday words of 2 to 10 letters: enough of each length for a replacement 2 shorter to 3 longer.
VOCABULARY = (
    "in on at to of by we go up no it is "
    "the and for new old big red sun day map art tea bus car run top "
    "open sale shop main park road city rain more bank gate hand cook fish time west east "
    "hands water price total green house north south today paper table light river store "
    "market garden coffee bakery closed street avenue centre bridge school office public museum "
    "station parking harbour morning evening kitchen library weather picture "
    "pharmacy building entrance shopping festival mountain vineyard "
    "breakfast apartment furniture chocolate principal "
    "restaurant collection department"
).split()
MAX_SHORTER, MAX_LONGER = 2, 3  # the replacement's length minus the old word's, at most
P_PHRASE = 0.2  # two neighbouring words replaced by two others
P_COMMA, P_FULL_STOP = 0.3, 0.5  # punctuation attached to words (kept by a right edit)
FONT_PX = (18, 40)  # text size range (pixels): small enough for a 6-word line to stay under 900 px
P_BLUR, P_JPEG = 0.2, 0.2  # degradations, as the synthetic suite
JPEG_BLOCK = 16  # px: PIL's JPEG codes colour in 16x16 blocks (4:2:0 chroma subsampling)
CHROMA_BLEED = 2  # px: how far the decoder's chroma upsampling carries a block's change into the next


@dataclass
class WordCase:
    id: str
    source: np.ndarray  # HxWx3 uint8
    target: np.ndarray  # the line set again with the new word(s)
    find: str  # the word or two-word phrase replaced
    replace: str  # its replacement
    line: str  # the source line
    new_line: str  # the target line (what the judge must read on the edit)
    keep: tuple[str, str]  # the line's text before and after the replaced words (must read unchanged)
    face: str
    line_box: tuple[int, int, int, int]  # source and target lines' ink, grown a little: what the judge reads
    edit_box: tuple[int, int, int, int]  # ... grown by the blur's reach and to JPEG blocks: where pixels may change
    conditions: tuple[str, ...]  # ground kind, blur, jpeg, phrase/shorter/longer/same-length


def _styled(word: str, style: str, first: bool) -> str:
    if style == "upper":
        return word.upper()
    if style == "title" or (style == "sentence" and first):
        return word.capitalize()
    return word


def _replacement(rng: np.random.Generator, old: str, avoid: set[str]) -> str:
    options = [w for w in VOCABULARY if w not in avoid and -MAX_SHORTER <= len(w) - len(old) <= MAX_LONGER and len(w) >= 2]
    return str(rng.choice(options))


def make_word_case(registry: FontRegistry, seed: int, index: int) -> WordCase:
    rng = np.random.default_rng([seed, index, 19])
    faces = registry.select()
    while True:
        n = int(rng.integers(3, 7))
        plain = [str(w) for w in rng.choice(VOCABULARY, n, replace=False)]  # no word twice: the request names one
        style = str(rng.choice(["lower", "sentence", "title", "upper"], p=[0.3, 0.3, 0.2, 0.2]))
        at = int(rng.integers(n))
        phrase = n >= 4 and rng.random() < P_PHRASE and at < n - 1
        count = 2 if phrase else 1
        new_plain = [_replacement(rng, w, set(plain)) for w in plain[at : at + count]]
        words = [_styled(w, style, i == 0) for i, w in enumerate(plain)]
        new_words = words[:at] + [_styled(w, style, at + i == 0) for i, w in enumerate(new_plain)] + words[at + count :]
        # Punctuation stays attached to the word it follows, also when that word is replaced.
        punct = [""] * n
        if rng.random() < P_COMMA and n >= 4:
            punct[int(rng.integers(n - 1))] = ","
        if rng.random() < P_FULL_STOP:
            punct[-1] = "."
        line = " ".join(w + p for w, p in zip(words, punct, strict=True))
        new_line = " ".join(w + p for w, p in zip(new_words, punct, strict=True))
        face = faces[int(rng.integers(len(faces)))]
        if registry.can_draw(face.name, line + new_line):
            break
    find, replace = " ".join(words[at : at + count]), " ".join(new_words[at : at + count])
    if phrase:  # a comma inside the phrase is the user's to name: it is in both texts
        find = " ".join(w + p for w, p in zip(words[at : at + count - 1], punct[at:], strict=False)) + " " + words[at + count - 1]
        replace = " ".join(w + p for w, p in zip(new_words[at : at + count - 1], punct[at:], strict=False)) + " " + new_words[at + count - 1]
    before = " ".join(w + p for w, p in zip(words[:at], punct[:at], strict=True))
    after = " ".join(w + p for w, p in zip(words[at + count :], punct[at + count :], strict=True))
    after = punct[at + count - 1] + (" " + after if after else "")
    size = int(rng.integers(*FONT_PX, endpoint=True))
    font = registry.font(face.name, size)
    margin = int(size * rng.uniform(0.5, 1.2))
    w = int(max(font.getlength(line), font.getlength(new_line))) + 2 * margin
    h = int(size * rng.uniform(1.7, 2.4))
    origin = (float(margin), float(round(h * 0.5 + size * 0.35)))
    src = render_text(font, line, (w, h), origin)
    dst = render_text(font, new_line, (w, h), origin)
    ground, ground_kind, mean = random_background(rng, h, w)
    fg = random_text_colour(rng, mean)
    ops: list[tuple] = []
    if rng.random() < P_BLUR:
        ops.append(("blur", float(rng.uniform(0.3, 0.8))))
    if rng.random() < P_JPEG:
        ops.append(("jpeg", int(rng.integers(60, 95))))
    source = degrade(draw_text(ground, src.alpha, fg, None), ops)
    target = degrade(draw_text(ground, dst.alpha, fg, None), ops)
    box = union(ink_box(src.alpha), ink_box(dst.alpha))
    m = max(3, size // 5)
    line_box = (max(0, box[0] - m), max(0, box[1] - m), min(w, box[2] + m), min(h, box[3] + m))
    # Where a correct edit may change pixels: the two lines' ink, a margin for anti-aliasing, the
    # blur's reach, and for a JPEG the whole coding blocks those touch (the true edit, re-encoded,
    # changes them too: in 39 of the first 200 cases it changed pixels outside the ink's margin).
    m += int(np.ceil(2 * max((op[1] for op in ops if op[0] == "blur"), default=0.0)))
    x0, y0, x1, y1 = box[0] - m, box[1] - m, box[2] + m, box[3] + m
    if any(op[0] == "jpeg" for op in ops):
        x0, y0 = x0 // JPEG_BLOCK * JPEG_BLOCK, y0 // JPEG_BLOCK * JPEG_BLOCK
        x1, y1 = -(-x1 // JPEG_BLOCK) * JPEG_BLOCK, -(-y1 // JPEG_BLOCK) * JPEG_BLOCK
        # ... and the decoder's chroma upsampling blends a pixel into the next block
        x0, y0, x1, y1 = x0 - CHROMA_BLEED, y0 - CHROMA_BLEED, x1 + CHROMA_BLEED, y1 + CHROMA_BLEED
    edit_box = (max(0, x0), max(0, y0), min(w, x1), min(h, y1))
    delta = len(replace) - len(find)
    kind = "phrase" if phrase else ("same-length" if delta == 0 else ("longer" if delta > 0 else "shorter"))
    return WordCase(f"words-{seed}-{index:04d}", source, target, find, replace, line, new_line, (before, after),
                    face.name, line_box, edit_box, (ground_kind, *(op[0] for op in ops), kind))
