"""Seeded synthetic edit pairs: the training scenes (model inputs are built by models/inputs.py).

A scene is a word drawn on a background; its pair is the same picture with one glyph replaced in
place (every other glyph where it was). Source and target share the background, the effects and
the degradations, so they differ only where the glyph changed. """

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageFilter

from models.faces import TrainingFaces
from models.inputs import DataConfig, condition_tensor, crop_inputs, crop_window, to_model_range
from tools.fonts import (
    FontFace,
    FontRegistry,
    composite,
    ink_box,
    project_ink,
    render_text,
    replacement_pen,
    run_anchor,
    split_colours,
)
from tools.images import rgb
from tools.inpaint import Draft, draft_image
from tools.library import INDEX_CHARS
from tools.mask import MaskSpec, box_to_mask, char_mask_box, default_pad, ink_mask, union

LOWER, UPPER, DIGITS = string.ascii_lowercase, string.ascii_uppercase, string.digits
WORDS = (
    "hands water market speed limit street avenue open closed station river garden coffee house "
    "north south east west total price sale hotel bank exit entry table light green paper ledger "
    "number bridge harbour castle museum school office centre public library parking station"
).split()


@dataclass
class Scene:
    source: np.ndarray  # HxWx3 uint8, the original picture
    target: np.ndarray  # HxWx3 uint8, ground truth: one glyph replaced in place
    text: str  # the word in the source
    new_text: str  # the word in the target
    index: int  # which character changed
    face: str  # registry face name the word was drawn in
    size: int  # font size in pixels
    origin: tuple[float, float]  # pen x, baseline y of the first character
    pens: list[float]  # pen x offsets per character (source layout)
    new_pen: float  # pen x offset of the replacement glyph
    boxes: list[tuple[int, int, int, int] | None]  # ink boxes of the source characters
    new_box: tuple[int, int, int, int]  # ink box of the replacement glyph in the target
    fg: tuple[int, int, int]  # text colour used
    bg_kind: str  # flat | gradient | texture | noise
    conditions: tuple[str, ...] = ()  # background kind plus any of outline, shadow, blur, jpeg
    effect_reach: int = 0  # how far (px) the outline or shadow reaches beyond the ink (0: none)


def _random_word(rng: np.random.Generator) -> str:
    kind = rng.choice(["dict", "lower", "capital", "upper", "digits", "mixed"], p=[0.3, 0.15, 0.15, 0.15, 0.15, 0.1])
    n = int(rng.integers(3, 8))
    if kind == "dict":
        w = str(rng.choice(WORDS))
        return w if rng.random() < 0.5 else (w.capitalize() if rng.random() < 0.5 else w.upper())
    if kind == "digits":
        return "".join(rng.choice(list(DIGITS), n))
    if kind == "mixed":
        return "".join(rng.choice(list(UPPER + DIGITS), n))
    pool = LOWER if kind in ("lower", "capital") else UPPER
    w = "".join(rng.choice(list(pool), n))
    return w.capitalize() if kind == "capital" else w


def _colour(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, 3).astype(np.float32)


def _lum(c) -> float:
    return float(0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2])


def random_background(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, str, np.ndarray]:
    kind = str(rng.choice(["flat", "gradient", "texture", "noise"], p=[0.35, 0.25, 0.25, 0.15]))
    c1 = _colour(rng)
    img = np.broadcast_to(c1, (h, w, 3)).astype(np.float32).copy()
    if kind == "gradient":
        c2 = np.clip(c1 + rng.normal(0, 50, 3), 0, 255)
        ang = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = (np.cos(ang) * xx / max(w, 1) + np.sin(ang) * yy / max(h, 1))
        t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
        img = c1 * (1 - t[..., None]) + c2 * t[..., None]
    elif kind == "texture":
        cells = rng.normal(0, 1, (max(2, h // 8), max(2, w // 8), 3)).astype(np.float32)
        tex = np.asarray(Image.fromarray(((cells * 40) + 128).clip(0, 255).astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC), np.float32) - 128
        img = img + tex * rng.uniform(0.3, 0.8)
    elif kind == "noise":
        img = img + rng.normal(0, rng.uniform(4, 14), (h, w, 1)).astype(np.float32)
    return np.clip(img, 0, 255), kind, img.reshape(-1, 3).mean(0)


def random_text_colour(rng: np.random.Generator, bg_mean: np.ndarray) -> np.ndarray:
    for _ in range(50):
        c = _colour(rng)
        if abs(_lum(c) - _lum(bg_mean)) > 70:
            return c
    return np.zeros(3, np.float32) if _lum(bg_mean) > 128 else np.full(3, 255, np.float32)


def _replacement(rng: np.random.Generator, font, old: str) -> str | None:
    pool = DIGITS if old in DIGITS else (UPPER if old in UPPER else LOWER)
    old_adv = font.getlength(old)
    options = [c for c in pool if c != old and 0.7 <= font.getlength(c) / max(old_adv, 1e-3) <= 1.4]
    return str(rng.choice(options)) if options else None


def draw_text(bg: np.ndarray, alpha: np.ndarray, fg, effect: dict | None) -> np.ndarray:
    img = bg
    if effect is not None:
        a = Image.fromarray((alpha * 255).astype(np.uint8))
        if effect["kind"] == "shadow":
            dx, dy = effect["offset"]
            a = a.filter(ImageFilter.GaussianBlur(effect["radius"])).transform(a.size, Image.Transform.AFFINE, (1, 0, -dx, 0, 1, -dy))
        else:
            a = a.filter(ImageFilter.MaxFilter(effect["width"] * 2 + 1))
        img = composite(img, np.asarray(a, np.float32) / 255.0, effect["colour"])
    return composite(img, alpha, fg)


def degrade(img: np.ndarray, ops: list[tuple]) -> np.ndarray:
    pil = Image.fromarray(np.clip(img, 0, 255).round().astype(np.uint8))
    for op in ops:
        if op[0] == "blur":
            pil = pil.filter(ImageFilter.GaussianBlur(op[1]))
        elif op[0] == "jpeg":
            import io

            buf = io.BytesIO()
            pil.save(buf, format="JPEG", quality=op[1])
            pil = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return np.asarray(pil, np.uint8)


def make_scene(rng: np.random.Generator, registry: FontRegistry, faces: list[FontFace], cfg: DataConfig) -> Scene:
    """One word on a background and the same picture with one glyph replaced in place."""
    while True:
        face = faces[int(rng.integers(len(faces)))]
        size = int(rng.integers(cfg.font_px[0], cfg.font_px[1] + 1))
        font = registry.font(face.name, size)
        text = _random_word(rng)
        if not registry.can_draw(face.name, text):
            continue
        index = int(rng.integers(len(text)))
        new_char = _replacement(rng, font, text[index])
        if new_char is None or not registry.can_draw(face.name, new_char):
            continue
        break
    new_text = text[:index] + new_char + text[index + 1 :]
    margin = int(size * rng.uniform(0.4, 1.2))
    w = int(font.getlength(text)) + 2 * margin
    h = int(size * rng.uniform(1.6, 2.2))
    origin = (float(margin), float(round(h * 0.5 + size * 0.35)))
    pens = [font.getlength(text[:i]) for i in range(len(text))]
    new_pen = replacement_pen(font, text[index], new_char, pens[index], run_anchor(text, index))
    new_pens = pens[:index] + [new_pen] + pens[index + 1 :]
    src = render_text(font, text, (w, h), origin, pens)
    dst = render_text(font, new_text, (w, h), origin, new_pens)
    bg, bg_kind, bg_mean = random_background(rng, h, w)
    fg = random_text_colour(rng, bg_mean)
    effect: dict[str, Any] | None = None
    if rng.random() < cfg.p_effect:
        eff_colour = random_text_colour(rng, fg) if rng.random() < 0.5 else np.zeros(3, np.float32)
        if rng.random() < 0.5:
            off = max(1, size // 16)
            effect = {"kind": "shadow", "offset": (off, off), "radius": rng.uniform(0.5, 1.5), "colour": eff_colour}
        else:
            effect = {"kind": "outline", "width": max(1, size // 20), "colour": eff_colour}
    ops = []
    if rng.random() < cfg.p_blur:
        ops.append(("blur", float(rng.uniform(0.3, 1.0))))
    if rng.random() < cfg.p_jpeg:
        ops.append(("jpeg", int(rng.integers(50, 95))))
    source = degrade(draw_text(bg, src.alpha, fg, effect), ops)
    target = degrade(draw_text(bg, dst.alpha, fg, effect), ops)
    conditions = (bg_kind, *([effect["kind"]] if effect else []), *(op[0] for op in ops))
    reach = 0 if effect is None else (effect["width"] if effect["kind"] == "outline" else
                                      effect["offset"][0] + int(np.ceil(2 * effect["radius"])))
    return Scene(
        source, target, text, new_text, index, face.name, size, origin, pens, new_pen, src.boxes,
        dst.boxes[index], rgb(fg), bg_kind, conditions, reach,
    )


def make_draft(
    registry: FontRegistry, face: str, size: int, char: str, pen: tuple[float, float], shape, fg, bg
) -> Draft:
    font = registry.font(face, size)
    r = render_text(font, char, (shape[1], shape[0]), pen, [0.0])
    return Draft(r.alpha, ink_box(r.alpha), fg, bg)


def make_example(rng: np.random.Generator, faces: TrainingFaces, cfg: DataConfig) -> dict[str, torch.Tensor]:
    """A training example: model inputs plus the ground-truth crop `x0`."""
    registry = faces.registry
    pool = faces.registry_words(cfg.held_out)
    if not cfg.held_out and cfg.p_library_face > 0 and faces.library and rng.random() < cfg.p_library_face:
        pool = faces.library
    scene = make_scene(rng, registry, pool, cfg)
    while scene.boxes[scene.index] is None or scene.new_box is None:  # a library face's blank glyph: no edit to learn
        scene = make_scene(rng, registry, pool, cfg)
    h, w = scene.source.shape[:2]
    word_box = None
    for b in scene.boxes:
        word_box = union(word_box, b)
    x0, y0, x1, y1 = word_box
    pad = max(2, scene.size // 4)
    wx0, wy0, wx1, wy1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
    _, fg, bg = split_colours(scene.source[wy0:wy1, wx0:wx1])
    new_char = scene.new_text[scene.index]
    face, size, shift, near = _draft_face(rng, faces, scene, cfg)
    if rng.random() < cfg.p_exact_draft:  # the matcher found the face: a model that distrusts every draft blurs exact ones
        face, size, shift, near = scene.face, scene.size, np.zeros(2), False
    pen = (scene.origin[0] + scene.new_pen + shift[0], scene.origin[1] + shift[1])
    draft = make_draft(registry, face, size, new_char, pen, (h, w), fg, bg)
    if near and draft.box is not None:
        # A near face's glyph is set where the plan would put it: its ink centred on the slot's (the
        # position error kept on top).
        dx = (scene.new_box[0] + scene.new_box[2] - draft.box[0] - draft.box[2]) / 2
        draft = make_draft(registry, face, size, new_char, (pen[0] + dx, pen[1]), (h, w), fg, bg)
    old_box = scene.boxes[scene.index]
    left = next((b for b in reversed(scene.boxes[: scene.index]) if b), None)
    right = next((b for b in scene.boxes[scene.index + 1 :] if b), None)
    spec = MaskSpec(pad=default_pad(old_box[3] - old_box[1]) + int(rng.integers(-1, 3)), grow_x=int(rng.integers(0, 3)))
    mbox = char_mask_box((h, w), old_box, draft.box, left, right, spec)
    mask = box_to_mask((h, w), mbox)
    if rng.random() < cfg.p_shaped_mask:
        x0, y0, x1, y1 = mbox
        old_ink = np.zeros((h, w), np.float32)
        old_ink[y0:y1, x0:x1] = project_ink(scene.source[y0:y1, x0:x1], fg, bg)
        mask = ink_mask(mask, old_ink, draft.coverage, old_box[3] - old_box[1])
    window = crop_window(mbox, scene.size, cfg.context_scale)
    drafted = draft_image(scene.source, mask, draft, cfg.draft_plate)
    inputs = crop_inputs(scene.source, mask, draft, window, cfg.model_size, drafted)
    inputs["x0"] = to_model_range(scene.target, window, cfg.model_size)
    return inputs


def _draft_face(rng: np.random.Generator, faces: TrainingFaces, scene: Scene, cfg: DataConfig) -> tuple[str, int, np.ndarray, bool]:
    """The face, size and position error of the draft, the matcher's guess, and whether the face is
    a near one: one of the library faces nearest the word's (its face in no package: issue 18),
    sized so its glyph is the true glyph's height; else the true face or a registry face of its
    category, each a little off in size and place (drawn in the order runs before issue 18 drew them)."""
    new_char = scene.new_text[scene.index]
    registry = faces.registry
    near = [n for n in faces.neighbours.get(scene.face, []) if registry.can_draw(n, new_char)]
    if cfg.p_neighbour_draft > 0 and near and new_char in INDEX_CHARS and rng.random() < cfg.p_neighbour_draft:
        face = near[int(rng.integers(len(near)))]
        k = INDEX_CHARS.index(new_char)
        ratio = faces.heights[scene.face][k] / max(faces.heights[face][k], 1e-3)
        size = max(6, int(round(scene.size * ratio * (1 + rng.uniform(-1, 1) * cfg.draft_size_jitter))))
        return face, size, rng.uniform(-1, 1, 2) * cfg.draft_shift_jitter * scene.size, True
    pool = faces.registry_words(cfg.held_out)
    same_cat = [f for f in pool if f.category == registry.by_name[scene.face].category] or pool
    face = scene.face if rng.random() < cfg.p_same_face_draft else same_cat[int(rng.integers(len(same_cat)))].name
    if not registry.can_draw(face, new_char):
        face = scene.face
    size = max(6, int(round(scene.size * (1 + rng.uniform(-1, 1) * cfg.draft_size_jitter))))
    return face, size, rng.uniform(-1, 1, 2) * cfg.draft_shift_jitter * scene.size, False


class EditPairs(torch.utils.data.IterableDataset):
    """An endless, seeded stream of training examples (each worker gets its own seed)."""

    def __init__(self, cfg: DataConfig, seed: int, font_pack: Path | None = None):
        self.cfg, self.seed, self.font_pack = cfg, seed, font_pack

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        faces = training_faces(self.cfg, self.font_pack)
        while True:
            ex = make_example(rng, faces, self.cfg)
            yield condition_tensor(ex), ex["x0"]


def training_faces(cfg: DataConfig, font_pack: Path | None = None) -> TrainingFaces:
    """The faces of a run: from the pack when given (a machine without the font packages), else
    installed; the library only when the run draws in it."""
    if font_pack is not None:
        return TrainingFaces.from_pack(font_pack)
    return TrainingFaces.discover(with_library=cfg.p_library_face > 0 or cfg.p_neighbour_draft > 0)
