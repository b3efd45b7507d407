"""Reading images defensively and writing them atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

# ~6300 x 4700, over twice a 12 MP phone photo; larger inputs are refused rather than risking memory
# (a 12 MP edit peaks at 1.5 GB with the models: results/large/summary.md).
MAX_PIXELS = 30_000_000


class ImageError(ValueError):
    """A one-line, user-facing reason an image cannot be used."""


RGB = tuple[int, int, int]


def rgb(colour) -> RGB:
    """A colour (three numbers of any type) as three Python ints, truncated as int() does (round
    first where rounding is meant)."""
    r, g, b = (int(v) for v in colour)
    return r, g, b


def load_image(path: str | Path) -> np.ndarray:
    """RGB uint8 array of an image file, or ImageError with a one-line reason."""
    p = Path(path)
    if not p.exists():
        raise ImageError(f"{p}: no such file")
    if p.is_dir():
        raise ImageError(f"{p}: is a directory, not an image")
    try:
        with Image.open(p) as im:
            w, h = im.size
            if w == 0 or h == 0:
                raise ImageError(f"{p}: image is empty ({w}x{h})")
            if w * h > MAX_PIXELS:
                raise ImageError(f"{p}: image is too large ({w}x{h}); the limit is {MAX_PIXELS} pixels")
            im.load()
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(f"{p}: image is too large; the limit is {MAX_PIXELS} pixels") from None
    except (OSError, SyntaxError, ValueError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ImageError(f"{p}: not a readable image ({reason})") from None


def save_image(path: str | Path, image: np.ndarray) -> None:
    """Write atomically: a temporary file in the same folder, then a rename."""
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    fmt = Image.registered_extensions().get(p.suffix.lower())
    if fmt is None:
        raise ImageError(f"{p}: unknown image extension {p.suffix!r} (use .png or .jpg)")
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            Image.fromarray(image).save(f, format=fmt)
        # mkstemp makes the file private (0600); give it the mode a plain open() would (umask applied).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def same_file(a: str | Path, b: str | Path) -> bool:
    pa, pb = Path(a), Path(b)
    try:
        return pa.resolve() == pb.resolve() or (pb.exists() and os.path.samefile(pa, pb))
    except OSError:
        return False
