"""The font library: every Latin face the installed font packages hold, and an index of their glyph shapes.

The registry (tools/fonts.py) holds the 68 faces the diffusion model was trained and validated on.
Text in a user's image is mostly set in other faces: other weights and widths of those families,
and families the registry never held. The library is every face of the font packages the set-up
installs (Debian's `fonts-*`, PyPI's `fontpkg-*` Google Fonts families, the registry's own packages,
matplotlib's), each named instance of a variable font counted as the face its designer shipped.

Notation (one index entry per face f and indexed character c):
    shape[f, c]   the glyph's ink box, resampled to GRID x GRID coverage (its form and stroke weight)
    aspect[f, c]  ink width / ink height (its width: condensed or extended)
    height[f, c]  ink height at the INDEX_EM size (relative heights: x-height to cap height, ascenders)

Retrieval compares the glyphs of the word in the image (their ink boxes, cut by the plan) with the
same characters of every face:
    # 1. shape distance: mean squared difference of the resampled coverages
    # 2. width: squared log ratio of the aspects
    # 3. proportion: squared log ratio of each glyph's height to the word's mean glyph height
All three are scale-free, so no size has to be fitted before the faces are ranked; the plan then fits
the few best faces properly (tools.fonts.match_font). Each face found also carries the width the
word's glyphs show against it (the mean log ratio of the aspects, as a scale: a condensed or extended
cut of it that no package holds) and its distance with the width term measured from that width.

The index is built once by the set-up (`python -m tools.library`, run by `make setup`), kept outside
git (GLYPHFIX_FONT_INDEX, else ~/.cache/glyphfix) and rebuilt only when the installed font files change.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import sys
import time
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, ImageFont

from tools.fonts import Category, FontFace, FontRegistry, FontsMissingError, ink_box, render_alpha

INDEX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"  # a face must draw all of them
INDEX_VERSION = 4  # bump when the descriptors change: an index of another version is rebuilt
# px: glyphs are drawn this size for the index (stems of regular text faces are 3-5 px here). Also
# tried: drawing them at 16, 28 and 48 px and comparing a word at the size nearest its own: words
# drawn 14-20 px found their face among the 8 closest less often (43% against 63%), 20-30 px more (86/75%).
INDEX_EM = 48
GRID = 16  # px: each glyph's ink box is resampled to GRID x GRID (a 1 px stem of 20 px text keeps 0.8 px)
DEBIAN_FONTS = Path("/usr/share/fonts")
PYTHON_FONT_PACKAGES = ("fontpkg_", "font_")  # PyPI font packages ship their files in <package>/files
ASPECT_WEIGHT = 0.5  # score units per squared log-ratio of widths (see calibrate in tests/test_library.py)
HEIGHT_WEIGHT = 1.0  # the same for relative heights
SAME_GLYPHS = 2.0  # mean difference (of 255) under which two faces' glyphs are the same drawing
WIDTH_RANGE = (0.75, 1.3)  # the narrowest and widest a face is fitted at (condensed cuts run near 0.8 of their family)
MAX_WITNESSES = 16  # glyphs of the word compared (the nearest to the edit): more adds time, not rank


@dataclass(frozen=True)
class Candidate:
    face: str
    score: float  # retrieval distance: lower is closer
    x_scale: float  # how much wider the word's glyphs are than the face's: exp(mean log ratio of their aspects)
    scaled_score: float  # retrieval distance of the face drawn x_scale as wide


def index_path() -> Path:
    """GLYPHFIX_FONT_INDEX, else ~/.cache/glyphfix/font-index-v<version>-<environment>.npz (not
    GLYPHFIX_CACHE's folder: that one holds readings, and tests point it at a fresh folder). One per
    Python environment: the index names font files inside it (the PyPI font packages), and two
    checkouts' environments would otherwise rebuild it in turn, each leaving the other's paths."""
    environment = hashlib.sha256(sys.prefix.encode()).hexdigest()[:8]
    return Path(os.environ.get("GLYPHFIX_FONT_INDEX") or
                Path.home() / ".cache" / "glyphfix" / f"font-index-v{INDEX_VERSION}-{environment}.npz")


# ----------------------------------------------------------------------------- finding the faces


def font_files() -> list[Path]:
    """Every .ttf/.otf file of the Debian font folder, of the PyPI font packages and matplotlib's."""
    roots = [DEBIAN_FONTS]
    for entry in sys.path:
        folder = Path(entry or ".")
        if folder.is_dir():
            roots += [p / "files" for p in folder.iterdir() if p.name.startswith(PYTHON_FONT_PACKAGES) and p.is_dir()]
    spec = importlib.util.find_spec("matplotlib")
    if spec and spec.origin:
        roots.append(Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf")
    files = {p.resolve() for root in roots if root.is_dir() for p in root.rglob("*") if p.suffix.lower() in (".ttf", ".otf")}
    return sorted(files)


def _name(font, name_id: int) -> str | None:
    record = font["name"].getDebugName(name_id) if name_id not in (None, 0xFFFF) else None
    return record.strip() if record else None


SERIF_WORDS = ("serif", "slab", "roman", "garamond", "times", "baskerv", "bodoni", "didot", "caslon", "libertine",
               "gentium", "charis", "schoolbook", "pagella", "termes", "bonum", "book")


def _category(font, name: str) -> Category:
    """mono when the face is fixed-pitch; else serif or sans from its PANOSE class, else from its name."""
    if font["post"].isFixedPitch:
        return "mono"
    os2 = font["OS/2"] if "OS/2" in font else None
    panose = getattr(os2, "panose", None)
    if panose is not None and panose.bFamilyType == 2:
        if panose.bSerifStyle in (11, 12, 13):
            return "sans"
        if 2 <= panose.bSerifStyle <= 10:
            return "serif"
    lowered = name.lower()
    if "sans" not in lowered and any(w in lowered for w in SERIF_WORDS):
        return "serif"
    return "sans"


def faces_in(path: Path) -> list[FontFace]:
    """The faces of one file that draw every INDEX_CHARS (a variable font: one per named instance)."""
    from fontTools.ttLib import TTFont

    try:
        font = TTFont(str(path), lazy=True, fontNumber=0)
        cmap = font.getBestCmap() or {}
    except Exception:  # a damaged or non-font file among the packages' files: not a face
        return []
    if not all(ord(c) in cmap for c in INDEX_CHARS) or cmap[ord("a")] == "alpha":
        return []  # (a symbol face maps the Latin letters to Greek ones: Standard Symbols PS)
    family = _name(font, 16) or _name(font, 1) or path.stem
    os2 = font["OS/2"] if "OS/2" in font else None
    italic = bool(os2 and os2.fsSelection & 1) or font["post"].italicAngle != 0
    if "fvar" not in font:
        name = _name(font, 6) or path.stem
        bold = bool(os2 and os2.usWeightClass >= 600)
        return [FontFace(name, family, _category(font, name), bold, italic, True, path)]
    fvar = font["fvar"]
    tags = [a.axisTag for a in fvar.axes]
    faces = []
    for inst in fvar.instances:
        sub = _name(font, inst.subfamilyNameID) or "Instance"
        name = _name(font, getattr(inst, "postscriptNameID", 0xFFFF)) or f"{family}-{sub}".replace(" ", "")
        coords = inst.coordinates
        bold = coords.get("wght", 400) >= 600
        slanted = italic or coords.get("ital", 0) >= 0.5 or coords.get("slnt", 0) != 0 or "italic" in sub.lower()
        faces.append(FontFace(name, family, _category(font, name), bold, slanted, True, path,
                              variation=tuple(float(coords.get(t, a.defaultValue)) for t, a in zip(tags, fvar.axes, strict=True))))
    return faces


def library_faces(core: list[FontFace]) -> list[FontFace]:
    """The registry's faces first (under their registry names), then every other face, one per name."""
    seen_paths = {f.path.resolve() for f in core if f.variation is None}
    faces, names = list(core), {f.name for f in core}
    for path in font_files():
        if path in seen_paths:
            continue
        for face in faces_in(path):
            if face.name not in names:
                names.add(face.name)
                faces.append(face)
    return faces


# ----------------------------------------------------------------------------- descriptors


def descriptor(coverage: np.ndarray) -> tuple[np.ndarray, float, float] | None:
    """(GRID*GRID coverage of the ink box, aspect w/h, ink height px) of one glyph's coverage, or None
    when it holds no ink. The box holds the coverage over 0.5 (the threshold the plan cuts characters
    at), or over half its peak where it never reaches that (hairline strokes of a thin face)."""
    box = ink_box(coverage, min(0.5, 0.5 * float(coverage.max(initial=0.0))))
    if box is None:
        return None
    x0, y0, x1, y1 = box
    crop = Image.fromarray(np.ascontiguousarray(coverage[y0:y1, x0:x1], np.float32), mode="F")
    shape = np.asarray(crop.resize((GRID, GRID), Image.Resampling.BILINEAR), np.float32).clip(0, 1)
    return shape.reshape(-1), (x1 - x0) / (y1 - y0), float(y1 - y0)


def _face_descriptors(face: FontFace) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Index entries of one face (shapes uint8 C x GRID^2, aspects, heights), or None if it fails to draw."""
    try:
        font = ImageFont.truetype(str(face.path), INDEX_EM)
        if face.variation is not None:
            font.set_variation_by_axes(list(face.variation))
    except OSError:
        return None
    shapes = np.zeros((len(INDEX_CHARS), GRID * GRID), np.uint8)
    aspects, heights = np.zeros(len(INDEX_CHARS), np.float32), np.zeros(len(INDEX_CHARS), np.float32)
    for k, ch in enumerate(INDEX_CHARS):
        d = descriptor(render_alpha(font, ch, (3 * INDEX_EM, 3 * INDEX_EM), (INDEX_EM, 2 * INDEX_EM)))
        if d is None:  # a blank glyph where the cmap promised one: not a usable face
            return None
        shapes[k], aspects[k], heights[k] = np.round(d[0] * 255), d[1], d[2]
    return shapes, aspects, heights


# ----------------------------------------------------------------------------- the index


@dataclass
class FontIndex:
    faces: list[FontFace]
    shapes: np.ndarray  # uint8 F x C x GRID^2
    aspects: np.ndarray  # float32 F x C
    heights: np.ndarray  # float32 F x C
    fingerprint: str  # of the font files it was built from

    def retrieve(self, glyphs: list[tuple[str, np.ndarray]], top: int = 8,
                 reference: str | None = None) -> tuple[list[Candidate], float | None]:
        """The `top` faces whose glyphs are closest to the observed ones ((char, coverage) pairs; characters
        outside INDEX_CHARS and blank crops are skipped), closest first, and the distance of the
        `reference` face (None: not asked, or not in the library)."""
        obs = [(INDEX_CHARS.index(c), d) for c, cov in glyphs if c in INDEX_CHARS and (d := descriptor(cov)) is not None]
        obs = obs[:MAX_WITNESSES]
        if not obs:
            return [], None
        cidx = np.array([k for k, _ in obs])
        shape_o = np.stack([d[0] for _, d in obs])  # k x G^2
        aspect_o = np.log(np.array([d[1] for _, d in obs], np.float32))
        height_o = np.log(np.array([d[2] for _, d in obs], np.float32))
        # 1. shape distance (a face's k glyphs against the word's k)
        shape_f = self.shapes[:, cidx].astype(np.float32) / 255.0  # F x k x G^2
        cost = ((shape_f - shape_o[None]) ** 2).mean(axis=(1, 2))
        # 2. width
        wider = aspect_o[None] - np.log(self.aspects[:, cidx])  # F x k: log(observed / face) aspect
        cost += ASPECT_WEIGHT * (wider**2).mean(1)
        # 3. proportions: heights relative to the word's mean (log), so the scale drops out
        if len(obs) > 1:
            rel_f = np.log(self.heights[:, cidx])
            rel_f -= rel_f.mean(1, keepdims=True)
            cost += HEIGHT_WEIGHT * ((rel_f - (height_o - height_o.mean())[None]) ** 2).mean(1)
        ref = next((round(float(cost[i]), 5) for i, f in enumerate(self.faces) if f.name == reference), None)
        taken: list[int] = []
        for i in np.argsort(cost, kind="stable"):
            if len(taken) == top or not np.isfinite(cost[i]):
                break
            # A face that draws these glyphs as one already taken does (Noto's script faces carry
            # Noto Sans's Latin, hinted a little apart) adds nothing to the shortlist.
            mine = self.shapes[i, cidx].astype(np.int16)
            if all(np.abs(mine - self.shapes[j, cidx]).mean() > SAME_GLYPHS for j in taken):
                taken.append(int(i))
        # The width each face would be drawn at: a condensed or extended cut no package holds has
        # its face's forms at another width (the unseen suite's made faces: within 0.02 of the scale
        # they were drawn at for 15 of the 18 whose face was among the 20 closest, at most 0.06
        # off); WIDTH_RANGE bounds what is believed.
        log_scale = np.clip(wider.mean(1), *np.log(WIDTH_RANGE))
        scaled = cost + ASPECT_WEIGHT * (((wider - log_scale[:, None]) ** 2).mean(1) - (wider**2).mean(1))
        return [Candidate(self.faces[i].name, round(float(cost[i]), 5), round(float(np.exp(log_scale[i])), 3),
                          round(float(scaled[i]), 5)) for i in taken], ref

    # -- storage

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = [dict(name=f.name, family=f.family, category=f.category, bold=f.bold, italic=f.italic,
                     held_out=f.held_out, path=str(f.path), variation=f.variation) for f in self.faces]
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, shapes=self.shapes, aspects=self.aspects, heights=self.heights,
                            meta=np.array(json.dumps(dict(faces=meta, fingerprint=self.fingerprint))))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path | None = None) -> FontIndex:
        path = path or index_path()
        if not path.exists():
            raise FontsMissingError(f"font library index {path} not built: run `make setup` (or `python -m tools.library`)")
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            faces = [FontFace(m["name"], m["family"], m["category"], m["bold"], m["italic"], m["held_out"], Path(m["path"]),
                              variation=tuple(m["variation"]) if m["variation"] is not None else None) for m in meta["faces"]]
            return cls(faces, data["shapes"], data["aspects"], data["heights"], meta["fingerprint"])

    @classmethod
    def build(cls, faces: list[FontFace], fingerprint: str, processes: int = 2) -> FontIndex:
        with Pool(processes) as pool:
            described = pool.map(_face_descriptors, faces, chunksize=16)
        # A face whose every indexed glyph is another's (Noto's script faces carry Noto Sans's Latin; one
        # family ships in two packages) is that face: kept once, the first (the registry's name) winning.
        kept, seen = [], set()
        for f, d in zip(faces, described, strict=True):
            if d is not None and (key := hashlib.sha1(d[0].tobytes()).digest()) not in seen:
                seen.add(key)
                kept.append((f, d))
        shapes, aspects, heights = (np.stack([d[j] for _, d in kept]) for j in range(3))
        return cls([f for f, _ in kept], shapes, aspects, heights, fingerprint)


def fingerprint(files: list[Path]) -> str:
    """Of the font files (path, size) and the index version: a new package or version changes it."""
    h = hashlib.sha256(str(INDEX_VERSION).encode())
    for p in files:
        h.update(f"{p}\0{p.stat().st_size}\n".encode())
    return h.hexdigest()[:16]


def build_index(path: Path | None = None, force: bool = False) -> tuple[FontIndex, bool]:
    """The index at path, built (or rebuilt when the font files changed). Returns (index, built now)."""
    path = path or index_path()
    current = fingerprint(font_files())
    if path.exists() and not force:
        index = FontIndex.load(path)
        if index.fingerprint == current:
            return index, False
    registry = FontRegistry.discover()
    index = FontIndex.build(library_faces(registry.faces), current)
    index.save(path)
    return index, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.library", description="Build the font library's index (make setup runs this).")
    parser.add_argument("--force", action="store_true", help="rebuild even if the font files did not change")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        index, built = build_index(force=args.force)
    except FontsMissingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    size_mb = index_path().stat().st_size / 1e6
    print(f"font library: {len(index.faces)} faces ({sum(f.variation is not None for f in index.faces)} variable-font "
          f"instances), index {index_path()} ({size_mb:.0f} MB), {'built' if built else 'up to date'} "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
