"""Synthetic single-character edits with exact ground truth, for benchmarks and the eval suite.

A case is a word drawn in a face held out from training, and the same picture with one glyph
replaced in place. Cases are fully determined by (seed, index), so a rerun regenerates them bit
for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.data import Scene, make_scene
from models.inputs import DataConfig
from tools.fonts import FontRegistry
from tools.mask import union
from tools.ocr import TextLine

CASE_CONFIG = DataConfig(font_px=(20, 44), held_out=True, p_blur=0.2, p_jpeg=0.2, p_effect=0.1)


@dataclass
class SyntheticCase:
    id: str
    scene: Scene
    word_box: tuple[int, int, int, int]  # ink box of the whole source word, grown a little

    @property
    def find(self) -> str:
        return self.scene.text

    @property
    def replace(self) -> str:
        return self.scene.new_text

    def edit_box(self) -> tuple[int, int, int, int]:
        """Old and new glyph boxes grown by the halo and by the reach of an outline or drop shadow
        (the true edit changes those too): where a correct edit may change pixels."""
        s = self.scene
        b = union(s.boxes[s.index], s.new_box)
        h, w = s.source.shape[:2]
        m = max(3, round(0.12 * s.size)) + s.effect_reach
        return max(0, b[0] - m), max(0, b[1] - m), min(w, b[2] + m), min(h, b[3] + m)

    def gt_line(self) -> TextLine:
        """The line as a perfect detector would report it."""
        return TextLine.of_box(self.scene.text, 1.0, self.word_box)


def make_case(registry: FontRegistry, seed: int, index: int, config: DataConfig = CASE_CONFIG) -> SyntheticCase:
    rng = np.random.default_rng([seed, index, 7])
    faces = registry.select(held_out=config.held_out)
    scene = make_scene(rng, registry, faces, config)
    box = None
    for b in scene.boxes:
        box = union(box, b)
    h, w = scene.source.shape[:2]
    m = max(2, scene.size // 6)
    word_box = (max(0, box[0] - m), max(0, box[1] - m), min(w, box[2] + m), min(h, box[3] + m))
    return SyntheticCase(f"syn-{seed}-{index:04d}", scene, word_box)
