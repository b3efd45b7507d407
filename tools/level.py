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
    """The frame a re-set word on a tilted line (or characters that failed drawn in place on one) was planned,
    drawn and verified in (tools/level.py)."""

    slope: float = Field(description="The line's tilt (dy per px across; negative rises to the right).")
    centre: float = Field(description="The column whose pixels stay where they are (the word's middle).")
    span: tuple[int, int] = Field(description="The columns the tilt is levelled over (the line's, and a margin); "
                                  "columns past either end move as that end does.")
    pad: int = Field(description="Rows of the image's edge added above and below before the columns move.")

    @classmethod
    def about(cls, slope: float, centre: float, span: tuple[int, int]) -> Levelled:
        """The frame levelling this slope over the columns span, turning about centre. (Over the
        line, not the image: the padding, and the index arrays, grow with the levelled width.)"""
        reach = max(abs(slope * (span[0] - centre)), abs(slope * (span[1] - centre)))
        return cls(slope=round(slope, 4), centre=centre, span=span, pad=int(np.ceil(reach)) + 1)

    def shifts(self, xs: np.ndarray) -> np.ndarray:
        """s(x) of columns xs (int32)."""
        return np.round(self.slope * (np.clip(xs, *self.span) - self.centre)).astype(np.int32)

    def level(self, image: np.ndarray) -> np.ndarray:
        padded = np.pad(image, ((self.pad, self.pad),) + ((0, 0),) * (image.ndim - 1), mode="edge")
        return self._moved_rows(padded, +1)

    def unlevel(self, levelled: np.ndarray) -> np.ndarray:
        return self._moved_rows(levelled, -1)[self.pad : levelled.shape[0] - self.pad]

    def _moved_rows(self, image: np.ndarray, sign: int) -> np.ndarray:
        """Row y of column x taken from row y + sign * s(x) (clipped: only the padding repeats)."""
        h, w = image.shape[:2]
        rows = np.clip(np.arange(h, dtype=np.int32)[:, None] + sign * self.shifts(np.arange(w))[None, :], 0, h - 1)
        if image.ndim == 3:
            rows = rows[..., None]
        return np.take_along_axis(image, np.broadcast_to(rows, (h, w) + image.shape[2:]), axis=0)

    def to_levelled(self, box: Box) -> Box:
        """The levelled frame's box round an image box (its columns moved by their own shifts)."""
        return self._moved_box(box, -1, +self.pad)

    def to_image(self, box: Box) -> Box:
        """The image's box round a box of the levelled frame."""
        return self._moved_box(box, +1, -self.pad)

    def _moved_box(self, box: Box, sign: int, offset: int) -> Box:
        x0, y0, x1, y1 = box
        ends = sign * self.shifts(np.array([x0, max(x0, x1 - 1)]))
        return x0, int(y0 + ends.min() + offset), x1, int(y1 + ends.max() + offset)
