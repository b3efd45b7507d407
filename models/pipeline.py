"""The inpainting loop: DDIM sampling with classifier-free guidance and the known pixels re-imposed.

Separate from the network (unet.py) and the noise schedule (schedule.py), as in diffusers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from models.inputs import CONDITION, GLYPH, DataConfig
from models.schedule import DDIMScheduler, NoiseSchedule, ScheduleConfig
from models.unet import GlyphUNet, UNetConfig

WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "glyph_unet.pt"



class WeightsMissingError(FileNotFoundError):
    pass


@dataclass
class GlyphModel:
    """A loaded network with the schedule it was trained under."""

    unet: GlyphUNet
    schedule: NoiseSchedule
    meta: dict  # training metadata: step, wall time
    data: DataConfig = field(default_factory=DataConfig)  # the data it was trained on (the tool builds its inputs the same way)

    @classmethod
    def load(cls, path: Path | str = DEFAULT_WEIGHTS) -> GlyphModel:
        path = Path(path)
        if not path.exists():
            raise WeightsMissingError(
                f"diffusion weights not found at {path}: they ship in the repository (git checkout models/weights) "
                "or are produced by `glyphfix train`"
            )
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        unet = GlyphUNet(saved_config(UNetConfig, ckpt["unet_config"]))
        unet.load_state_dict({k: v.float() for k, v in ckpt["ema"].items()})
        unet.eval()
        schedule = NoiseSchedule(saved_config(ScheduleConfig, ckpt["schedule_config"]))
        return cls(unet, schedule, ckpt.get("meta", {}), saved_config(DataConfig, ckpt.get("data_config", {})))


def saved_config(kind, saved: dict):
    """A config dataclass from the dict saved with a run or its weights (its tuples come back as lists)."""
    return kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()})


@dataclass
class InpaintOutput:
    images: torch.Tensor  # B x 3 x S x S in [-1, 1]; known pixels equal the input exactly


class GlyphInpaintPipeline:
    def __init__(self, model: GlyphModel):
        self.model = model

    def predict(self, x_t: torch.Tensor, cond: torch.Tensor, t: int, guidance: float) -> torch.Tensor:
        """Classifier-free guidance: out = uncond + w (cond - uncond); w = 1 is the conditional model alone."""
        tt = torch.full((x_t.shape[0],), t, dtype=torch.long)
        if guidance == 1.0:
            return self.model.unet(torch.cat([x_t, cond], 1), tt)
        uncond = cond.clone()
        uncond[:, GLYPH] = 0
        both = self.model.unet(torch.cat([torch.cat([x_t, cond], 1), torch.cat([x_t, uncond], 1)]), tt.repeat(2))
        c, u = both.chunk(2)
        return u + guidance * (c - u)

    @torch.no_grad()
    def __call__(
        self,
        cond: torch.Tensor,
        known: torch.Tensor,
        steps: int = 20,
        guidance: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> InpaintOutput:
        """cond: B x 8 x S x S condition; known: B x 3 x S x S image whose unmasked pixels are kept."""
        scheduler = DDIMScheduler(self.model.schedule, steps)
        mask = cond[:, CONDITION["mask"]]
        noise = torch.randn(known.shape, generator=generator)
        x = noise.clone()
        for t in scheduler.timesteps:
            # Known pixels re-imposed at the current noise level: x_t = sqrt(abar_t) x0 + sqrt(1-abar_t) eps.
            x = mask * x + (1 - mask) * self.model.schedule.add_noise(known, noise, torch.tensor([t]))
            out = scheduler.step(self.predict(x, cond, t, guidance), t, x)
            x = out.prev_sample
        return InpaintOutput(images=mask * x.clamp(-1, 1) + (1 - mask) * known)
