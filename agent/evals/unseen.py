"""Edits in faces the registry does not hold: the closest thing here to a user's unknown font.

The registry has regular and bold (and italic) faces; users bring light, medium and black weights,
Computer Modern, condensed display faces. Two kinds are drawn here, each reported apart (its case's
condition): "packaged face", other weights and families from the same packages (Computer Modern
from matplotlib), never from the registry, but held by the font library (tools/library.py) since
issue 18; and "made face", a packaged face drawn condensed or extended and bolder, which no package
holds (a user's commercial face cannot be in any library either), so the planner can only
approximate it. Words sit on flat, gradient or blurred-photo grounds (the bundled photos), some tilted by up
to 3 degrees, some JPEG'd. The ground truth is the word drawn again with one character replaced
(a new first letter keeps the end of the old one's advance, a last one its pen, as the planner does).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tools.fonts import packaged_font, replacement_pen, run_anchor

# (package, file): weights and families that no registry face is drawn from
UNSEEN_FACES = (
    ("font_source_sans_pro", "SourceSansPro-Light.ttf"), ("font_source_sans_pro", "SourceSansPro-Semibold.ttf"),
    ("font_source_sans_pro", "SourceSansPro-Black.ttf"), ("font_source_serif_pro", "SourceSerifPro-Light.ttf"),
    ("font_source_serif_pro", "SourceSerifPro-Semibold.ttf"), ("font_source_serif_pro", "SourceSerifPro-Black.ttf"),
    ("font_rhd", "RedHatDisplay-Medium.ttf"), ("font_rhd", "RedHatDisplay-Black.ttf"),
    ("font_roboto", "Roboto-Light.ttf"), ("font_roboto", "Roboto-Medium.ttf"), ("font_roboto", "Roboto-Black.ttf"),
    ("matplotlib", "cmr10.ttf"), ("matplotlib", "cmss10.ttf"), ("matplotlib", "cmtt10.ttf"), ("matplotlib", "cmb10.ttf"),
    ("font_fjallaone", "FjallaOne-Regular.ttf"),
)
# (package, file, horizontal scale, px its outlines are moved out): faces no package holds
MADE_FACES = (
    ("font_roboto", "Roboto-Regular.ttf", 0.82, 0.0), ("matplotlib", "DejaVuSerif.ttf", 1.18, 0.0),
    ("font_lato", "Lato-Regular.ttf", 1.0, 0.8), ("font_caladea", "Caladea-Regular.ttf", 0.9, 0.5),
    ("/usr/share/fonts/truetype/liberation", "LiberationSans-Bold.ttf", 0.78, 0.0),
    ("font_rhd", "RedHatDisplay-Regular.ttf", 1.12, 0.6), ("font_manrope", "Manrope-Regular.ttf", 0.85, 0.5),
    ("font_source_serif_pro", "SourceSerifPro-Semibold.ttf", 0.88, 0.0),
)
SUPER = 4  # a made face is drawn at this many times the size, then scaled down (anti-aliased as a renderer would)
WORDS = ("price total open closed market garden station coffee bakery pharmacy sale hotel exit parking Monday "
         "Friday London Paris Street Avenue NORTH SOUTH ENTRANCE DANGER STOP 2024 1999 4815 $45 12:30").split()
CLASSES = ("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789")


@dataclass
class UnseenCase:
    id: str
    source: np.ndarray  # HxWx3 uint8
    target: np.ndarray  # ground truth
    find: str  # the word
    replace: str  # the word with one character replaced
    face: str  # file stem of the face it was drawn in
    edit_box: tuple[int, int, int, int]  # where a correct edit may change pixels
    word_box: tuple[int, int, int, int]  # the word the judge reads
    conditions: tuple[str, ...]  # ground kind, tilt, jpeg


def _ground(rng: np.random.Generator, w: int, h: int, photos: list[np.ndarray]) -> tuple[np.ndarray, str]:
    kind = str(rng.choice(["flat", "gradient", "photo"]))
    if kind == "flat":
        return np.full((h, w, 3), rng.integers(0, 256, 3), np.float32), kind
    if kind == "gradient":
        t = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
        a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        return np.repeat(a * (1 - t) + b * t, h, 0).astype(np.float32), kind
    photo = photos[int(rng.integers(len(photos)))]
    ph, pw = photo.shape[:2]
    scale = min(ph / h, pw / w, 1.0)
    ch, cw = int(h * scale), int(w * scale)
    y, x = int(rng.integers(0, ph - ch + 1)), int(rng.integers(0, pw - cw + 1))
    crop = Image.fromarray(photo[y : y + ch, x : x + cw]).resize((w, h)).filter(ImageFilter.GaussianBlur(4))
    return np.asarray(crop, np.float32), kind


@dataclass
class MadeFont:
    """A face no package holds: a packaged one (loaded at SUPER times the size) drawn `x_scale` times as
    wide and with its outlines `bolder` px further out."""

    base: ImageFont.FreeTypeFont
    x_scale: float
    bolder: float

    def getlength(self, text: str) -> float:
        return self.base.getlength(text) * self.x_scale / SUPER

    def draw(self, text: str, pens: list[float], shape: tuple[int, int], origin: tuple[float, float]) -> Image.Image:
        """An L layer of shape (h, w) with text's characters at their pens (x from origin; baseline origin[1])."""
        h, w = shape
        big = Image.new("L", (int(np.ceil(w / self.x_scale * SUPER)), h * SUPER), 0)
        draw = ImageDraw.Draw(big)
        stroke = round(self.bolder * SUPER)
        for ch, x in zip(text, pens, strict=True):
            draw.text(((origin[0] + x) / self.x_scale * SUPER, origin[1] * SUPER), ch, font=self.base, fill=255,
                      anchor="ls", stroke_width=stroke, stroke_fill=255)
        return big.resize((w, h), Image.Resampling.BOX)


def _layer(font, text: str, pens: list[float], shape: tuple[int, int], origin: tuple[float, float], angle: float) -> np.ndarray:
    h, w = shape
    if isinstance(font, MadeFont):
        layer = font.draw(text, pens, shape, origin)
    else:
        layer = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(layer)
        for ch, x in zip(text, pens, strict=True):
            draw.text((origin[0] + x, origin[1]), ch, font=font, fill=255, anchor="ls")
    if angle:
        layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC, center=(w / 2, h / 2))
    return np.asarray(layer, np.float32) / 255


def _box(mask: np.ndarray, margin: int, shape) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    h, w = shape
    return (max(0, int(xs.min()) - margin), max(0, int(ys.min()) - margin),
            min(w, int(xs.max()) + 1 + margin), min(h, int(ys.max()) + 1 + margin))


def make_unseen_case(seed: int, index: int, photos: list[np.ndarray], made: bool | None = None) -> UnseenCase:
    """One edit; the same (seed, index) gives the same case. made: in a made face or a packaged one
    (None: drawn, half each, from a stream of its own: a packaged face's case is the one the suite
    drew before made faces came)."""
    rng = np.random.default_rng([seed, index, 11])
    if made is None:
        made = bool(np.random.default_rng([seed, index, 12]).random() < 0.5)
    size = int(rng.integers(18, 64))
    font: ImageFont.FreeTypeFont | MadeFont
    if made:
        package, file_name, x_scale, bolder = MADE_FACES[int(rng.integers(len(MADE_FACES)))]
        font = MadeFont(ImageFont.truetype(str(packaged_font(package, file_name)), size * SUPER), x_scale, bolder)
        face = f"{Path(file_name).stem}-x{x_scale:g}-b{bolder:g}"
    else:
        package, file_name = UNSEEN_FACES[int(rng.integers(len(UNSEEN_FACES)))]
        font = ImageFont.truetype(str(packaged_font(package, file_name)), size)
        face = Path(file_name).stem
    word = str(rng.choice(WORDS))
    k = int(rng.choice([i for i, c in enumerate(word) if c.isalnum()]))
    pool = next(p for p in CLASSES if word[k] in p)
    new_char = str(rng.choice([c for c in pool if c != word[k]]))
    others = [str(rng.choice([x for x in WORDS if word not in x and x not in word])) for _ in range(int(rng.integers(0, 2)))]
    line = " ".join([*others, word] if rng.random() < 0.5 else [word, *others])
    start = line.index(word)
    at = start + k
    new_line = line[:at] + new_char + line[at + 1 :]
    pens = [font.getlength(line[:i]) for i in range(len(line))]
    new_pens = [*pens[:at], replacement_pen(font, line[at], new_char, pens[at], run_anchor(line, at)), *pens[at + 1 :]]
    w, h = int(font.getlength(line) + size * rng.uniform(1, 3)), int(size * rng.uniform(2, 3.5))
    origin = ((w - font.getlength(line)) / 2, h / 2 + size * 0.35)
    angle = float(rng.uniform(-3, 3)) if rng.random() < 0.33 else 0.0
    old, new = (_layer(font, text, p, (h, w), origin, angle) for text, p in ((line, pens), (new_line, new_pens)))
    photos_used = photos or [np.full((64, 64, 3), 128, np.uint8)]
    ground, kind = _ground(rng, w, h, photos_used)
    fg = np.where(ground.mean((0, 1)) > 127, rng.integers(0, 90, 3), rng.integers(170, 256, 3)).astype(np.float32)
    quality = int(rng.integers(60, 95)) if rng.random() < 0.4 else None
    pictures = []
    for alpha in (old, new):
        picture = Image.fromarray(np.clip(np.round(ground * (1 - alpha[..., None]) + fg * alpha[..., None]), 0, 255).astype(np.uint8))
        if quality:
            buf = io.BytesIO()
            picture.save(buf, "JPEG", quality=quality)
            picture = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
        pictures.append(np.asarray(picture))
    word_pens = [p - pens[start] for p in pens[start : start + len(word)]]
    new_word = new_line[start : start + len(word)]
    word_origin = (origin[0] + pens[start], origin[1])
    word_ink = np.maximum(_layer(font, word, word_pens, (h, w), word_origin, angle),
                          _layer(font, new_word, [p - pens[start] for p in new_pens[start : start + len(word)]], (h, w), word_origin, angle))
    return UnseenCase(
        f"unseen-{seed}-{index:04d}", pictures[0], pictures[1], word, new_word, face,
        _box(np.abs(old - new) > 0.02, max(3, round(0.12 * size)), (h, w)), _box(word_ink > 0.1, max(2, size // 6), (h, w)),
        ("made face" if made else "packaged face", kind, *(["tilt"] if angle else []), *(["jpeg"] if quality else [])),
    )
