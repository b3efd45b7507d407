"""What inference needs to turn an image edit into model inputs, and the inputs' channel layout.

The same functions serve training (models/data.py) and the diffusion tool (models/inpaint_tool.py),
so the model sees at run time exactly what it was trained on.

Channel layout. The network's input is x_t (3 channels) followed by the condition; the condition
is, in order, the named slices of CONDITION. Every place that indexes channels uses these names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

if TYPE_CHECKING:  # only a type: the drafts are drawn by tools/inpaint.py
    from tools.inpaint import Draft

NOISY = slice(0, 3)  # x_t, in the network input
CONDITION = {  # the condition's channels (after x_t), in order
    "masked": slice(0, 3),  # the crop with the masked pixels blanked
    "mask": slice(3, 4),  # 1 where the model repaints
    "draft": slice(4, 7),  # the coloured draft of the new glyph over its plate
    "coverage": slice(7, 8),  # the draft glyph's coverage
}
CONDITION_CHANNELS = 8
# What classifier-free guidance drops for its unconditional branch: the draft and its coverage.
GLYPH = slice(CONDITION["draft"].start, CONDITION["coverage"].stop)


def in_network_input(channels: slice) -> slice:
    """A condition slice as a slice of the network's input (the condition follows x_t)."""
    return slice(channels.start + NOISY.stop, channels.stop + NOISY.stop)


@dataclass
class DataConfig:
    model_size: int = 32  # side of the square crop the model sees
    font_px: tuple[int, int] = (14, 56)  # font size range of the synthetic words (pixels)
    held_out: bool = False  # draw words in the validation faces (True) or the training faces (False)
    context_scale: float = 1.5  # crop side / longest side of the mask box
    p_exact_draft: float = 0.0  # training: the draft is the true face at the true size and place (a clean match)
    p_same_face_draft: float = 0.7  # training, otherwise: the draft uses the true face; else a similar one
    p_library_face: float = 0.0  # training: the word is drawn in a face of the font library (not the registry's)
    p_neighbour_draft: float = 0.0  # training, unless exact: the draft is in one of the word face's nearest other faces
    draft_size_jitter: float = 0.04  # training: relative size error of the draft
    draft_shift_jitter: float = 0.02  # training: position error of the draft, as a fraction of size
    p_blur: float = 0.3  # probability of a Gaussian blur on the whole picture
    p_jpeg: float = 0.3  # probability of JPEG compression
    p_effect: float = 0.2  # probability of an outline or a drop shadow
    p_shaped_mask: float = 0.5  # training: the mask follows the old and new ink (as the planner's first try) instead of the box
    draft_plate: str = "flat"  # what the draft's glyph is drawn over inside the mask: "flat" colour or "inpainted" background


def crop_window(mask_box, min_side: int, context_scale: float) -> tuple[int, int, int]:
    """A square window (x0, y0, side) centred on the mask box, with context around it."""
    x0, y0, x1, y1 = mask_box
    side = int(round(max(context_scale * max(x1 - x0, y1 - y0), min_side, 8)))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return int(round(cx - side / 2)), int(round(cy - side / 2)), side


def crop_square(arr: np.ndarray, window) -> np.ndarray:
    x0, y0, side = window
    h, w = arr.shape[:2]
    pad = [(max(0, -y0), max(0, y0 + side - h)), (max(0, -x0), max(0, x0 + side - w))] + [(0, 0)] * (arr.ndim - 2)
    padded = np.pad(arr, pad, mode="edge")
    return padded[y0 + pad[0][0] : y0 + pad[0][0] + side, x0 + pad[1][0] : x0 + pad[1][0] + side]


def resize_square(arr: np.ndarray, size: int, resample=Image.Resampling.BILINEAR) -> np.ndarray:
    """Resize an HxW or HxWxC float array (any range) to size x size."""
    if arr.ndim == 2:
        return np.asarray(Image.fromarray(arr.astype(np.float32)).resize((size, size), resample), np.float32)
    return np.stack([resize_square(arr[..., c], size, resample) for c in range(arr.shape[2])], -1)


def crop_inputs(
    source: np.ndarray, mask: np.ndarray, draft: Draft, window, size: int, drafted: np.ndarray,
) -> dict[str, torch.Tensor]:
    """Model inputs for one edit: masked source, mask, coloured draft and glyph coverage, in [-1, 1].

    The model-resolution mask marks every model pixel that touches a masked image pixel, so the
    model repaints at least what the image mask needs. drafted: the source with the draft painted
    inside the mask (tools.inpaint.draft_image, over the model's plate).
    """
    src = resize_square(crop_square(source.astype(np.float32), window), size, Image.Resampling.BOX)
    m = (resize_square(crop_square(mask.astype(np.float32), window), size, Image.Resampling.BOX) > 0.0).astype(np.float32)
    dr = resize_square(crop_square(drafted, window), size, Image.Resampling.BOX)
    cov = resize_square(crop_square(draft.coverage, window), size, Image.Resampling.BOX)

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).float() / 127.5 - 1

    return {
        "masked": t(src) * (1 - torch.from_numpy(m)[None]),
        "mask": torch.from_numpy(m)[None],
        "draft": t(dr),
        "coverage": torch.from_numpy(cov.copy())[None] * 2 - 1,
    }


def condition_tensor(inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """The condition, its channels in CONDITION's order."""
    return torch.cat([inputs[name] for name in CONDITION], dim=0)


def to_model_range(img: np.ndarray, window, size: int) -> torch.Tensor:
    return torch.from_numpy(resize_square(crop_square(img.astype(np.float32), window), size, Image.Resampling.BOX)).permute(2, 0, 1) / 127.5 - 1
