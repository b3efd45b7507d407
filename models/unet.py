"""A small UNet for glyph-conditioned inpainting: tensors in, tensors out.

Input channels, concatenated: the noisy crop x_t (3), the crop with the masked pixels blanked (3),
the mask (1), the coloured draft of the target glyph (3) and the glyph's coverage (1). The
condition (draft + coverage) is zeroed for classifier-free guidance's unconditional branch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from models.inputs import CONDITION, CONDITION_CHANNELS, NOISY, in_network_input


@dataclass
class UNetConfig:
    image_size: int = 32  # side of the square crops the model sees
    in_channels: int = NOISY.stop + CONDITION_CHANNELS  # x_t, then the condition (models/inputs.py)
    out_channels: int = 3  # eps or x0, RGB
    base_channels: int = 48  # width at full resolution
    channel_mults: tuple[int, ...] = (1, 2, 2)  # width multiplier per resolution level
    blocks_per_level: int = 2  # residual blocks per level on the way down
    attention_levels: tuple[int, ...] = (2,)  # levels (0 = full res) with self-attention
    time_dim: int = 128  # size of the timestep embedding
    groups: int = 8  # GroupNorm groups
    draft_skip: bool = False  # add the draft's channels to the output: an x0 prediction learnt as a correction to the pasted draft

    def to_dict(self) -> dict:
        return asdict(self)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding (Vaswani et al.): [cos(t w_i), sin(t w_i)], w_i = max_period^(-i/half)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, time_dim: int, groups: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time = nn.Linear(time_dim, cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(temb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class SelfAttention(nn.Module):
    def __init__(self, channels: int, groups: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).unbind(1)
        a = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return x + self.out(a.transpose(1, 2).reshape(b, c, h, w))


class GlyphUNet(nn.Module):
    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = c = config
        self.time_mlp = nn.Sequential(nn.Linear(c.time_dim, c.time_dim), nn.SiLU(), nn.Linear(c.time_dim, c.time_dim))
        self.stem = nn.Conv2d(c.in_channels, c.base_channels, 3, padding=1)
        widths = [c.base_channels * m for m in c.channel_mults]
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        skips, ch = [c.base_channels], c.base_channels
        for level, width in enumerate(widths):
            blocks = nn.ModuleList()
            for _ in range(c.blocks_per_level):
                blocks.append(ResBlock(ch, width, c.time_dim, c.groups))
                ch = width
                skips.append(ch)
            self.down.append(blocks)
            last = level == len(widths) - 1
            self.downsample.append(nn.Identity() if last else nn.Conv2d(ch, ch, 3, stride=2, padding=1))
            if not last:
                skips.append(ch)
        self.mid1 = ResBlock(ch, ch, c.time_dim, c.groups)
        self.mid_attn = SelfAttention(ch, c.groups)
        self.mid2 = ResBlock(ch, ch, c.time_dim, c.groups)
        self.up, self.upsample, self.attn = nn.ModuleList(), nn.ModuleList(), nn.ModuleDict()
        for level in reversed(range(len(widths))):
            blocks = nn.ModuleList()
            for _ in range(c.blocks_per_level + 1):
                blocks.append(ResBlock(ch + skips.pop(), widths[level], c.time_dim, c.groups))
                ch = widths[level]
            self.up.append(blocks)
            if level in c.attention_levels:
                self.attn[str(level)] = SelfAttention(ch, c.groups)
            self.upsample.append(nn.Identity() if level == 0 else nn.Upsample(scale_factor=2, mode="nearest"))
        self.head = nn.Sequential(nn.GroupNorm(c.groups, ch), nn.SiLU(), nn.Conv2d(ch, c.out_channels, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.time_mlp(timestep_embedding(t, self.config.time_dim))
        h = self.stem(x)
        hs = [h]
        for blocks, down in zip(self.down, self.downsample, strict=True):
            for block in cast(nn.ModuleList, blocks):
                h = block(h, temb)
                hs.append(h)
            if not isinstance(down, nn.Identity):
                h = down(h)
                hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, temb)), temb)
        n_levels = len(self.config.channel_mults)
        for i, (blocks, up) in enumerate(zip(self.up, self.upsample, strict=True)):
            level = n_levels - 1 - i
            for block in cast(nn.ModuleList, blocks):
                h = block(torch.cat([h, hs.pop()], dim=1), temb)
            if str(level) in self.attn:
                h = self.attn[str(level)](h)
            h = up(h)
        out = self.head(h)
        # The draft (zeros in guidance's unconditional branch) is already most of x0; learn what it misses.
        return out + x[:, in_network_input(CONDITION["draft"])] if self.config.draft_skip else out
