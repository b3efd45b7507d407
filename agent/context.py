"""The heavy things, loaded once and passed to whoever needs them (no module-level globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from models.pipeline import DEFAULT_WEIGHTS, GlyphModel
from tools.fonts import FontRegistry
from tools.inpaint import GlyphDiffusionInpaint, InpaintTool, NaiveInpaint
from tools.ocr import OCR


@dataclass
class Toolbox:
    registry: FontRegistry
    ocr: OCR
    tools: dict[str, InpaintTool] = field(default_factory=dict)  # by name: "glyph-diffusion", "naive"

    @classmethod
    def load(cls, weights: Path | str = DEFAULT_WEIGHTS, diffusion: bool = True) -> Toolbox:
        import torch

        torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
        tools: dict[str, InpaintTool] = {"naive": NaiveInpaint()}
        if diffusion:
            tools["glyph-diffusion"] = GlyphDiffusionInpaint(GlyphModel.load(weights))
        return cls(FontRegistry.discover(), OCR(), tools)
