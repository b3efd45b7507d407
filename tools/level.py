"""A tilted line's levelled frame: every column moved up or down by whole pixels.

A word of another length on a tilted line (a page turned on the scanner, a sign seen from one
side) is re-set as on a level one, in a frame where its line is level, and the result is moved
back. Notation (image coordinates, rows down):
  slope     the line's tilt, dy per px across (negative: it rises to the right)
  centre    the column the frame turns about (its shift is 0)
  s(x)      round(slope * (x - centre)): how far column x of the image lies below its level place
  pad       rows of the image's edge added above and below first, so that no column wraps round

  levelled[y, x] = padded[y + s(x), x]      image[y, x] = levelled[y - s(x), x] (then unpadded)

Moving whole columns by whole pixels only reorders each column's pixels: unlevel(level(image))
is the image exactly, and a pixel the edit leaves alone in the levelled frame is the input's own
after. (A vertical shear, not a rotation: verticals stay upright, as perspective keeps them; the
new letters are level in the frame and follow the tilt after, a pixel step every 1/|slope| columns.)
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

Box = tuple[int, int, int, int]


class Levelled(BaseModel):
    """The frame a re-set word on a tilted line was planned, drawn and verified in (tools/level.py)."""

    slope: float = Field(description="The line's tilt (dy per px across; negative rises to the right).")
    centre: float = Field(description="The column whose pixels stay where they are (the word's middle).")
    pad: int = Field(description="Rows of the image's edge added above and below before the columns move.")

    @classmethod
    def about(cls, slope: float, centre: float, width: int) -> Levelled:
        reach = max(abs(slope * (0 - centre)), abs(slope * (width - 1 - centre)))
        return cls(slope=round(slope, 4), centre=centre, pad=int(np.ceil(reach)) + 1)

    def shifts(self, width: int) -> np.ndarray:
        """s(x) for every column."""
        return np.round(self.slope * (np.arange(width) - self.centre)).astype(int)

    def level(self, image: np.ndarray) -> np.ndarray:
        padded = np.pad(image, ((self.pad, self.pad),) + ((0, 0),) * (image.ndim - 1), mode="edge")
        h, w = padded.shape[:2]
        rows = np.arange(h)[:, None] + self.shifts(w)[None, :]
        return padded[np.clip(rows, 0, h - 1), np.arange(w)[None, :]]

    def unlevel(self, levelled: np.ndarray) -> np.ndarray:
        h, w = levelled.shape[:2]
        rows = np.arange(h)[:, None] - self.shifts(w)[None, :]
        back = levelled[np.clip(rows, 0, h - 1), np.arange(w)[None, :]]
        return back[self.pad : h - self.pad]

    def to_levelled(self, box: Box) -> Box:
        """The levelled frame's box round an image box (its columns moved by their own shifts)."""
        return self._moved(box, -1, +self.pad)

    def to_image(self, box: Box) -> Box:
        """The image's box round a box of the levelled frame."""
        return self._moved(box, +1, -self.pad)

    def _moved(self, box: Box, sign: int, offset: int) -> Box:
        x0, y0, x1, y1 = box
        ends = np.round(self.slope * (np.array([x0, max(x0, x1 - 1)]) - self.centre)).astype(int) * sign
        return x0, int(y0 + ends.min() + offset), x1, int(y1 + ends.max() + offset)
