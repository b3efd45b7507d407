"""Read an image into lines, words and per-character boxes (the `ocr` command and `read_text` tool)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from agent.schemas import CharBox, LineReading, TextReading, WordReading
from tools.fonts import FontRegistry, match_font
from tools.locate import char_boxes, line_ink
from tools.mask import union
from tools.ocr import OCR


def read_text(ocr: OCR, registry: FontRegistry, image: np.ndarray) -> TextReading:
    lines = []
    for line in ocr.read(image):
        ink = line_ink(image, line.box, line.text, registry)
        face = "DejaVuSans"
        drawable = [f for f in registry.faces if registry.can_draw(f.name, line.text)]
        if drawable and ink.coverage.any():
            face = match_font(registry, ink.coverage, line.text, ink.fg, ink.bg, faces=drawable).face
        boxes = char_boxes(registry, ink, line.text, face)
        words, i = [], 0
        for token in line.text.split():
            i = line.text.index(token, i)
            chars = [CharBox(char=c, box=b) for c, b in zip(token, boxes[i : i + len(token)], strict=True) if b is not None]
            box = None
            for c in chars:
                box = union(box, c.box)
            if box is not None:
                words.append(WordReading(text=token, box=box, start=i, chars=chars))
            i += len(token)
        lines.append(LineReading(text=line.text, confidence=round(line.confidence, 4), box=line.box, words=words))
    return TextReading(width=image.shape[1], height=image.shape[0], lines=lines)


def draw_boxes(image: np.ndarray, doc: TextReading) -> np.ndarray:
    """The image with word boxes (blue) and character boxes (red, alternating shades) drawn on it."""
    scale = max(1, 600 // max(1, max(image.shape[:2])))
    pil = Image.fromarray(image).resize((image.shape[1] * scale, image.shape[0] * scale), Image.Resampling.NEAREST)
    d = ImageDraw.Draw(pil)
    for line in doc.lines:
        for word in line.words:
            x0, y0, x1, y1 = (v * scale for v in word.box)
            d.rectangle([x0 - 2, y0 - 2, x1 + 1, y1 + 1], outline=(40, 90, 255))
            for k, c in enumerate(word.chars):
                x0, y0, x1, y1 = (v * scale for v in c.box)
                d.rectangle([x0, y0, x1 - 1, y1 - 1], outline=(255, 0, 0) if k % 2 == 0 else (255, 150, 0))
    return np.asarray(pil)
