"""The heavy things, loaded once and passed to whoever needs them (no module-level globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from models.inpaint_tool import GlyphDiffusionInpaint
from models.pipeline import DEFAULT_WEIGHTS, GlyphModel
from tools.fonts import FontRegistry
from tools.inpaint import InpaintTool, NaiveInpaint
from tools.ocr import OCR

# Torch threads per process: this runs on 2-core machines, where more threads than cores only
# contend (and an eval's worker processes take one core each).
MAX_TORCH_THREADS = 2


def set_torch_threads(threads: int | None = None) -> None:
    """Set torch's thread count (Toolbox.load does; a benchmark of the model alone, too)."""
    import torch

    torch.set_num_threads(threads or max(1, min(MAX_TORCH_THREADS, torch.get_num_threads())))


@dataclass
class Toolbox:
    registry: FontRegistry
    ocr: OCR
    tools: dict[str, InpaintTool] = field(default_factory=dict)  # by name: "glyph-diffusion", "naive"

    @classmethod
    def load(cls, weights: Path | str = DEFAULT_WEIGHTS, diffusion: bool = True, reading_cache: Path | None = None,
             threads: int | None = None) -> Toolbox:
        """The models; reading_cache: a folder where image readings are also kept between processes (the
        CLI); threads: torch's threads (set here, where the models load; an eval worker process or Ray
        actor takes one core)."""
        set_torch_threads(threads)
        tools: dict[str, InpaintTool] = {"naive": NaiveInpaint()}
        if diffusion:
            tools["glyph-diffusion"] = GlyphDiffusionInpaint(GlyphModel.load(weights))
        return cls(FontRegistry.discover(with_library=True), OCR(reading_cache=reading_cache), tools)
