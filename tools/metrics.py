"""Image and text metrics for benchmarks and evals."""

from __future__ import annotations

import numpy as np

from tools.mask import changed

Box = tuple[int, int, int, int]


def crop(img: np.ndarray, box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return img[y0:y1, x0:x1]


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two same-size RGB uint8 crops (scikit-image), with a window that fits small crops."""
    from skimage.metrics import structural_similarity

    side = min(a.shape[0], a.shape[1])
    if side < 3:
        return float(np.all(a == b))
    win = min(7, side if side % 2 == 1 else side - 1)
    return float(structural_similarity(a, b, channel_axis=2, win_size=win, data_range=255))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def changed_outside(before: np.ndarray, after: np.ndarray, box: Box) -> int:
    """How many pixels differ outside the box."""
    diff = changed(before, after)
    x0, y0, x1, y1 = box
    diff[y0:y1, x0:x1] = False
    return int(diff.sum())


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def normalised_edit_distance(a: str, b: str) -> float:
    return edit_distance(a, b) / max(1, len(a), len(b))


def stem_ink(image: np.ndarray, box: Box, fg, bg, x_top: int) -> float:
    """Ink across a letter's stem above the x-height (px; issue 18's measure of a new glyph's weight):
    the median, over the rows from the top of its box down to the x-height, of the ink coverage
    summed across the box and a pixel either side."""
    from tools.fonts import project_ink

    x0, y0, x1, _ = box
    return float(np.median(project_ink(image[y0:x_top, x0 - 1 : x1 + 1].astype(np.float32), fg, bg).sum(1)))
