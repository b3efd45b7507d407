"""Word edits inside annotation boxes, with exact ground truth: the `boxed` suite.

The held-out real benchmark's weakest kind is the annotated image: an OCR tool's word boxes drawn
round every word (Textract's, pdfplumber's), a labelling tool's coloured frames, a reviewer's red
rectangle round one word, a highlighter's band behind it. Its five test-half cases read right in
one (2026-12-05, run 18), and its 27 development cases hold ten images. This suite makes such
images from a seed, many more of them than exist by hand:

A case is a line of 3-6 words in a registry face on the training scenes' grounds, one word of
which is replaced by a word of the same length (a vocabulary word, or the word with one or two
letters changed: a form's "Previous" -> "Precious"), set at the old word's pen, as a character
edit leaves it; the rest of the line keeps its place. Annotations are drawn over the text after
it is set, at the old words' boxes in the source and the truth alike (a user's annotation is
not part of the edit): outlines round every word or round the edited one only, in a tool's
colour, 1-3 px thick, 0-4 px from the ink (tight boxes touch the letters' extremes), or a
translucent highlight band behind the edited word. Cases are fully determined by (seed, index).
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

from agent.evals.words import CHROMA_BLEED, FONT_PX, JPEG_BLOCK, P_BLUR, P_JPEG, VOCABULARY, WordCase, _styled
from models.data import degrade, draw_text, random_background, random_text_colour
from tools.fonts import FontRegistry, composite, ink_box, render_text
from tools.mask import union

# Annotation tools' colours: Textract's and pdfplumber's reds and blues, labelling tools' greens,
# oranges and magentas, a reviewer's pen red.
PALETTE = ((230, 30, 40), (220, 0, 0), (40, 90, 230), (0, 160, 60), (255, 140, 0), (200, 0, 200), (0, 170, 200))
HIGHLIGHTS = ((255, 240, 60), (140, 240, 120), (255, 150, 200), (120, 220, 255))  # highlighter inks
P_HIGHLIGHT = 0.25  # a highlight band behind the word, not an outline
P_ALL_WORDS = 0.5  # outlines round every word (an OCR tool's word boxes), else round the edited one only
THICKNESS = (1, 3)  # px, an outline's line
PAD = (0, 4)  # px between the ink's box and the outline's inner side
HIGHLIGHT_ALPHA = 0.45  # the band's share over the ground (a highlighter is translucent: the text stays dark)
P_LETTERS = 0.5  # the new word is the old one with one or two letters changed, else a vocabulary word
WIDTH_RANGE = (0.8, 1.0)  # the new word's ink width over the old one's: it stays inside the old word's box
#                           (its ink rows too: see make_boxed_case)


@dataclass
class BoxedCase(WordCase):
    annotation: str = ""  # "outline-all", "outline-one" or "highlight"


def _letters_changed(rng: np.random.Generator, word: str) -> str:
    """The word with one or two of its letters changed (in their case): a form's "Previous" -> "Precious"."""
    out = list(word)
    for i in rng.choice(len(word), size=min(len(word), int(rng.integers(1, 3))), replace=False):
        pool = string.ascii_uppercase if word[i].isupper() else string.ascii_lowercase
        out[i] = str(rng.choice([c for c in pool if c != word[i].lower() and c != word[i].upper()]))
    return "".join(out)


def _outline(img: np.ndarray, box: tuple[int, int, int, int], colour, thickness: int) -> None:
    """Draw a rectangle's outline (in place) whose inner side is `box`."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = box
    ox0, oy0, ox1, oy1 = max(0, x0 - thickness), max(0, y0 - thickness), min(w, x1 + thickness), min(h, y1 + thickness)
    img[oy0 : max(0, y0), ox0:ox1] = colour
    img[min(h, y1) : oy1, ox0:ox1] = colour
    img[oy0:oy1, ox0 : max(0, x0)] = colour
    img[oy0:oy1, min(w, x1) : ox1] = colour


def make_boxed_case(registry: FontRegistry, seed: int, index: int) -> BoxedCase:
    rng = np.random.default_rng([seed, index, 23])
    faces = registry.select()
    while True:
        n = int(rng.integers(3, 7))
        plain = [str(w) for w in rng.choice([w for w in VOCABULARY if len(w) >= 3], n, replace=False)]
        style = str(rng.choice(["lower", "sentence", "title", "upper"], p=[0.3, 0.3, 0.2, 0.2]))
        words = [_styled(w, style, i == 0) for i, w in enumerate(plain)]
        at = int(rng.integers(n))
        old = words[at]
        if rng.random() < P_LETTERS:
            new = _letters_changed(rng, old)
        else:
            options = [w for w in VOCABULARY if len(w) == len(old) and w != plain[at]]
            new = _styled(str(rng.choice(options)), style, at == 0) if options else _letters_changed(rng, old)
        face = faces[int(rng.integers(len(faces)))]
        size = int(rng.integers(*FONT_PX, endpoint=True))
        font = registry.font(face.name, size)
        line = " ".join(words)
        if not registry.can_draw(face.name, line + new):
            continue
        probe_old, probe_new = ink_box(render_text(font, old, (4 * size * len(old), 3 * size), (size, 2 * size)).alpha), \
            ink_box(render_text(font, new, (4 * size * len(new), 3 * size), (size, 2 * size)).alpha)
        if probe_old is None or probe_new is None:
            continue
        ratio = (probe_new[2] - probe_new[0]) / max(1, probe_old[2] - probe_old[0])
        # (no new ascender or descender either: "closed" -> "public" ran its p through the box's bottom side)
        if WIDTH_RANGE[0] <= ratio <= WIDTH_RANGE[1] and probe_new[1] >= probe_old[1] and probe_new[3] <= probe_old[3]:
            break
    # Each word set at its own pen on one baseline: the edited word's replacement at the same pen,
    # the words after it where they were (a character edit leaves the line in place).
    margin = int(size * rng.uniform(0.8, 1.4))
    w = int(font.getlength(line)) + 2 * margin
    h = int(size * rng.uniform(2.0, 2.6))
    base = float(round(h * 0.5 + size * 0.35))
    pens = [margin + font.getlength(" ".join(words[:i]) + (" " if i else "")) for i in range(n)]
    word_alpha = [render_text(font, word, (w, h), (pen, base)).alpha for word, pen in zip(words, pens, strict=True)]
    new_alpha = render_text(font, new, (w, h), (pens[at], base)).alpha
    src_alpha = np.max(word_alpha, axis=0)
    dst_alpha = np.max([a for i, a in enumerate(word_alpha) if i != at] + [new_alpha], axis=0)
    ground, ground_kind, mean = random_background(rng, h, w)
    fg = random_text_colour(rng, mean)
    # The annotations, at the old words' ink boxes, in both pictures.
    boxes = [ink_box(a) for a in word_alpha]
    annotation = ("highlight" if rng.random() < P_HIGHLIGHT else
                  "outline-all" if rng.random() < P_ALL_WORDS else "outline-one")
    thickness = int(rng.integers(THICKNESS[0], THICKNESS[1] + 1))
    pad = int(rng.integers(PAD[0], PAD[1] + 1))
    colour = np.asarray(PALETTE[int(rng.integers(len(PALETTE)))], np.float32)
    marker = np.asarray(HIGHLIGHTS[int(rng.integers(len(HIGHLIGHTS)))], np.float32)

    def annotated(alpha: np.ndarray) -> np.ndarray:
        img = ground.copy()
        if annotation == "highlight":
            x0, y0, x1, y1 = boxes[at]
            band = np.zeros((h, w), np.float32)
            band[max(0, y0 - pad - 2) : y1 + pad + 2, max(0, x0 - pad) : x1 + pad] = HIGHLIGHT_ALPHA
            img = composite(img, band, marker)
        img = draw_text(img, alpha, fg, None)
        if annotation != "highlight":
            for i, (x0, y0, x1, y1) in enumerate(boxes):
                if annotation == "outline-all" or i == at:
                    _outline(img, (x0 - pad, y0 - pad, x1 + pad, y1 + pad), colour, thickness)
        return img

    ops: list[tuple] = []
    if rng.random() < P_BLUR:
        ops.append(("blur", float(rng.uniform(0.3, 0.8))))
    if rng.random() < P_JPEG:
        ops.append(("jpeg", int(rng.integers(60, 95))))
    source, target = degrade(annotated(src_alpha), ops), degrade(annotated(dst_alpha), ops)
    whole = union(ink_box(src_alpha), ink_box(dst_alpha))
    m = max(3, size // 5) + pad + thickness  # the judge reads the line with its outlines
    line_box = (max(0, whole[0] - m), max(0, whole[1] - m), min(w, whole[2] + m), min(h, whole[3] + m))
    # Where a correct edit may change pixels: the two words' ink and an anti-aliasing margin, the
    # blur's reach, a JPEG's coding blocks (as the words suite's edit box).
    word = union(boxes[at], ink_box(new_alpha))
    e = max(3, size // 5) + int(np.ceil(2 * max((op[1] for op in ops if op[0] == "blur"), default=0.0)))
    x0, y0, x1, y1 = word[0] - e, word[1] - e, word[2] + e, word[3] + e
    if any(op[0] == "jpeg" for op in ops):
        x0, y0 = x0 // JPEG_BLOCK * JPEG_BLOCK - CHROMA_BLEED, y0 // JPEG_BLOCK * JPEG_BLOCK - CHROMA_BLEED
        x1, y1 = -(-x1 // JPEG_BLOCK) * JPEG_BLOCK + CHROMA_BLEED, -(-y1 // JPEG_BLOCK) * JPEG_BLOCK + CHROMA_BLEED
    edit_box = (max(0, x0), max(0, y0), min(w, x1), min(h, y1))
    new_words = words[:at] + [new] + words[at + 1 :]
    return BoxedCase(f"boxed-{seed}-{index:04d}", source, target, old, new, line, " ".join(new_words),
                     (" ".join(words[:at]), " ".join(words[at + 1 :])), face.name, line_box, edit_box,
                     (ground_kind, *(op[0] for op in ops), annotation), annotation)
