"""Why did an attempt fail, and what to change next.

The diagnosis compares what the verifier read with the old and the new word; the refinement
escalates with a reason: grow the mask over remnants of the old glyph, raise guidance, new seed,
re-fit the draft's size and position, more steps, and finally another tool.
"""

from __future__ import annotations

from dataclasses import replace

from agent.plan import AttemptSettings, squeeze
from tools.mask import MaskSpec, grow, grow_toward_gaps, tighten


def diagnose(read: str, confidence: float, old_word: str, new_word: str, edited: list[int], min_confidence: float) -> str | None:
    """None when the reading passes; otherwise a short reason the policy acts on."""
    r, old, new = squeeze(read), squeeze(old_word), squeeze(new_word)
    if r == new:
        return None if confidence >= min_confidence else "low-confidence"
    if not r:
        return "unreadable"
    if r == old:
        return "old-glyph-remains"
    if len(r) != len(new):
        return "wrong-length"
    wrong = [i for i in range(len(new)) if r[i] != new[i]]
    if any(i not in edited for i in wrong):
        return "neighbour-changed"
    if any(r[i] == old[i] for i in wrong if i < len(old)):
        return "old-glyph-remains"
    return "wrong-glyph"


def similarity(read: str, new_word: str) -> float:
    """Fraction of characters read right (position by position), for choosing the best attempt."""
    r, n = squeeze(read), squeeze(new_word)
    if not n:
        return 0.0
    same = sum(a == b for a, b in zip(r, n, strict=False))
    return same / max(len(r), len(n))


def refine(prev: AttemptSettings, why: str, attempt_number: int, max_attempts: int) -> tuple[AttemptSettings, str]:
    """The settings for the next attempt and a one-line reason."""
    seed = prev.seed + 1
    if attempt_number >= max_attempts - 1 and prev.tool != "naive" and attempt_number >= 3:
        return replace(prev, tool="naive", seed=seed), "last try: switch tool to the naive inpaint + drawn glyph"
    spec = MaskSpec(pad=2 if prev.pad is None else prev.pad, grow_x=prev.grow_x)
    if why == "old-glyph-remains":
        spec = grow_toward_gaps(grow(spec, 2), 2)
        return replace(prev, seed=seed, pad=spec.pad, grow_x=spec.grow_x, guidance=min(4.0, prev.guidance + 0.5)), (
            f"remnants of the old glyph: grow the mask (pad {spec.pad}), raise guidance"
        )
    if why == "neighbour-changed":
        spec = tighten(MaskSpec(pad=spec.pad, grow_x=0), 1)
        return replace(prev, seed=seed, pad=spec.pad, grow_x=spec.grow_x), f"a neighbour changed: tighten the mask (pad {spec.pad})"
    if why in ("unreadable", "low-confidence"):
        return replace(prev, seed=seed, steps=min(50, prev.steps * 2)), "unclear result: new seed, more steps"
    if why == "wrong-length":
        scale = 0.9 if prev.size_scale >= 1.0 else 1.1
        return replace(prev, seed=seed, size_scale=scale), f"glyph count off: re-fit the draft size (x{scale})"
    # wrong-glyph
    if prev.guidance < 4.0:
        g = min(4.0, prev.guidance + 1.0)
        return replace(prev, seed=seed, guidance=g), f"wrong glyph: raise guidance to {g}"
    scale = 1.08 if prev.size_scale <= 1.0 else 0.93
    return replace(prev, seed=seed, size_scale=scale), f"wrong glyph again: re-fit the draft size (x{scale})"
