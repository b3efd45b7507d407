"""Font registry, glyph/word rendering with exact per-character geometry, and a font matcher.

The registry lists font faces by name from packages the project installs (PyPI font packages,
matplotlib's DejaVu, Debian's fonts-liberation and fonts-freefont-ttf). Every face carries its
category (sans/serif/mono) and whether it is held out from model training, so training data and
validation never share a face.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from tools.images import rgb

Category = Literal["sans", "serif", "mono"]
CATEGORIES: tuple[Category, ...] = ("sans", "serif", "mono")


@dataclass(frozen=True)
class FontFace:
    name: str  # unique face name, e.g. "Lato-Bold"
    family: str  # family name, e.g. "Lato"
    category: Category
    bold: bool
    italic: bool
    held_out: bool  # True: a validation face, or a library face (those train only a run that asks for them: models/faces.py)
    path: Path
    variation: tuple[float, ...] | None = None  # a variable font's named instance: its axis coordinates (fvar order)
    x_scale: float = 1.0  # drawn this many times as wide as its file draws it (a width no package holds: scaled_name)


SCALED = "@x"  # a scaled face is named by its face, SCALED and its width: "SourceSerifPro-Semibold@x0.88"
WIDTH_STEP = 0.02  # widths are fitted to this step: finer than a pixel across a 40 px word, and few distinct fonts to load


def scaled_name(name: str, x_scale: float) -> str:
    """The name that draws face `name` x_scale times as wide (the name itself at a scale that rounds to 1)."""
    step = round(x_scale / WIDTH_STEP) * WIDTH_STEP
    return name if abs(step - 1) < WIDTH_STEP / 2 else f"{name}{SCALED}{step:.2f}"


def unscaled_name(name: str) -> str:
    """The face a scaled name draws wider or narrower (a face's own name: itself)."""
    return name.partition(SCALED)[0]


class FacesByName(Mapping[str, FontFace]):
    """Faces by name; a scaled name ("Face@x0.88") is the face drawn that much wider or narrower,
    made on first use. Users bring condensed and extended cuts that no package holds (the unseen
    suite's made faces): a packaged face whose glyphs have the right form at the wrong width is
    drawn at the width the image's own glyphs show (tools/library.py fits it)."""

    def __init__(self, faces: dict[str, FontFace]):
        self._faces = dict(faces)
        self._scaled: dict[str, FontFace] = {}  # scaled faces made so far (not listed: they are any face's)

    def __getitem__(self, name: str) -> FontFace:
        if name in self._faces:
            return self._faces[name]
        if name in self._scaled:
            return self._scaled[name]
        base, _, scale = name.partition(SCALED)
        try:
            x_scale = float(scale)
        except ValueError:
            raise KeyError(name) from None
        # only the name scaled_name gives: one face per width, never a scaled face scaled again
        if base not in self._faces or scaled_name(base, x_scale) != name or not 0.5 <= x_scale <= 2.0:
            raise KeyError(name)
        face = self._scaled[name] = dataclasses.replace(self._faces[base], name=name, x_scale=x_scale)
        return face

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self[name]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._faces)

    def __len__(self) -> int:
        return len(self._faces)


class ScaledFont:
    """A FreeType font drawn x_scale times as wide, as a layout program scales a face: its outlines
    scaled across, then drawn at SCALED_SUPER times the size (where the face's hints move an edge
    a quarter pixel at most) and averaged down. Its advances and boxes are the scaled ones;
    render_text and render_alpha (the two places this project draws text) draw it, each glyph on a
    whole pixel as FreeType draws an unscaled face: its pen rounded as PIL rounds one, so a
    whole-pixel move of the pen moves the same pixels (glyph_pen, glyph_outline and edit_pen's phase
    vote rely on both)."""

    def __init__(self, big: ImageFont.FreeTypeFont, x_scale: float):
        self.big, self.x_scale = big, x_scale  # big: the face at SCALED_SUPER times the size

    def getlength(self, text: str, *args, **kwargs) -> float:
        return self.big.getlength(text, *args, **kwargs) * self.x_scale / SCALED_SUPER

    def getbbox(self, text: str, *args, **kwargs) -> tuple[int, int, int, int]:
        left, top, right, bottom = self.big.getbbox(text, *args, **kwargs)
        return (math.floor(left * self.x_scale / SCALED_SUPER), math.floor(top / SCALED_SUPER),
                math.ceil(right * self.x_scale / SCALED_SUPER), math.ceil(bottom / SCALED_SUPER))

    def draw(self, text: str, canvas: tuple[int, int], origin: tuple[float, float]) -> Image.Image:
        """An L layer of size canvas with text drawn from origin (x, baseline y): each glyph at its own pen,
        rounded to a whole pixel as FreeType places each glyph of a string (render_text's per-glyph
        layers and render_alpha's one draw then give the same pixels, as they do for an unscaled face)."""
        w, h = canvas
        out = np.zeros((h, w), np.uint8)
        for i, ch in enumerate(text):
            if ch.isspace():
                continue
            glyph, left, top = self._glyph(ch)
            # the pen rounded as PIL rounds one (x half up, y half down)
            x0 = math.floor(origin[0] + self.getlength(text[:i]) + 0.5) + left - 1
            y0 = math.ceil(origin[1] - 0.5) + top - 1
            gx0, gy0 = max(0, -x0), max(0, -y0)
            gx1, gy1 = min(glyph.shape[1], w - x0), min(glyph.shape[0], h - y0)
            if gx1 > gx0 and gy1 > gy0:
                region = out[y0 + gy0 : y0 + gy1, x0 + gx0 : x0 + gx1]
                np.maximum(region, glyph[gy0:gy1, gx0:gx1], out=region)
        return Image.fromarray(out)

    @functools.lru_cache(maxsize=256)  # noqa: B019 - a font lives as long as the registry's cache of it
    def _glyph(self, ch: str) -> tuple[np.ndarray, int, int]:
        """(coverage uint8, left, top): one glyph drawn with its pen on a whole pixel at (1 - left, 1 - top)."""
        left, top, right, bottom = self.getbbox(ch, anchor="ls")
        w, h = right - left + 2, bottom - top + 2
        k = SCALED_SUPER / self.x_scale  # big pixels per pixel across
        big = Image.new("L", (math.ceil(w * k) + 1, h * SCALED_SUPER), 0)
        ImageDraw.Draw(big).text(((1 - left) * k, (1 - top) * SCALED_SUPER), ch, font=self.big, fill=255, anchor="ls")
        local = big.resize((w, h), Image.Resampling.BOX, box=(0.0, 0.0, w * k, float(h * SCALED_SUPER)))
        return np.asarray(local, np.uint8), left, top


SCALED_SUPER = 4  # a scaled face is drawn at this many times the size and averaged down (anti-aliased; hinted at 4x)


def _drawn(font: ImageFont.FreeTypeFont | ScaledFont, text: str, canvas: tuple[int, int], origin: tuple[float, float]) -> Image.Image:
    """An L layer of size canvas (w, h) with text drawn in font, its first pen at origin (x, baseline y)."""
    if isinstance(font, ScaledFont):
        return font.draw(text, canvas, origin)
    layer = Image.new("L", canvas, 0)
    ImageDraw.Draw(layer).text(origin, text, font=font, fill=255, anchor="ls")
    return layer


# (family, category, held_out, where, {style: file name}); where is a python package that ships the
# files, "matplotlib" for its bundled DejaVu, or an absolute folder for Debian font packages.
_STYLES = ("regular", "bold", "italic", "bolditalic")
_CATALOGUE: list[tuple[str, Category, bool, str, dict[str, str]]] = [
    ("DejaVu Sans", "sans", False, "matplotlib",
     dict(zip(_STYLES, ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf"], strict=True))),
    ("DejaVu Serif", "serif", False, "matplotlib",
     dict(zip(_STYLES, ["DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf"], strict=True))),
    ("DejaVu Sans Mono", "mono", False, "matplotlib",
     dict(zip(_STYLES, ["DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf", "DejaVuSansMono-BoldOblique.ttf"], strict=True))),
    ("STIX", "serif", False, "matplotlib",
     dict(zip(_STYLES, ["STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf"], strict=True))),
    ("Lato", "sans", False, "font_lato",
     dict(zip(_STYLES, ["Lato-Regular.ttf", "Lato-Bold.ttf", "Lato-Italic.ttf", "Lato-BoldItalic.ttf"], strict=True))),
    ("Roboto", "sans", False, "font_roboto",
     dict(zip(_STYLES, ["Roboto-Regular.ttf", "Roboto-Bold.ttf", "Roboto-Italic.ttf", "Roboto-BoldItalic.ttf"], strict=True))),
    ("Red Hat Display", "sans", False, "font_rhd",
     dict(zip(_STYLES, ["RedHatDisplay-Regular.ttf", "RedHatDisplay-Bold.ttf", "RedHatDisplay-Italic.ttf", "RedHatDisplay-BoldItalic.ttf"], strict=True))),
    ("Hanken Grotesk", "sans", False, "font_hanken_grotesk",
     dict(zip(_STYLES, ["HankenGrotesk-Regular.otf", "HankenGrotesk-Bold.otf", "HankenGrotesk-Italic.otf", "HankenGrotesk-BoldItalic.otf"], strict=True))),
    ("Source Sans Pro", "sans", False, "font_source_sans_pro",
     dict(zip(_STYLES, ["SourceSansPro-Regular.ttf", "SourceSansPro-Bold.ttf", "SourceSansPro-It.ttf", "SourceSansPro-BoldIt.ttf"], strict=True))),
    ("Manrope", "sans", False, "font_manrope", {"regular": "Manrope-Regular.ttf", "bold": "Manrope-Bold.ttf"}),
    ("Caladea", "serif", False, "font_caladea",
     dict(zip(_STYLES, ["Caladea-Regular.ttf", "Caladea-Bold.ttf", "Caladea-Italic.ttf", "Caladea-BoldItalic.ttf"], strict=True))),
    ("Liberation Sans", "sans", False, "/usr/share/fonts/truetype/liberation",
     dict(zip(_STYLES, ["LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf", "LiberationSans-Italic.ttf", "LiberationSans-BoldItalic.ttf"], strict=True))),
    ("Liberation Serif", "serif", False, "/usr/share/fonts/truetype/liberation",
     dict(zip(_STYLES, ["LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf", "LiberationSerif-Italic.ttf", "LiberationSerif-BoldItalic.ttf"], strict=True))),
    ("Liberation Mono", "mono", False, "/usr/share/fonts/truetype/liberation",
     dict(zip(_STYLES, ["LiberationMono-Regular.ttf", "LiberationMono-Bold.ttf", "LiberationMono-Italic.ttf", "LiberationMono-BoldItalic.ttf"], strict=True))),
    # Held out from training: the model is validated on faces it has never seen.
    ("FreeSans", "sans", True, "/usr/share/fonts/truetype/freefont",
     dict(zip(_STYLES, ["FreeSans.ttf", "FreeSansBold.ttf", "FreeSansOblique.ttf", "FreeSansBoldOblique.ttf"], strict=True))),
    ("FreeSerif", "serif", True, "/usr/share/fonts/truetype/freefont",
     dict(zip(_STYLES, ["FreeSerif.ttf", "FreeSerifBold.ttf", "FreeSerifItalic.ttf", "FreeSerifBoldItalic.ttf"], strict=True))),
    ("FreeMono", "mono", True, "/usr/share/fonts/truetype/freefont",
     dict(zip(_STYLES, ["FreeMono.ttf", "FreeMonoBold.ttf", "FreeMonoOblique.ttf", "FreeMonoBoldOblique.ttf"], strict=True))),
    ("Source Serif Pro", "serif", True, "font_source_serif_pro",
     {"regular": "SourceSerifPro-Regular.ttf", "bold": "SourceSerifPro-Bold.ttf"}),
]


class FontsMissingError(RuntimeError):
    pass


def _package_dir(where: str) -> Path | None:
    if where.startswith("/"):
        return Path(where)
    if where == "matplotlib":
        spec = importlib.util.find_spec("matplotlib")
        return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" if spec and spec.origin else None
    spec = importlib.util.find_spec(where)
    if not spec or not spec.origin:
        return None
    return Path(spec.origin).parent / "files"


@functools.cache
def _find_file(folder: Path, file_name: str) -> Path | None:
    direct = folder / file_name
    if direct.exists():
        return direct
    hits = sorted(folder.rglob(file_name)) if folder.exists() else []
    return hits[0] if hits else None


def packaged_font(where: str, file_name: str) -> Path:
    """A font file shipped by a package (as in the catalogue: a python package, "matplotlib" or a folder)."""
    folder = _package_dir(where)
    path = _find_file(folder, file_name) if folder else None
    if path is None:
        raise FontsMissingError(f"{file_name} not found in {where}: run `make setup`")
    return path


class FontRegistry:
    """All packaged faces, found once. Pass the instance around; it caches loaded fonts."""

    def __init__(self, faces: list[FontFace], library=None):
        if not faces:
            raise FontsMissingError("no fonts found: run `make setup` (installs font packages)")
        self.faces = faces  # the registry's own faces: training, validation, the plan's first match
        self.library = library  # tools.library.FontIndex over every installed face (None: not loaded)
        self.by_name = FacesByName({f.name: f for f in (library.faces if library is not None else [])} | {f.name: f for f in faces})

    @classmethod
    def discover(cls, min_faces: int = 20, with_library: bool = False) -> FontRegistry:
        """The registry's faces; with_library: also the font library's index (tools.library), whose
        faces the plan retrieves and can draw by name."""
        faces, missing = [], []
        for family, category, held_out, where, files in _CATALOGUE:
            folder = _package_dir(where)
            for style, file_name in files.items():
                path = _find_file(folder, file_name) if folder else None
                if path is None:
                    missing.append(file_name)
                    continue
                name = family.replace(" ", "") + ("-" + style.capitalize() if style != "regular" else "")
                faces.append(FontFace(name, family, category, "bold" in style, "italic" in style, held_out, path))
        if len(faces) < min_faces:
            raise FontsMissingError(
                f"only {len(faces)} font faces found (missing e.g. {missing[:3]}): run `make setup`, which installs "
                "the font packages (pip extras and Debian fonts-liberation, fonts-freefont-ttf)"
            )
        if not with_library:
            return cls(faces)
        from tools.library import FontIndex

        return cls(faces, FontIndex.load())

    def select(self, held_out: bool | None = None, category: str | None = None) -> list[FontFace]:
        return [
            f for f in self.faces
            if (held_out is None or f.held_out == held_out) and (category is None or f.category == category)
        ]

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - the registry lives as long as the process
    def font(self, name: str, size: int) -> ImageFont.FreeTypeFont | ScaledFont:
        face = self.by_name[name]
        scale = 1 if face.x_scale == 1.0 else SCALED_SUPER
        font = ImageFont.truetype(str(face.path), max(4, int(size)) * scale)
        if face.variation is not None:
            font.set_variation_by_axes(list(face.variation))
        return font if scale == 1 else ScaledFont(font, face.x_scale)

    def is_italic(self, name: str) -> bool:
        """From the face file (its italic flag or angle), not its name: library faces such as
        SourceSerifPro-It say it only there, and a slant fitted on top of their own lean doubled it.
        A face the registry does not know is judged by its name."""
        known = self.by_name.get(name)
        return known.italic if known is not None else "italic" in name.lower() or "oblique" in name.lower()

    def drawn_slant(self, name: str, slant: float) -> float:
        """The shear a rendering in this face needs for ink that leans by `slant`: none for an italic
        face, which leans by itself (a slant fitted on top of its own lean doubled it)."""
        return 0.0 if self.is_italic(name) else slant

    def can_draw(self, name: str, text: str) -> bool:
        """True if every character of text has a real glyph (not .notdef) in the face."""
        from fontTools.ttLib import TTFont

        cmap = _cmap(str(self.by_name[name].path), TTFont)
        return all(c.isspace() or ord(c) in cmap for c in text)


@functools.cache
def _cmap(path: str, ttfont_cls) -> frozenset[int]:
    font = ttfont_cls(path, lazy=True, fontNumber=0)
    return frozenset(font.getBestCmap().keys())


@dataclass
class RenderedText:
    """Alpha coverage of a rendered string and where each glyph landed (pixel coordinates)."""

    alpha: np.ndarray  # float32 HxW in [0, 1], the union of all glyphs
    glyph_alphas: list[np.ndarray]  # one float32 HxW layer per character (spaces are empty)
    boxes: list[tuple[int, int, int, int] | None]  # tight ink box (x0, y0, x1, y1) per character
    origins: list[tuple[float, float]]  # pen position (x, baseline y) per character
    advances: list[float]  # advance width per character


def ink_box(alpha: np.ndarray, threshold: float = 0.2) -> tuple[int, int, int, int] | None:
    inked = alpha > threshold
    rows = np.flatnonzero(inked.any(axis=1))  # (not np.nonzero: it lists every inked pixel)
    if len(rows) == 0:
        return None
    cols = np.flatnonzero(inked.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def render_text(
    font: ImageFont.FreeTypeFont | ScaledFont,
    text: str,
    canvas: tuple[int, int],
    origin: tuple[float, float],
    pen_positions: list[float] | None = None,
) -> RenderedText:
    """Render text glyph by glyph on a canvas (w, h); origin is (x, baseline y) of the first pen.

    Glyphs are drawn one at a time at the pen positions the font's own layout gives (kerning
    included), so each character's exact coverage is known. pen_positions overrides the layout
    (x offsets from origin), which is how a replaced glyph is put where the old one stood.
    """
    w, h = canvas
    if pen_positions is None:
        pen_positions = [font.getlength(text[:i]) for i in range(len(text))]
    layers, boxes, origins, advances = [], [], [], []
    for ch, dx in zip(text, pen_positions, strict=True):
        x, y = origin[0] + dx, origin[1]
        a = np.zeros((h, w), np.float32)
        box = None
        if not ch.isspace():
            # Drawn on a small canvas around the glyph's own box and put in place: the same pixels
            # (a whole-pixel move keeps the pen's fraction) without drawing a canvas the size of a
            # 12 MP photo for each character (0.24 s a glyph there).
            gl, gt, gr, gb = font.getbbox(ch, anchor="ls")
            cx0, cy0 = max(0, int(np.floor(x + gl)) - 2), max(0, int(np.floor(y + gt)) - 2)
            cx1, cy1 = min(w, int(np.ceil(x + gr)) + 2), min(h, int(np.ceil(y + gb)) + 2)
            if cx1 > cx0 and cy1 > cy0:
                layer = _drawn(font, ch, (cx1 - cx0, cy1 - cy0), (x - cx0, y - cy0))
                local = np.asarray(layer, dtype=np.float32) / 255.0
                a[cy0:cy1, cx0:cx1] = local
                if (lb := ink_box(local)) is not None:
                    box = (lb[0] + cx0, lb[1] + cy0, lb[2] + cx0, lb[3] + cy0)
        layers.append(a)
        boxes.append(box)
        origins.append((x, y))
        advances.append(font.getlength(ch))
    total = np.clip(np.sum(layers, axis=0), 0, 1) if layers else np.zeros((h, w), np.float32)
    return RenderedText(total.astype(np.float32), layers, boxes, origins, advances)


def composite(background: np.ndarray, alpha: np.ndarray, colour) -> np.ndarray:
    """Alpha-blend a solid colour over an HxWx3 float image in [0, 255]."""
    a = alpha[..., None]
    return background * (1 - a) + np.asarray(colour, np.float32)[None, None, :] * a


# ----------------------------------------------------------------------------- font matching


@dataclass
class FontMatch:
    face: str  # registry face name
    category: Category
    size: int  # font size in pixels (PIL's em size)
    baseline: float  # y of the baseline in image coordinates
    x0: float  # pen x of the first character in image coordinates
    slant: float  # extra shear (x shift per pixel above the baseline) the face does not explain
    fg: tuple[int, int, int]  # text colour
    bg: tuple[int, int, int]  # background colour
    score: float  # IoU between the observed ink and the rendered word (0..1)
    fits: dict[str, float] = field(default_factory=dict)  # IoU of every face tried (by name), best first


def kmeans(px: np.ndarray, centres: np.ndarray, iters: int) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's iterations on N x 3 colours from the given seeds: (centres, labels of the last pass)."""
    centres = np.array(centres, np.float32)
    lab = np.zeros(len(px), int)
    for _ in range(iters):
        lab = ((px[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
        for j in range(len(centres)):
            if (lab == j).any():
                centres[j] = px[lab == j].mean(0)
    return centres, lab


def split_colours(crop: np.ndarray):
    """2-means on pixel colours. Returns (ink mask float HxW, fg colour, bg colour).

    The text is the cluster that touches the crop border least.
    """
    all_px = crop.reshape(-1, 3).astype(np.float32)
    # A fixed-stride subsample keeps the k-means cheap on big crops and deterministic.
    px = all_px[:: max(1, len(all_px) // 4000)]
    lum = px.mean(1)
    centres = np.stack([px[lum <= np.percentile(lum, 15)].mean(0), px[lum >= np.percentile(lum, 85)].mean(0)])
    centres, _ = kmeans(px, centres, iters=8)
    lab = ((all_px[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1).reshape(crop.shape[:2])
    border = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    fg_k = int(np.argmin([(border == k).mean() for k in range(2)]))
    fg, bg = centres[fg_k], centres[1 - fg_k]
    refined = ink_colour(px, fg, bg)
    if refined is not None:
        fg = refined
    return project_ink(crop, fg, bg), tuple(int(v) for v in fg), tuple(int(v) for v in bg)


def ink_colour(pixels: np.ndarray, fg: np.ndarray, bg: np.ndarray, where: np.ndarray | None = None) -> np.ndarray | None:
    """The text's own colour: the median of its most ink-like pixels (the top tenth along the
    bg -> fg axis, among those past halfway; only pixels in `where` if given), or None with fewer
    than 10 such pixels. A colour cluster's mean is pulled toward the background by the
    anti-aliased edges of thin or blurred strokes, and coverage measured against it saturates
    early: every face looks bold."""
    axis = fg - bg
    t = ((pixels - bg) @ axis) / (float(axis @ axis) or 1.0)
    inky = t > 0.5 if where is None else (t > 0.5) & where
    if inky.sum() < 10:
        return None
    return np.median(pixels[inky & (t >= np.percentile(t[inky], 90))], axis=0)


# A pixel of text drawn over its ground is a blend of the two colours, so it lies on the line
# through them, off it only by noise or the ground's own variation under an anti-aliased edge. A
# pixel far off it is neither, however far it projects along it: in unseen-0-0031, mint "parking"
# over a blurred photo of blue and yellow signs, the photo's other colours were counted as ink, a bold
# italic was matched to Roboto Black, and the new p leaned (the judge read "arking").
# RGB distance off the line still counted whole: three times the synthetic suite's noisiest grounds
# (sigma 12 a channel, 17 across the two directions off the axis).
OFF_BLEND = 50.0
OFF_BLEND_SHARE = 0.35  # ... or this share of the text-to-ground distance, if larger (a ground's own shading)


def off_axis(offset: np.ndarray, t: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Each pixel's RGB distance from the point t along axis (text minus ground colour); offset is the
    pixel minus the ground colour. With t its projection, the distance off the line of blends; with t
    clamped into [0, 1], off the segment between the two colours."""
    return np.sqrt(((offset - t[..., None] * axis) ** 2).sum(-1))


def on_blend(offset: np.ndarray, t: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """How far each pixel is one of text-over-ground blends (1) or another colour (0): offset is the
    pixel minus the ground colour, t its projection on axis (text minus ground). Whole up to the
    tolerance off the line, none at twice it (tools.effects.ink_on_axis, for outlined text, cuts hard
    at a quarter of the distance off the segment)."""
    tol = max(OFF_BLEND, OFF_BLEND_SHARE * float(np.sqrt((axis**2).sum())))
    return np.clip(2 - off_axis(offset, t, axis) / tol, 0, 1)


def project_ink(crop: np.ndarray, fg, bg) -> np.ndarray:
    """Soft ink coverage: projection of each pixel on the bg->fg colour axis (keeps anti-aliasing)."""
    fg, bg = np.asarray(fg, np.float32), np.asarray(bg, np.float32)
    axis = fg - bg
    denom = float((axis**2).sum()) or 1.0
    return np.clip(((crop.astype(np.float32) - bg) @ axis) / denom, 0, 1).astype(np.float32)


def render_alpha(font: ImageFont.FreeTypeFont | ScaledFont, text: str, canvas: tuple[int, int], origin: tuple[float, float]) -> np.ndarray:
    """Coverage of a whole string in one draw call (fast; no per-glyph geometry)."""
    return np.asarray(_drawn(font, text, canvas, origin), dtype=np.float32) / 255.0


def fit_face(registry: FontRegistry, face: FontFace, text: str, ink: np.ndarray):
    """Render text in face so its ink box matches the observed one; return (IoU, size, baseline, x0).

    The size is estimated from the ink width (advances scale linearly) and from the ink height
    (hinting makes heights less exact); the candidates around both are tried and the best overlap wins.
    """
    box = ink_box(ink, 0.5)
    if box is None:
        return 0.0, 0, 0.0, 0.0
    bx0, by0, bx1, by1 = box
    probe = 64
    font = registry.font(face.name, probe)
    pw, ph = int(font.getlength(text)) + 4 * probe, 3 * probe
    rbox = ink_box(render_alpha(font, text, (pw, ph), (probe, 2 * probe)), 0.5)
    if rbox is None:
        return 0.0, 0, 0.0, 0.0
    by_w = probe * (bx1 - bx0) / max(1, rbox[2] - rbox[0])
    by_h = probe * (by1 - by0) / max(1, rbox[3] - rbox[1])
    sizes = sorted({max(4, round(v)) for v in (by_w - 1, by_w, by_w + 1, by_h)})
    h, w = ink.shape
    o = ink > 0.5
    best = (0.0, 0, 0.0, 0.0)
    for size in sizes:
        font = registry.font(face.name, size)
        drawn = render_alpha(font, text, (int(font.getlength(text)) + 4 * size, 3 * size), (size, 2 * size)) > 0.5
        rb = ink_box(drawn.astype(np.float32), 0.5)
        if rb is None:
            continue
        # Align the rendered ink box's left edge, and its top or its bottom (whichever overlaps
        # better: a dot or an accent the line finder dropped moves the observed top, not the bottom).
        # Both are whole-pixel moves of the drawing just made (the same pixels as drawing it there).
        x0 = bx0 - (rb[0] - size)
        for baseline in {by0 - (rb[1] - 2 * size), by1 - (rb[3] - 2 * size)}:
            a = _moved(drawn, x0 - size, baseline - 2 * size, (h, w))
            iou = float((a & o).sum() / max(1, (a | o).sum()))
            if iou > best[0]:
                best = (iou, size, float(baseline), float(x0))
    return best


def _moved(drawn: np.ndarray, dx: int, dy: int, shape: tuple[int, int]) -> np.ndarray:
    """drawn (a bool canvas) moved by (dx, dy) into a canvas of shape, what falls outside cut off."""
    out = np.zeros(shape, bool)
    h, w = shape
    ys, xs = slice(max(0, dy), min(h, dy + drawn.shape[0])), slice(max(0, dx), min(w, dx + drawn.shape[1]))
    if ys.start < ys.stop and xs.start < xs.stop:
        out[ys, xs] = drawn[ys.start - dy : ys.stop - dy, xs.start - dx : xs.stop - dx]
    return out


def match_font(
    registry: FontRegistry,
    ink: np.ndarray,
    text: str,
    fg: tuple[int, int, int],
    bg: tuple[int, int, int],
    faces: list[FontFace] | None = None,
    offset: tuple[int, int] = (0, 0),
    slant: float = 0.0,
    shortlist: int = 30,
    decisive: float = 0.85,
) -> FontMatch:
    """Estimate the face, size, baseline and slant a word was drawn in from its ink coverage.

    Every face that can draw the text is rendered so its ink box matches the observed one; the
    `shortlist` faces whose renderings overlap the observed ink best (IoU) are then compared on the
    soft coverage (least squares, best size and whole-pixel offset); a face whose error is below
    `decisive` times the IoU winner's takes its place. Coordinates are returned in
    image space (offset = where the ink array's top-left lies in the image).
    """
    if ink.shape[0] > 2 * MATCH_HEIGHT:
        return _match_large(registry, ink, text, fg, bg, faces, offset, slant, shortlist, decisive)
    candidates = [f for f in (faces or registry.faces) if registry.can_draw(f.name, text)]
    fits = sorted(((*fit_face(registry, face, text, ink), face) for face in candidates), key=lambda f: -f[0])
    # IoU of thresholded ink shortlists. The soft coverage, with the fit free to move a pixel or
    # change a size step, tells faces apart far better (thin strokes, bold vs regular, Times vs
    # Liberation), so it overrides the IoU winner, but only when it is decisively better: when no
    # face really fits (a display face the library lacks, uneven light) least squares just favours
    # heavy faces.
    # The shortlist, plus the other weights and slopes of its families: thin strokes lose most of
    # their pixels to the IoU threshold on a noisy or compressed image, so a light face can rank far
    # below its own bold sibling there; the soft fit tells the weights apart.
    families = {face.family for *_, face in fits[:shortlist]}
    chosen = fits[:shortlist] + [f for f in fits[shortlist:] if f[-1].family in families]
    scored = []
    for iou, size, baseline, x0, face in chosen:
        if size > 0:
            scored.append((*_soft_fit(registry, face, text, ink, size, baseline, x0), iou, face))
    if not scored:
        raise ValueError(f"no font can draw {text!r}")
    best = min(scored, key=lambda t: t[0])
    if best[0] >= decisive * scored[0][0]:
        best = scored[0]
    _, size, baseline, x0, iou, face = best
    return FontMatch(face.name, face.category, int(size), baseline + offset[1], x0 + offset[0], slant,
                     rgb(fg), rgb(bg), iou, {f[-1].name: round(f[0], 4) for f in fits})


MATCH_HEIGHT = 96  # px: ink more than twice this tall is matched at this height, then refined at its own (at 64 a 207 px line of the 12 MP poster matched a lighter face)


def _match_large(registry: FontRegistry, ink: np.ndarray, text: str, fg, bg, faces, offset, slant, shortlist,
                 decisive) -> FontMatch:
    """match_font for display-size text: every face is tried on the ink shrunk to MATCH_HEIGHT (the
    fit's cost grows with the ink's area: 3.7 s for a 207 px line of a 12 MP photo, 1.2 s shrunk),
    then the winner's size and position are refined on the full-size ink (the shrunk fit places
    them to within a shrunk pixel: a few pixels here, searched one size step and pixel at a time)."""
    k = ink.shape[0] / MATCH_HEIGHT
    small_size = (max(1, round(ink.shape[1] / k)), MATCH_HEIGHT)
    small = np.asarray(Image.fromarray(ink).resize(small_size, Image.Resampling.BOX), np.float32)
    m = match_font(registry, small, text, fg, bg, faces, (0, 0), slant, shortlist, decisive)
    face = registry.by_name[m.face]
    kx = ink.shape[1] / small_size[0]
    fit = (None, round(m.size * k), m.baseline * k, m.x0 * kx)
    for _ in range(int(np.ceil(k))):  # each step moves at most a pixel and a size: stop where it stays
        step = _soft_fit(registry, face, text, ink, *fit[1:])
        if step[1:] == fit[1:]:
            break
        fit = step
    _, size, baseline, x0 = fit
    return FontMatch(face.name, face.category, int(size), baseline + offset[1], x0 + offset[0], slant,
                     rgb(fg), rgb(bg), m.score, m.fits)


def _soft_fit(registry: FontRegistry, face: FontFace, text: str, ink: np.ndarray, size: int, baseline: float, x0: float):
    """(squared error, size, baseline, x0) of the best rendering within a size step and a pixel.
    Each size is drawn once, on a canvas a pixel larger all round, and moved a pixel at a time: the
    same pixels as drawing it moved (PIL keeps the pen's fraction of a pixel), a ninth of the work."""
    h, w = ink.shape
    best = None
    for s in (size, size - 1, size + 1):
        font = registry.font(face.name, s)
        drawn = render_alpha(font, text, (w + 2, h + 2), (x0 + 1, baseline + 1))
        for dx in (0, -1, 1):
            for dy in (0, -1, 1):
                a = drawn[1 - dy : 1 - dy + h, 1 - dx : 1 - dx + w]
                err = float(((a - ink) ** 2).sum())
                if best is None or err < best[0]:
                    best = (err, s, baseline + dy, x0 + dx)
    return best


def confirm_slant(registry: FontRegistry, match: FontMatch, text: str, ink: np.ndarray, offset: tuple[int, int],
                  gain: float = 0.85) -> float:
    """The match's slant if leaning the matched face's rendering by it fits the observed ink clearly
    better (error below gain times the upright one's, best of a few pixels of x shift), else 0.

    The shear estimate from stroke directions alone is fooled by diagonal letters (A, K, W, Y, V)
    in upright text; the rendered word settles it.
    """
    if abs(match.slant) < 1e-3:
        return 0.0
    h, w = ink.shape
    font = registry.font(match.face, match.size)
    base, x0 = match.baseline - offset[1], match.x0 - offset[0]
    errs = []
    for slant in (0.0, match.slant):
        errs.append(min(
            float(((shear(render_alpha(font, text, (w, h), (x0 + dx, base)), slant, base) - ink) ** 2).sum())
            for dx in (-2, -1, 0, 1, 2)
        ))
    return match.slant if errs[1] < gain * errs[0] else 0.0


def shear(coverage: np.ndarray, slant: float, baseline: float) -> np.ndarray:
    """Lean an upright glyph by slant (dx per pixel above the baseline; positive leans right)."""
    if abs(slant) < 1e-3:
        return coverage
    img = Image.fromarray((coverage * 255).astype(np.uint8))
    # out(x, y) = in(x + slant * (y - baseline), y)
    img = img.transform(img.size, Image.Transform.AFFINE, (1, slant, -slant * baseline, 0, 1, 0), resample=Image.Resampling.BILINEAR)
    return np.asarray(img, np.float32) / 255.0


def vertical_shear(coverage: np.ndarray, slope: float, pivot_x: float) -> np.ndarray:
    """Set an upright glyph on a tilted baseline: each column moves down by `slope` (dy per px across,
    image rows: negative rises to the right) times its distance from pivot_x (the pen), its
    verticals staying vertical. A sign seen from one side tilts its lines so (perspective keeps its
    verticals upright; a camera's roll also leans the stems, which the face's slant measures on the
    levelled ink)."""
    if abs(slope) < 1e-3:  # under a thousandth, no column of a glyph moves by a tenth of a pixel
        return coverage
    img = Image.fromarray((coverage * 255).astype(np.uint8))
    # out(x, y) = in(x, y - slope * (x - pivot_x))
    img = img.transform(img.size, Image.Transform.AFFINE, (1, 0, 0, -slope, 1, slope * pivot_x),
                        resample=Image.Resampling.BILINEAR)
    return np.asarray(img, np.float32) / 255.0


def on_line(coverage: np.ndarray, slant: float, baseline: float, slope: float, pen_x: float) -> np.ndarray:
    """An upright rendering leaned by `slant` about its baseline (`shear`) and set on a line tilted
    by `slope` through its pen (`vertical_shear`): how every glyph is drawn, aligned and measured."""
    return vertical_shear(shear(coverage, slant, baseline), slope, pen_x)


@dataclass(frozen=True)
class GlyphPen:
    """Where an observed glyph was drawn: font size and pen position (x, baseline y)."""

    size: int
    x: float
    baseline: float
    error: float = 0.0  # squared error of its rendering against the observed ink (0: not aligned)
    # Where the true pen may lie, as offsets from x: [x + spread[0], x + spread[1]). A glyph drawn on
    # a whole pixel fixes its pen only to within that pixel; (0, 0): taken as exact (see place_glyph).
    spread: tuple[float, float] = (0.0, 0.0)
    certainty: float = 0.0  # the probability that the pen is x itself; the rest is spread evenly over `spread`


def glyph_pen(
    registry: FontRegistry,
    face: str,
    size: int,
    char: str,
    box: tuple[int, int, int, int],
    slant: float = 0.0,
    baseline: float | None = None,
    observed: tuple[np.ndarray, tuple[int, int]] | None = None,
    fixed_size: bool = False,
    slope: float = 0.0,
) -> GlyphPen:
    """The size and pen that draw char in face over its observed ink box (at exactly `size` when
    fixed_size: the word's glyphs agreed on it).

    The character is rendered in the matched face and size and aligned to its observed box; that
    fixes the pen locally (so a drifting layout does not matter). Given the
    observed ink coverage (array, (x, y) of its top-left in the image), the alignment is refined to
    the size and whole-pixel offset whose rendering best matches that ink: a one-pixel or one-size
    error costs more fidelity than anything the inpainting can win back. slope: the line's baseline
    tilt (see `vertical_shear`); the rendering is set on it before it is aligned.
    """
    ox0, oy0, ox1, oy1 = box

    def drawn_box(font, size: int):  # the glyph's ink box drawn at pen (size, 2 size), on the line's tilt
        if not slope:
            return render_text(font, char, (4 * size, 3 * size), (size, 2 * size), [0.0]).boxes[0]
        return ink_box(vertical_shear(render_text(font, char, (4 * size, 4 * size), (size, 2 * size), [0.0]).alpha,
                                      slope, size))

    font = registry.font(face, size)
    rb = drawn_box(font, size)
    if rb is not None and not fixed_size:
        # Local size: when the observed box is uniformly smaller or larger than the rendering
        # (height and width agree), the line-level size is off here: rescale.
        rh, rw = (oy1 - oy0) / max(1, rb[3] - rb[1]), (ox1 - ox0) / max(1, rb[2] - rb[0])
        if 0.55 <= rh <= 1.8 and abs(rh - rw) <= 0.35 * rh and abs(rh - 1) > 0.08:
            size = max(4, round(size * rh))
            font = registry.font(face, size)
            rb = drawn_box(font, size)
    if rb is None:
        return GlyphPen(size, float(ox0), float(oy1))
    pen_x = (ox0 + ox1) / 2 - ((rb[0] + rb[2]) / 2 - size)
    # Average the top and bottom alignments: robust to a slightly wrong size.
    base_y = ((oy0 - (rb[1] - 2 * size)) + (oy1 - (rb[3] - 2 * size))) / 2
    # An observed box much shorter or taller than the glyph (a lost stem, a merged neighbour)
    # cannot fix the baseline: keep the line's own.
    if baseline is not None and abs((oy1 - oy0) - (rb[3] - rb[1])) > 0.25 * max(1, rb[3] - rb[1]):
        base_y = baseline
    if observed is None:
        return GlyphPen(size, pen_x, base_y)
    sizes = (size,) if fixed_size else (size, size - 1, size + 1)  # ties keep the line's estimate
    err, size, pen_x, base_y = _align_to_ink(registry, face, sizes, char, box, pen_x, base_y, slant, observed, slope=slope)
    # The renderer puts glyphs on whole pixels (x rounds half up): keep the pen it drew at.
    return GlyphPen(size, float(np.floor(pen_x + 0.5)), base_y, err)


# Which edge of the old glyph's advance a replacement keeps (see `run_anchor`).
Anchor = Literal["centre", "left", "right"]


def run_anchor(text: str, index: int) -> Anchor:
    """Where text[index]'s replacement goes in the old glyph's advance, the rest of the line staying.

    The last character of a run (of non-space characters) keeps its pen, as a re-typeset word
    would; the first keeps the end of its advance, so a narrower or wider first letter still sits
    at the font's spacing from the next one ("MONDAY" -> "SUNDAY" is not "S UNDAY"); inside a run
    (and a character on its own) the difference splits between both sides.
    """
    first = index == 0 or text[index - 1].isspace()
    last = index == len(text) - 1 or text[index + 1].isspace()
    if first == last:
        return "centre"
    return "right" if first else "left"


class Advances(Protocol):
    """Anything that measures a string's advance width (a font; the unseen suite's made faces)."""

    def getlength(self, text: str) -> float: ...


def replacement_pen(font: Advances, old_char: str, new_char: str, pen_x: float, anchor: Anchor) -> float:
    """Pen x of new_char replacing old_char (drawn at pen_x), keeping the `anchor` edge of its advance."""
    spare = font.getlength(old_char) - font.getlength(new_char)
    return pen_x + {"left": 0.0, "centre": spare / 2, "right": spare}[anchor]


SUPERSAMPLE = 4  # a glyph drawn bolder or lighter has its outline moved at this many times the image's resolution
MAX_WEIGHT = 2.0  # the most (px) a glyph's outline is moved out or in


@dataclass
class GlyphOutline:
    """One glyph at its pen, ready to be drawn bolder or lighter than its face draws it.

    Faces come in a few weights here (regular, bold), text in many (light, medium, black): a
    light face matched to a regular one would be repainted a stroke too heavy. The outline moves
    by `weight` pixels along its normal (out is bolder), measured on a supersampled copy; the
    change is added to the renderer's own (hinted) coverage, so weight 0 is exactly that.
    """

    alpha: np.ndarray  # HxW coverage as render_text draws the glyph
    window: tuple[int, int, int, int] | None  # (x0, y0, x1, y1): where a weight change can land (None: no ink)
    distance: np.ndarray | None  # supersampled signed distance to the outline in image px, negative inside

    def _supersampled(self, weight: float) -> np.ndarray:
        """The window's coverage, outline moved by weight px, drawn supersampled and averaged down
        (anti-aliased at the supersampled resolution: a sample half a sample past the edge is half covered)."""
        s = SUPERSAMPLE
        x0, y0, x1, y1 = self.window
        return np.clip((weight - self.distance) * s + 0.5, 0, 1).reshape(y1 - y0, s, x1 - x0, s).mean((1, 3))

    @functools.cached_property
    def _unmoved(self) -> np.ndarray:  # the same at weight 0: what a moved outline's change is measured from
        return self._supersampled(0.0)

    def coverage(self, weight: float) -> np.ndarray:
        """HxW coverage with the outline moved out by weight pixels (in, when negative)."""
        if self.window is None or abs(weight) < 1e-3:
            return self.alpha
        moved = self._supersampled(float(np.clip(weight, -MAX_WEIGHT, MAX_WEIGHT)))
        x0, y0, x1, y1 = self.window
        out = self.alpha.copy()
        out[y0:y1, x0:x1] = np.clip(out[y0:y1, x0:x1] + moved - self._unmoved, 0, 1)
        return out


def glyph_outline(registry: FontRegistry, face: str, size: int, char: str, shape: tuple[int, int],
                  pen: tuple[float, float]) -> GlyphOutline:
    """The glyph drawn at pen (x, baseline y) on an HxW canvas, and its outline (see GlyphOutline)."""
    h, w = shape
    alpha = render_text(registry.font(face, size), char, (w, h), pen, [0.0]).alpha
    box = ink_box(alpha, 0.0)
    if box is None:
        return GlyphOutline(alpha, None, None)
    m = int(np.ceil(MAX_WEIGHT)) + 2
    x0, y0, x1, y1 = max(0, box[0] - m), max(0, box[1] - m), min(w, box[2] + m), min(h, box[3] + m)
    s = SUPERSAMPLE
    # The renderer puts the pen on a whole pixel: x rounds half up, the baseline half down.
    px, py = np.floor(pen[0] + 0.5), np.ceil(pen[1] - 0.5)
    hi = render_alpha(registry.font(face, size * s), char, ((x1 - x0) * s, (y1 - y0) * s), ((px - x0) * s, (py - y0) * s))
    inside = hi > 0.5
    distance = np.where(inside, 0.5 - ndimage.distance_transform_edt(inside), ndimage.distance_transform_edt(~inside) - 0.5) / s
    return GlyphOutline(alpha, (x0, y0, x1, y1), distance.astype(np.float32))


def place_glyph(
    registry: FontRegistry,
    face: str,
    old_char: str,
    new_char: str,
    pen: GlyphPen,
    shape: tuple[int, int],
    slant: float = 0.0,
    shift: tuple[float, float] = (0.0, 0.0),
    anchor: Anchor = "centre",
    weight: float = 0.0,
    slope: float = 0.0,
) -> tuple[np.ndarray, tuple[float, float]]:
    """Coverage of new_char drawn where old_char stood (its pen), and the new pen (x, baseline y).

    The new glyph takes the same baseline and keeps the `anchor` edge of the old glyph's advance;
    `weight` moves its outline out (bolder) or in by that many pixels (see GlyphOutline); `slope`
    sets it on a tilted baseline through the old glyph's pen (see `vertical_shear`). Where the pen
    is known only to an interval (GlyphPen.spread), the glyph is drawn at each whole pixel it may
    land on, weighed by its share (pixel_shares).
    """
    font = registry.font(face, pen.size)
    pen_x = replacement_pen(font, old_char, new_char, pen.x, anchor) + shift[0]
    base_y = pen.baseline + shift[1]

    def drawn(x: float) -> np.ndarray:
        if abs(weight) >= 1e-3:
            return glyph_outline(registry, face, pen.size, new_char, shape, (x, base_y)).coverage(weight)
        return render_text(font, new_char, (shape[1], shape[0]), (x, base_y), [0.0]).alpha

    shares = pixel_shares(pen_x + pen.spread[0], pen_x + pen.spread[1], pen_x, pen.certainty)
    if len(shares) == 1:
        alpha = drawn(pen_x)
    else:  # drawn once: a pen moved by whole pixels draws the same pixels moved (see ScaledFont)
        first = drawn(shares[0][0])
        alpha = np.zeros_like(first)
        for x, share in shares:
            k = int(x - shares[0][0])
            alpha[:, k:] += share * first[:, : first.shape[1] - k]
    return on_line(alpha, slant, base_y, slope, pen.x), (pen_x, base_y)


SHARE_FLOOR = 1e-3  # a pixel drawn with less of the glyph than this is not drawn (its share goes to the others)


def pixel_shares(lo: float, hi: float, at: float | None = None, certainty: float = 0.0) -> list[tuple[float, float]]:
    """(whole pixel, probability), left to right, that a renderer draws a pen at that pixel (it rounds
    half up), the pen lying at `at` with probability `certainty` (`at` taken into the interval's
    pixels) and else anywhere in [lo, hi); one pixel, all of it, where the interval is empty or
    within one pixel.

    A replacement's pen is the old glyph's plus the difference of their advances, a fraction of a
    pixel: where the old pen is known only to within its pixel, the new glyph may land on either of
    two. The expected rendering (each drawn at its pixel, weighed by its share) is then the draft: a
    glyph one pixel off its truth loses more likeness than one drawn half a pixel soft
    (tests/test_fidelity.py, unseen-0-0010).
    """
    first, last = math.floor(lo + 0.5), math.floor(max(lo, hi - 1e-9) + 0.5)
    if hi - lo <= 1e-9 or first == last:
        return [(float(first), 1.0)]
    sure = min(last, max(first, math.floor(at + 0.5))) if at is not None else None
    shares = {m: (1 - certainty) * (min(hi, m + 0.5) - max(lo, m - 0.5)) / (hi - lo) + (certainty if m == sure else 0.0)
              for m in range(first, last + 1)}
    kept = {m: p for m, p in shares.items() if p >= SHARE_FLOOR}
    total = sum(kept.values())
    return [(float(m), p / total) for m, p in kept.items()]


@functools.cache
def _offsets_nearest_first(reach: int) -> tuple[tuple[int, int], ...]:
    """Every (dx, dy) within reach, nearest first, so ties keep the estimate."""
    grid = ((dx, dy) for dx in range(-reach, reach + 1) for dy in range(-reach, reach + 1))
    return tuple(sorted(grid, key=lambda o: abs(o[0]) + abs(o[1])))


def _align_to_ink(
    registry: FontRegistry, face: str, sizes: tuple[int, ...], char: str, box: tuple[int, int, int, int],
    pen_x: float, base_y: float, slant: float, observed: tuple[np.ndarray, tuple[int, int]], reach: int = 2,
    slope: float = 0.0,
) -> tuple[float, int, float, float]:
    """(error, size, pen x, baseline) among `sizes` (the estimate's first) and within `reach` pixels of the
    estimate whose rendering of char best matches the observed coverage around its box (least squares)."""
    size = sizes[0]
    cov, (ox, oy) = observed
    h, w = cov.shape
    m = reach + 2
    x0, y0 = max(ox, box[0] - m), max(oy, box[1] - m)
    x1, y1 = min(ox + w, box[2] + m), min(oy + h, box[3] + m)
    target = cov[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
    if target.size == 0:
        return 0.0, size, pen_x, base_y
    offsets = _offsets_nearest_first(reach)
    best = None
    for s in sizes:
        if s < 4:
            continue
        font = registry.font(face, s)
        # Keep the glyph centred where the estimate put it when the size changes.
        px = pen_x + (registry.font(face, size).getlength(char) - font.getlength(char)) / 2
        # Render once on a canvas `reach` pixels larger all round; each offset is a slice of it.
        canvas = (x1 - x0 + 2 * reach, y1 - y0 + 2 * reach)
        by = base_y - y0 + reach
        big = on_line(render_text(font, char, canvas, (px - x0 + reach, by), [0.0]).alpha, slant, by, slope, px - x0 + reach)
        for dx, dy in offsets:
            win = big[reach - dy : reach - dy + y1 - y0, reach - dx : reach - dx + x1 - x0]
            err = float(((win - target) ** 2).sum())
            if best is None or err < best[0] - 1e-6:
                best = (err, s, px + dx, base_y + dy)
    return best
