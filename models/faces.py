"""The faces a training run draws words and drafts in, and the pack that carries them to a machine
without the font packages (a lent accelerator has none of them).

Issue 18, item 5: the plan draws a new glyph in the library face that fits the word best, and a
user's face is often in no package, so the draft is then in a *near* face, not the image's. To
teach the diffusion model to move such a draft toward the word's own style, a training word may be
drawn in any face of the font library (tools/library.py) and its draft in one of that face's
nearest other faces, in the library's own retrieval distance (shape, width, proportions).

Faces the suites judge the model on never train it: the registry's validation faces and every
family the unseen suite draws (agent/evals/unseen.py; a test checks that each of them is kept out).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tools.fonts import FontFace, FontRegistry
from tools.library import ASPECT_WEIGHT, HEIGHT_WEIGHT, INDEX_CHARS, FontIndex

# Family names (lower case, spaces removed) whose faces are judged and never trained on: the
# registry's validation families, and the unseen suite's packaged faces (Source Sans Pro's and Roboto's
# other weights, Red Hat Display, Fjalla One, Computer Modern and its descendant Latin Modern).
# Roboto and Red Hat Display keep their registry faces (regular, bold, italic): only the library's
# other cuts of them are kept out.
JUDGED_FAMILIES = ("free", "sourceserif", "sourcesans", "roboto", "redhatdisplay", "fjallaone", "cm", "latinmodern",
                   "lmroman", "lmsans", "lmmono", "computermodern")
NEIGHBOURS = 8  # a draft's face is one of the word face's this many nearest: the plan's shortlist is 8 long
SAME_DRAWING = 2.0  # root mean square glyph difference (of 255) under which two faces draw the same (another package's copy)
CHUNK = 256  # faces whose neighbours are computed at once (a 256 x 2,366 x 62 cost array: 150 MB)
PACK_CHARS = INDEX_CHARS  # what training words are made of (models/data.py's words): all a packed face keeps


def judged(face: FontFace) -> bool:
    return face.family.lower().replace(" ", "").startswith(JUDGED_FAMILIES)


@dataclass
class TrainingFaces:
    registry: FontRegistry  # draws every face below by name
    words: list[FontFace]  # the registry's training faces (every run draws words in them)
    library: list[FontFace]  # further faces a word may be drawn in (the library's, less the judged ones)
    validation: list[FontFace]  # the registry's held-out faces: the validation batch's words
    neighbours: dict[str, list[str]]  # face -> its nearest other unjudged faces, closest first (drafts' faces)
    heights: dict[str, list[float]]  # face -> ink height of each INDEX_CHARS glyph at the index size (fits a draft's size)

    def registry_words(self, held_out: bool) -> list[FontFace]:
        """The registry's faces a word is drawn in: the validation faces, or the training ones."""
        return self.validation if held_out else self.words

    @classmethod
    def discover(cls, with_library: bool) -> TrainingFaces:
        """From the installed packages; with_library: also the font library's faces and neighbours."""
        if not with_library:
            registry = FontRegistry.discover()
            return cls(registry, registry.select(held_out=False), [], registry.select(held_out=True), {}, {})
        registry = FontRegistry.discover(with_library=True)
        index = registry.library
        words, validation = registry.select(held_out=False), registry.select(held_out=True)
        core = {f.name for f in registry.faces}
        library = [f for f in index.faces if f.name not in core and not judged(f)]
        neighbours = nearest_faces(index, [f.name for f in words + validation + library])
        heights = {f.name: [round(float(v), 2) for v in index.heights[i]] for i, f in enumerate(index.faces)}
        return cls(registry, words, library, validation, neighbours, heights)

    # -- the pack: subset font files and a manifest, for a machine without the packages

    def write_pack(self, folder: Path) -> int:
        """Every face this run can draw, its file subset to PACK_CHARS, under folder/fonts, and
        folder/faces.json. Returns the bytes written."""
        from fontTools import subset

        (folder / "fonts").mkdir(parents=True, exist_ok=True)
        drawn = {f.name for f in self.words + self.library + self.validation}
        drawn |= {n for names in self.neighbours.values() for n in names}
        faces = [self.registry.by_name[n] for n in sorted(drawn)]
        files: dict[str, str] = {}
        options = subset.Options()
        options.layout_features = ["kern"]
        options.name_IDs = ["*"]  # a variable font's named instances name themselves here
        options.notdef_outline = True
        for face in faces:
            key = str(face.path)
            if key in files:
                continue
            packed = f"{hashlib.sha1(key.encode()).hexdigest()[:12]}{face.path.suffix.lower()}"
            font = subset.load_font(key, options, lazy=False)
            sub = subset.Subsetter(options)
            sub.populate(unicodes=[ord(c) for c in PACK_CHARS])
            sub.subset(font)
            subset.save_font(font, str(folder / "fonts" / packed), options)
            files[key] = packed
        manifest = dict(
            faces=[dict(name=f.name, family=f.family, category=f.category, bold=f.bold, italic=f.italic,
                        held_out=f.held_out, file=files[str(f.path)], variation=f.variation) for f in faces],
            words=[f.name for f in self.words], library=[f.name for f in self.library],
            validation=[f.name for f in self.validation], neighbours=self.neighbours,
            heights={n: self.heights[n] for n in sorted(drawn) if n in self.heights},
        )
        (folder / "faces.json").write_text(json.dumps(manifest))
        return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())

    @classmethod
    def from_pack(cls, folder: Path) -> TrainingFaces:
        manifest = json.loads((folder / "faces.json").read_text())
        faces = [FontFace(m["name"], m["family"], m["category"], m["bold"], m["italic"], m["held_out"],
                          folder / "fonts" / m["file"], tuple(m["variation"]) if m["variation"] is not None else None)
                 for m in manifest["faces"]]
        registry = FontRegistry(faces)
        by_name = registry.by_name
        return cls(registry, [by_name[n] for n in manifest["words"]], [by_name[n] for n in manifest["library"]],
                   [by_name[n] for n in manifest["validation"]], manifest["neighbours"], manifest["heights"])


def nearest_faces(index: FontIndex, names: list[str], k: int = NEIGHBOURS) -> dict[str, list[str]]:
    """Each named face's k nearest unjudged faces of the index over all INDEX_CHARS, in the
    retrieval's own distance (tools/library.py: shape, width, proportions), skipping faces that draw
    the same glyphs (another package's copy is not another face)."""
    wanted = set(names)
    rows = [i for i, f in enumerate(index.faces) if f.name in wanted]
    shapes = index.shapes.reshape(len(index.faces), -1).astype(np.float32) / 255.0
    squares = (shapes ** 2).sum(1)
    log_aspect = np.log(index.aspects)
    rel_height = np.log(index.heights)
    rel_height -= rel_height.mean(1, keepdims=True)
    allowed = np.array([not judged(f) for f in index.faces])
    out = {}
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        # 1. shape: mean squared difference of every glyph's coverage, these faces against all
        cost = np.maximum(squares[chunk, None] + squares[None] - 2 * shapes[chunk] @ shapes.T, 0) / shapes.shape[1]
        same = cost < (SAME_DRAWING / 255) ** 2
        # 2. width and 3. proportions, as the retrieval weighs them
        for term, weight in ((log_aspect, ASPECT_WEIGHT), (rel_height, HEIGHT_WEIGHT)):
            cost += weight * ((term[chunk, None] - term[None]) ** 2).mean(2)
        cost[same | ~allowed[None]] = np.inf
        for r, i in enumerate(chunk):
            order = np.argsort(cost[r])[:k]
            out[index.faces[i].name] = [index.faces[j].name for j in order if np.isfinite(cost[r, j])]
    return out


def main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(description="Write the training faces' pack (subset fonts + faces.json).")
    p.add_argument("out", type=Path)
    a = p.parse_args(argv)
    faces = TrainingFaces.discover(with_library=True)
    size = faces.write_pack(a.out)
    print(f"{len(faces.words)} registry, {len(faces.library)} library, {len(faces.validation)} validation faces; "
          f"{size / 1e6:.1f} MB in {a.out}")


if __name__ == "__main__":
    main()
