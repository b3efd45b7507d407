"""Likeness (issue 18): glyphs drawn from the image's own exemplars, and the stroke-weight check."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import ImageFont

from agent.evals.unseen import SUPER, MadeFont
from agent.plan import _drawn_as_other, make_plan, observed_ink
from agent.repaint import AttemptSettings, glyph_edits
from agent.schemas import EditRequest
from agent.style import stroke_width
from tools.fonts import (
    SCALED,
    glyph_pen,
    ink_box,
    packaged_font,
    render_alpha,
    render_text,
    scaled_name,
    unscaled_name,
)
from tools.ocr import TextLine

LIBERATION = "/usr/share/fonts/truetype/liberation"


def _line(text: str, ground=None, x_scale=0.85, bolder=0.6, size=30):
    """text in a face no package holds (Liberation Sans condensed and emboldened), dark on a light ground."""
    font = MadeFont(ImageFont.truetype(str(packaged_font(LIBERATION, "LiberationSans-Regular.ttf")), size * SUPER), x_scale, bolder)
    pens = [font.getlength(text[:i]) for i in range(len(text))]
    coverage = np.asarray(font.draw(text, pens, (70, 300), (20, 45)), np.float32) / 255
    paper = np.full((70, 300, 3), (240, 235, 220), np.float32) if ground is None else ground
    image = (paper * (1 - coverage[..., None]) + np.array([30, 40, 90], np.float32) * coverage[..., None]).astype(np.uint8)
    box = ink_box(coverage)
    return image, TextLine(text, 0.99, [], (box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3))


def test_a_new_letter_the_line_already_shows_is_drawn_from_its_pixels(registry):
    image, line = _line("bold label back", x_scale=0.7, bolder=0.0)  # condensed: no face lays it out (IoU < 0.5)
    request = EditRequest(image="-", find="label", replace="lobel")
    plan = make_plan(registry, image, line, line.text.index("label"), request)
    (exemplar,) = plan.exemplars
    assert exemplar.char == "o" and exemplar.word == "bold"
    (edit,) = glyph_edits(registry, image, plan, AttemptSettings(tool="naive"))
    assert edit.source == exemplar.describe()
    # the draft is the exemplar's own ink, moved: the same coverage, pixel for pixel
    x0, y0, x1, y1 = exemplar.box
    source = observed_ink(image[y0:y1, x0:x1], plan.font.fg, plan.font.bg, None)
    db = ink_box(edit.draft.coverage)
    sb = ink_box(source)
    drawn = edit.draft.coverage[db[1] : db[3], db[0] : db[2]]
    assert drawn.shape == (sb[3] - sb[1], sb[2] - sb[0])
    assert np.abs(drawn - source[sb[1] : sb[3], sb[0] : sb[2]]).max() < 1e-6
    # the new "o" stands where the old "a" stood, on its baseline
    old = plan.edits[0].box
    assert abs(db[3] - old[3]) <= 1 and old[0] - 3 <= db[0] and db[2] <= old[2] + 3
    # a retry after a failure draws it from the face instead
    (face_drawn,) = glyph_edits(registry, image, plan, AttemptSettings(tool="naive", exemplars=False))
    assert face_drawn.source is None and not np.array_equal(face_drawn.draft.coverage, edit.draft.coverage)


def test_an_exemplar_the_recogniser_misread_is_not_copied(registry):
    # unseen-0-0030: the "1" of "1999" was read "7", and copied as the new "7" of "2724"
    face, size = "LiberationSans-Bold", 40
    one = render_alpha(registry.font(face, size), "1", (3 * size, 3 * size), (size, 2 * size))
    assert _drawn_as_other(registry, face, size, "7", one)
    assert not _drawn_as_other(registry, face, size, "1", one)
    # a face that only approximates the line's still knows its letters apart: a condensed "o" (stretched
    # onto its box, not laid over it, where an "n" covers it better) is an "o", not an "a"
    image, line = _line("bold label back", x_scale=0.7, bolder=0.0)
    plan = make_plan(registry, image, line, line.text.index("label"), EditRequest(image="-", find="label", replace="lobel"))
    (exemplar,) = plan.exemplars
    x0, y0, x1, y1 = exemplar.box
    ink = observed_ink(image[y0:y1, x0:x1], plan.font.fg, plan.font.bg, None)
    assert not _drawn_as_other(registry, plan.font.face, plan.font.size, "o", ink)
    assert _drawn_as_other(registry, plan.font.face, plan.font.size, "a", ink)


def test_no_exemplar_from_letters_that_touch_or_from_a_textured_ground(registry):
    request = EditRequest(image="-", find="label", replace="lobel")
    # set so tight that the o of "bold" touches its neighbours
    tight, line = _line("bold label back", x_scale=0.7, bolder=1.5)
    assert make_plan(registry, tight, line, line.text.index("label"), request).exemplars == []
    noise = np.random.default_rng(3).uniform(90, 255, (70, 300, 3)).astype(np.float32)
    textured, line = _line("bold label back", ground=noise)
    assert make_plan(registry, textured, line, line.text.index("label"), request).exemplars == []


def test_a_face_drawn_at_another_width_keeps_its_forms_and_heights(registry):
    name = scaled_name("LiberationSans", 0.8)
    assert name == f"LiberationSans{SCALED}0.80" and name in registry.by_name
    assert scaled_name("LiberationSans", 1.005) == "LiberationSans"  # a width that rounds to its own is the face
    for bad in (f"NoSuchFace{SCALED}0.80", f"LiberationSans{SCALED}wide", f"LiberationSans{SCALED}9.00",
                f"LiberationSans{SCALED}0.8", f"LiberationSans{SCALED}1.00", f"{name}{SCALED}0.90"):
        assert bad not in registry.by_name
        with pytest.raises(KeyError):
            registry.by_name[bad]
    plain, narrow = (render_text(registry.font(n, 40), "Hamburg", (400, 80), (10, 60)) for n in ("LiberationSans", name))
    # every glyph 0.8 as wide, as tall and on the same baseline (to the pixel its edge, drawn at 4x,
    # may round to), pens and advances scaled with it
    for p, q in zip(plain.boxes, narrow.boxes, strict=True):
        assert abs((q[2] - q[0]) - 0.8 * (p[2] - p[0])) <= 1.0 and abs(q[1] - p[1]) <= 1 and abs(q[3] - p[3]) <= 1
        assert abs((q[0] - 10) - 0.8 * (p[0] - 10)) <= 1.5  # where its scaled pen puts it (each rounded to a pixel)
    assert narrow.advances == pytest.approx([0.8 * a for a in plain.advances], abs=0.02)
    assert narrow.alpha.sum() == pytest.approx(0.8 * plain.alpha.sum(), rel=0.03)
    # drawn on whole pixels as FreeType draws a face: a pen is rounded as PIL rounds it, and a pen a
    # whole pixel on draws the same pixels a pixel on (glyph_pen's search and edit_pen's phase vote)
    font = registry.font(name, 40)
    at = {x: render_text(font, "o", (80, 80), (x, 60.0), [0.0]).alpha for x in (20.0, 20.3, 21.0)}
    assert np.array_equal(at[20.0], at[20.3])
    assert np.array_equal(np.roll(at[20.0], 1, axis=1), at[21.0])
    # a string in one draw is its glyphs drawn one by one (the fit and the repaint see one layout)
    assert np.array_equal(render_alpha(font, "Hello World", (300, 80), (10.3, 60.4)),
                          render_text(font, "Hello World", (300, 80), (10.3, 60.4)).alpha)
    box = ink_box(at[20.0])
    pen = glyph_pen(registry, name, 40, "o", box, observed=(at[20.0], (0, 0)))
    assert (pen.size, pen.x, pen.baseline) == (40, 20.0, 60.0) and pen.error < 1e-6, pen


def test_a_condensed_cut_no_package_holds_is_matched_at_the_width_its_glyphs_show(registry):
    # The unseen suite's made faces (a packaged face drawn condensed or extended) were matched to
    # whichever face happened to be as wide: a "$45" in DejaVu Serif drawn 1.18 wide took DejaVu Serif
    # Bold, whose new "1" was a third heavier than the "4" and "5" beside it. The face's own forms at
    # the glyphs' width lay the line out far better.
    image, line = _line("Parking station", x_scale=0.82, bolder=0.0, size=40)
    request = EditRequest(image="-", find="station", replace="stallon")
    plan = make_plan(registry, image, line, line.text.index("station"), request)
    face = registry.by_name[plan.font.face]
    # Liberation Sans or a face drawn from its outlines (Arimo), at the width it was drawn
    assert face.family in ("Liberation Sans", "Arimo") and abs(face.x_scale - 0.82) <= 0.04, plan.font.face
    assert plan.font.score >= 0.7, plan.font
    fits = {c.face: c.fit for c in plan.font.candidates}
    assert plan.font.score >= (fits[unscaled_name(plan.font.face)] or 0.0) + 0.1, fits


@pytest.mark.slow  # (the barrier photo read: about 12 s)
def test_letters_leaning_by_the_cameras_angle_are_not_fitted_at_another_width(editor):
    # The dev half's barrier "NO PARKING", seen at an angle, was matched to an italic condensed face
    # drawn 0.76 wide; its new B came out blurred, and the judge read "DBARKING"
    # where the agent had verified "NOBARKING".
    from tests.conftest import EXAMPLES
    from tools.images import load_image

    path = EXAMPLES / "heldout" / "no_parking_barrier.jpg"
    request = EditRequest(image=str(path), find="PARKING", replace="BARKING", occurrence=2, max_attempts=1, method="naive")
    result, _, _ = editor.run(request, load_image(path))
    assert SCALED not in result.plan.font.face, result.plan.font.face
    assert not any(SCALED in c.face for c in result.plan.font.candidates if editor.toolbox.registry.is_italic(c.face))


SAME_CUT = {"RobotoCondensed-Regular": {"RobotoCondensed-Regular", "Roboto-CondensedRegular"}}


@pytest.mark.parametrize("face", ["RobotoCondensed-Regular", "LiberationSansNarrow", "ArchivoNarrow-Regular"])
def test_a_condensed_cut_a_package_holds_is_matched_as_itself(registry, face):
    # A designed condensed cut keeps its stems where its family drawn narrower thins them: the line
    # is matched to the cut, not to its regular face at the cut's width. Roboto Condensed is packaged
    # twice (Debian's static cut, and fontpkg-roboto's variable font at wdth 75, a later version whose
    # spacing differs: the two lay this line out at IoU 0.77); which one a machine's index ranks first
    # varies (CI took the variable instance), and either is the cut itself.
    text = "Parking station"
    drawn = render_text(registry.font(face, 40), text, (420, 80), (20, 55))
    paper = np.full((80, 420, 3), (240, 235, 220), np.float32)
    image = (paper * (1 - drawn.alpha[..., None]) + np.array([30, 40, 90], np.float32) * drawn.alpha[..., None]).astype(np.uint8)
    box = ink_box(drawn.alpha)
    line = TextLine(text, 0.99, [], (box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3))
    plan = make_plan(registry, image, line, text.index("station"), EditRequest(image="-", find="station", replace="stallon"))
    assert plan.font.face in SAME_CUT.get(face, {face}) and plan.font.score >= 0.95, plan.font


def test_stroke_width_is_the_ink_across_a_stroke():
    for width in (1, 2, 3, 5):
        bar = np.zeros((60, 20), np.float32)
        bar[5:55, 8 : 8 + width] = 1.0
        assert abs(stroke_width(bar) - width) <= 0.1 * width + 0.15, (width, stroke_width(bar))
    half = np.zeros((60, 20), np.float32)  # a stroke 2.5 px wide: anti-aliased edge pixels count their share
    half[5:55, 8:10] = 1.0
    half[5:55, 10] = 0.5
    assert abs(stroke_width(half) - 2.5) < 0.3


@pytest.mark.slow  # (a 1000 px newspaper photo read and levelled: about 10 s)
def test_a_word_set_anew_in_a_face_that_does_not_fit_its_line_is_not_verified(editor):
    # The newspaper's bold slab "Delhi", turned 9 degrees, matched a hairline sans (fit 0.07), and
    # "Dhaka" set in it read right and was verified. A word set anew is all the face's letters: in
    # a face this far from the line's own it is not verified, and no retry is made (none draws it
    # in another face). The output still holds the attempt.
    from agent.style import RESET_MIN_FIT
    from tests.conftest import load

    image = load("heldout_slanted/newspaper_slanted.jpg")
    result, out, _ = editor.run(EditRequest(image="x.png", find="Delhi", replace="Dhaka"), image)
    assert result.plan.reflow is not None and result.plan.font.score < RESET_MIN_FIT
    assert result.status == "failed" and [a.why_failed for a in result.attempts] == ["unlike-face"]
    assert "fits the line's own letters too poorly" in result.message
    assert out is not None and (out != image).any()


def _gradient_word(text: str, new_at: int, new_char: str, new_bolder: float, bolder: float = 1.0, size: int = 32,
                   new_size: int | None = None, old_bolder: float | None = None):
    """(before, after, line): text on a ground that runs from cream to blue along the line, its letter
    new_at replaced in after by new_char drawn new_bolder px bolder (the word's own: bolder), at new_size
    (the word's own: size); in before, that letter old_bolder px bolder (default: the word's own)."""
    h, w = 80, 320
    regular = ImageFont.truetype(str(packaged_font(LIBERATION, "LiberationSans-Regular.ttf")), size * SUPER)
    larger = ImageFont.truetype(str(packaged_font(LIBERATION, "LiberationSans-Regular.ttf")), (new_size or size) * SUPER)
    word, new = MadeFont(regular, 1.0, bolder), MadeFont(larger, 1.0, new_bolder)
    pens = [word.getlength(text[:i]) for i in range(len(text))]
    t = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    ground = np.repeat(np.array([250, 240, 200], np.float32) * (1 - t) + np.array([90, 150, 240], np.float32) * t, h, 0)
    ink = np.array([40, 20, 60], np.float32)

    def paint(alpha):
        return np.clip(np.round(ground * (1 - alpha[..., None]) + ink * alpha[..., None]), 0, 255).astype(np.uint8)

    kept = [k for k in range(len(text)) if k != new_at]
    rest = np.asarray(word.draw("".join(text[k] for k in kept), [pens[k] for k in kept], (h, w), (30, 55)), np.float32) / 255
    was = MadeFont(regular, 1.0, bolder if old_bolder is None else old_bolder)
    old = np.maximum(rest, np.asarray(was.draw(text[new_at], [pens[new_at]], (h, w), (30, 55)), np.float32) / 255)
    glyph = np.asarray(new.draw(new_char, [pens[new_at]], (h, w), (30, 55)), np.float32) / 255
    box = ink_box(old)
    line = TextLine(text, 0.99, [], (box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3))
    return paint(old), paint(np.maximum(rest, glyph)), line


@pytest.mark.parametrize(("new_bolder", "passes"), [(1.0, True), (-0.5, False), (2.0, False)])
def test_a_new_letters_weight_is_measured_against_its_own_ground(registry, new_bolder, passes):
    # A right letter in the word's own face, its mask box (padded 8 px past it, as an attempt's is) over
    # both neighbours' boxes, on a ground that changes along the line: the check refused it (0.63x its
    # word's weight at 4293791: the slivers of the neighbours' rims it left in the box, and the line's
    # one ground colour; unseen-0-0051, RedHat Display's own "p" on a gradient, 0.66x). Each glyph is now
    # measured without its neighbours' pixels and from the ground round it. A letter drawn 1.5 px
    # lighter than its word is still refused, and one a pixel bolder each side (1.35x: the unseen suite's
    # bold "q" in a medium "coffee" was verified at 1.40 under the old upper end, 1.47).
    from agent.style import STYLE_TOLERANCE, check_style
    from tools.mask import changed

    before, after, line = _gradient_word("marking", 3, "h", new_bolder)
    plan = make_plan(registry, before, line, 0, EditRequest(image="-", find="marking", replace="marhing"))
    ys, xs = np.nonzero(changed(before, after))
    mask_box = (int(xs.min()) - 8, int(ys.min()) - 8, int(xs.max()) + 9, int(ys.max()) + 9)
    check = check_style(registry, before, after, plan, [mask_box])
    assert check is not None and check.witnesses == 6 and check.passed == passes, check
    if passes:
        assert abs(check.ratio - 1) < 0.1, check
    else:
        assert check.ratio < STYLE_TOLERANCE[0] if new_bolder < 1 else check.ratio > STYLE_TOLERANCE[1], check


def test_a_stroke_the_measure_gives_the_old_letter_too_is_not_judged(registry):
    # unseen-1-0056: on a photo the old "o" itself measured 1.59x its word's weight (the ground round
    # it, not the letter), and the truth's "r" 1.86x; a first attempt as like the truth as the naive
    # method's was refused at 0.56x and redrawn heavier (SSIM 0.77 -> 0.64). The old letter drawn
    # heavier here stands in for such a ground: where the measure refuses the old letter in place,
    # it does not judge the new one, and says so. Where it passes the old letter, it judges.
    from agent.style import STYLE_TOLERANCE, check_style, describe_style
    from tools.mask import changed

    for old_bolder, judged in ((3.0, False), (1.0, True)):
        before, after, line = _gradient_word("marking", 3, "h", 3.0, old_bolder=old_bolder)
        plan = make_plan(registry, before, line, 0, EditRequest(image="-", find="marking", replace="marhing"))
        ys, xs = np.nonzero(changed(before, after))
        mask_box = (int(xs.min()) - 8, int(ys.min()) - 8, int(xs.max()) + 9, int(ys.max()) + 9)
        check = check_style(registry, before, after, plan, [mask_box])
        assert check is not None and check.ratio > STYLE_TOLERANCE[1] and check.control_ratio is not None, check
        assert check.passed != judged, check
        assert (check.control_ratio > STYLE_TOLERANCE[1]) != judged, check
        assert ("not judged" in describe_style(check)) != judged


@pytest.mark.parametrize("fit", ["trusted", "poor"])
def test_a_new_letter_drawn_at_another_size_than_its_word_is_refused(registry, fit):
    # unseen-0-0038: "bakery" read with a photo's large "st" after it ("bakeryst"), fitted at 74 px
    # where its letters are 30: the new "t" came out twice their size, and was verified (its face fitted
    # too poorly for the stroke to be checked). Heights are measured against what the face says
    # whatever its fit; the stroke only where it fits.
    from agent.style import HEIGHT_TOLERANCE, STYLE_TOLERANCE, check_style
    from tools.mask import changed

    for new_size, refused in ((32, False), (44, True)):
        before, after, line = _gradient_word("marking", 3, "h", 1.0, new_size=new_size)
        plan = make_plan(registry, before, line, 0, EditRequest(image="-", find="marking", replace="marhing"))
        if fit == "poor":
            plan = plan.model_copy(update={"font": plan.font.model_copy(update={"score": 0.2})})
        ys, xs = np.nonzero(changed(before, after))
        mask_box = (int(xs.min()) - 8, int(ys.min()) - 8, int(xs.max()) + 9, int(ys.max()) + 9)
        check = check_style(registry, before, after, plan, [mask_box])
        assert check is not None and check.passed != refused, check
        assert (check.ratio is None) == (fit == "poor"), check
        if refused:
            assert check.height_ratio > HEIGHT_TOLERANCE[1], check  # (1.27: drawn 1.375x, the bolder word's letters measuring 0.93x)
        else:
            assert abs(check.height_ratio - 1) < 0.1, check
            assert fit == "poor" or STYLE_TOLERANCE[0] <= check.ratio <= STYLE_TOLERANCE[1], check


def test_a_new_letter_both_lighter_and_larger_is_refused_on_both_measures(registry):
    # Each measure alone has its test above; drawn too light and too large at once, neither may hide
    # the other, and the result's words name both.
    from agent.style import HEIGHT_TOLERANCE, STYLE_TOLERANCE, check_style, describe_style
    from tools.mask import changed

    before, after, line = _gradient_word("marking", 3, "h", -0.5, new_size=48)
    plan = make_plan(registry, before, line, 0, EditRequest(image="-", find="marking", replace="marhing"))
    ys, xs = np.nonzero(changed(before, after))
    mask_box = (int(xs.min()) - 8, int(ys.min()) - 8, int(xs.max()) + 9, int(ys.max()) + 9)
    check = check_style(registry, before, after, plan, [mask_box])
    assert check is not None and not check.passed, check
    assert check.ratio < STYLE_TOLERANCE[0] and check.height_ratio > HEIGHT_TOLERANCE[1], check
    said = describe_style(check)
    assert f"{check.ratio:.2f}x as heavy" in said and f"{check.height_ratio:.2f}x as tall" in said


def test_a_rule_through_the_new_glyphs_box_is_not_its_height(registry):
    # The bundled ledger's "271.61" -> "271.67": its box's ruled side runs through the new "7"'s mask
    # box, taller than the digits. Against the witnesses the "7" measured 1.3x; against the "1" it
    # replaced, measured alike in the same box (the rule in both), 1.0.
    from agent.style import HEIGHT_TOLERANCE, check_style
    from tools.mask import changed

    before, after, line = _gradient_word("marking", 3, "h", 1.0)
    plan = make_plan(registry, before, line, 0, EditRequest(image="-", find="marking", replace="marhing"))
    ys, xs = np.nonzero(changed(before, after))
    mask_box = (int(xs.min()) - 8, int(ys.min()) - 8, int(xs.max()) + 9, int(ys.max()) + 9)
    rule = int(xs.max()) + 4  # a dark rule 2 px wide, from the mask box's top to its bottom, beside the new "h"
    for image in (before, after):
        image[mask_box[1] : mask_box[3], rule : rule + 2] = (40, 20, 60)
    check = check_style(registry, before, after, plan, [mask_box])
    # (the rule's outline still weighs on the stroke: that measure is the stroke's own, not tested here)
    assert check is not None and HEIGHT_TOLERANCE[0] <= check.height_ratio <= HEIGHT_TOLERANCE[1], check


def test_a_style_retry_does_not_redraw_glyphs_to_the_height_measure():
    # A right letter on a photo whose plan read the photo's letters into the line measures 1.27-1.94x;
    # redrawn to the measure it would be the wrong size, and pass. The next attempt keeps the size.
    from agent.policy import refine
    from agent.repaint import AttemptSettings
    from agent.schemas import StyleCheck

    s = AttemptSettings(tool="naive", seed=0, guidance=2.0, steps=20)
    tall = StyleCheck(stroke=2.0, expected_stroke=2.0, ratio=1.0, witnesses=4, height_ratio=1.6, passed=False)
    nxt, why = refine(s, "unlike-style", 2, tall)
    assert (nxt.size_scale, nxt.weight, nxt.tool) == (1.0, 0.0, "glyph-diffusion") and "1.60x the word's size" in why


def test_a_new_letter_drawn_over_its_neighbours_is_not_measured(registry):
    # unseen-0-0051's truth: a "p" at the pen of the "i" it replaced, its bowl across the "o" and its
    # stem on the "t". What it adds are fragments whose outline is not its weight (the check refused
    # the truth itself, 0.75x): it is not measured, and the edit is left to the reading's checks.
    from agent.style import check_style
    from tools.mask import changed

    before, after, line = _gradient_word("station", 4, "p", 1.0)
    plan = make_plan(registry, before, line, 0, EditRequest(image="-", find="station", replace="statpon"))
    ys, xs = np.nonzero(changed(before, after))
    mask_box = (int(xs.min()) - 8, int(ys.min()) - 8, int(xs.max()) + 9, int(ys.max()) + 9)
    assert check_style(registry, before, after, plan, [mask_box]) is None


def test_where_the_faces_advances_are_not_the_words_the_nearest_witnesses_place_the_new_glyph(registry, monkeypatch):
    # unseen-0-0092: "Friday" -> "Frifay" in Source Serif drawn 0.88 wide, matched to Lora SemiBold
    # drawn 0.84 wide, whose letters are each a little wider or narrower. The neighbours' witnesses
    # of the f's pen spread over 8 px; the phase vote took a place 2 px from the truth.
    import agent.plan
    import agent.repaint
    from agent.evals.unseen import make_unseen_case
    from agent.repaint import _disagree
    from tools.inpaint import NaiveInpaint
    from tools.metrics import crop, ssim

    case = make_unseen_case(0, 92, [], made=True)
    assert (case.find, case.replace, case.conditions[:2]) == ("Friday", "Frifay", ("made face", "flat"))
    line = TextLine(case.find, 0.9, [], case.word_box)
    # The face the line's layout picks, Lora: ranked by their glyphs (agent/plan.py FIT_BAND), the
    # faces near the best fit give Source Serif itself, whose advances are the word's.
    monkeypatch.setattr(agent.plan, "SURE_FIT", 0.0)
    plan = make_plan(registry, case.source, line, 0, EditRequest(image="-", find=case.find, replace=case.replace))
    assert unscaled_name(plan.font.face) == "Lora-SemiBold", plan.font.face
    monkeypatch.undo()

    def edit_ssim() -> float:
        out = NaiveInpaint()(case.source, glyph_edits(registry, case.source, plan, AttemptSettings(tool="naive")))
        return ssim(crop(out, case.edit_box), crop(case.target, case.edit_box))

    # the spread is the neighbours' own, one outlier set aside (syn-0-0253: five within 0.7 px, one
    # 1.2 px off, in the word's own face: the vote's to outvote)
    assert _disagree([72.07, 73.15, 73.22, 74.02, 74.29]) and not _disagree([43.8, 42.86, 44.0, 44.44, 44.02, 43.78])
    assert not _disagree([70.0])  # one neighbour alone: the vote between it and the glyph's own pen
    assert edit_ssim() > 0.78
    monkeypatch.setattr(agent.repaint, "ADVANCES_AGREE", float("inf"))  # the vote, whatever the spread
    assert edit_ssim() < 0.6


def test_a_light_drafts_faint_bars_do_not_make_it_look_short(registry, monkeypatch):
    # unseen-0-0093: "ENTRANCE" -> "DNTRANCE", the line matched to Schibsted Grotesk Medium drawn half a
    # pixel lighter. The new D's bars, each across two rows, covered neither by half: measured 9 rows
    # tall of the capitals' 12, it was re-sized a third larger and drawn over the N.
    import agent.repaint
    from agent.evals.unseen import make_unseen_case

    case = make_unseen_case(0, 93, [], made=False)
    assert (case.find, case.replace) == ("ENTRANCE", "DNTRANCE")
    plan = make_plan(registry, case.source, TextLine(case.find, 0.9, [], case.word_box), 0,
                     EditRequest(image="-", find=case.find, replace=case.replace))
    light = plan.model_copy(update={"font": plan.font.model_copy(update={"face": "SchibstedGrotesk-Medium", "size": 17, "weight": -0.5})})
    e, n = plan.char_boxes[0], plan.char_boxes[1]

    def drafted() -> tuple[int, int, int, int]:
        (edit,) = glyph_edits(registry, case.source, light, AttemptSettings(tool="naive"))
        return ink_box(edit.draft.coverage)

    box = drafted()
    assert box[3] - box[1] == e[3] - e[1] and box[2] <= n[0], (box, e, n)
    monkeypatch.setattr(agent.repaint, "FAINT_ROW", 0.5)  # the edge rows taken where covered by half, as before
    box = drafted()
    assert box[3] - box[1] >= e[3] - e[1] + 3 and box[2] > n[0], (box, e, n)


def test_faces_that_fit_the_line_alike_are_told_apart_by_their_glyphs(registry, monkeypatch):
    # unseen-0-0039: "hotel" -> "hltel" in Caladea drawn 0.9 wide and half a pixel bolder. The faces
    # laid the line out at IoU 0.78 at best, the registry's STIX Bold (kept by the layout's rules) at
    # 0.69 and IBM Plex Serif Bold drawn 0.86 wide at 0.73: none fits as a renderer's own would
    # (SURE_FIT), and within FIT_BAND the layout does not tell them apart. Each aligned alone, Plex's
    # glyphs erred least, and its "l" is the truth's to within SSIM 0.96; STIX's 0.56 (0.73 on the ground
    # tools/inpaint.fill_ground fills since session 45).
    import agent.plan
    from agent.evals.unseen import make_unseen_case
    from agent.plan import FIT_BAND, GOOD_FIT, SURE_FIT
    from tools.inpaint import NaiveInpaint
    from tools.metrics import crop, ssim

    case = make_unseen_case(0, 39, [], made=True)
    assert (case.find, case.replace, case.conditions[:2]) == ("hotel", "hltel", ("made face", "gradient"))
    line = TextLine(case.find, 0.9, [], case.word_box)

    def planned() -> tuple[object, float]:
        plan = make_plan(registry, case.source, line, 0, EditRequest(image="-", find=case.find, replace=case.replace))
        out = NaiveInpaint()(case.source, glyph_edits(registry, case.source, plan, AttemptSettings(tool="naive")))
        return plan, ssim(crop(out, case.edit_box), crop(case.target, case.edit_box))

    plan, ssim_by_glyphs = planned()
    fits = [c.fit for c in plan.font.candidates if c.fit is not None]
    assert GOOD_FIT <= max(fits) < SURE_FIT, fits
    band = [c for c in plan.font.candidates if c.fit is not None and c.fit >= max(fits) - FIT_BAND]
    assert all(c.glyph_error is not None for c in band if SCALED not in c.face), band  # each was measured
    assert unscaled_name(plan.font.face) == "IBMPlexSerif-Bold" and SCALED in plan.font.face, plan.font.face
    assert plan.font.face == min((c for c in band if c.glyph_error is not None), key=lambda c: c.glyph_error).face, band
    assert ssim_by_glyphs > 0.9, ssim_by_glyphs
    monkeypatch.setattr(agent.plan, "SURE_FIT", 0.0)  # the layout alone ranks the faces, as before
    plan, ssim_by_layout = planned()
    assert unscaled_name(plan.font.face) != "IBMPlexSerif-Bold" and ssim_by_layout < 0.8, (plan.font.face, ssim_by_layout)


@pytest.mark.slow  # (the photo read whole and planned: about 6 s)
def test_the_draft_takes_the_lines_text_colour_where_the_word_crop_split_the_ground(editor):
    # unseen-0-0041: dark green "garden" over a blurred photo's pale and grey patches. The word crop's
    # 2-means put the text with the grey patch and took the pale one for the text (its cluster touched
    # the crop's border least): the new "l" was drawn white. The line's ink, on which the face was
    # matched, had it the right way round.
    from agent.evals.suites import unseen_photos
    from agent.evals.unseen import make_unseen_case
    from agent.plan import _split_draft_colours

    case = make_unseen_case(0, 41, unseen_photos())
    assert (case.find, case.replace, case.conditions[1]) == ("garden", "larden", "photo")
    result, _, _ = editor.run(EditRequest(image="-", find=case.find, replace=case.replace, method="naive", max_attempts=1), case.source)
    plan = result.plan
    truth = np.array((13, 68, 31))  # the median colour where the generator's text covers its pixels whole
    assert np.abs(np.array(plan.font.fg) - truth).max() < 30, plan.font.fg
    glyphs = [b for b in plan.char_boxes if b is not None]
    split_fg, _ = _split_draft_colours(case.source, plan.word_box, glyphs, max(2, plan.font.size // 4))
    assert np.abs(np.array(split_fg) - truth).max() > 150, split_fg
