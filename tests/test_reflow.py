"""Replacements of another length set like a typesetter (agent/reflow.py): what follows moves by
the width difference (not for a word narrower by about a letter: the rest stays), nothing else changes, kept punctuation survives, and a line with no room is
refused, never overwritten."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from agent.evals.words import MAX_LONGER, MAX_SHORTER, make_word_case
from agent.plan import observed_ink
from agent.reflow import CONDENSE_MIN, _rules, stray_ink
from agent.schemas import EditRequest
from tests.conftest import assert_reset_past_word
from tools.fonts import composite, render_text
from tools.metrics import ssim
from tools.text import shared_ends


def test_shared_ends():
    assert shared_ends("hands", "hand") == (4, 0)
    assert shared_ends("hand", "hands") == (4, 0)
    assert shared_ends("Price", "Office") == (0, 3)  # "ice" is kept
    assert shared_ends("6,001", "16,001") == (0, 5)  # a digit in front: all of "6,001" moves
    assert shared_ends("Weather.", "Apartment.") == (0, 1)
    assert shared_ends("aa", "aaa") == (2, 0)  # head and tail never overlap


def test_a_table_rule_is_found_and_a_letter_or_a_gradient_band_is_not():
    size = 20
    strokes = np.zeros((40, 200), bool)
    strokes[30, 10:190] = True  # a rule under the line, 9 sizes long
    strokes[8:28, 50:53] = True  # an "l": a stem one size tall
    strokes[8:28, 120:190] = True  # a letter-high dark block (a gradient's dark end), not thin
    rules = _rules(strokes, size)
    assert rules[30, 100] and not rules[18, 51] and not rules[18, 150]


def _edit(editor, case):
    req = EditRequest(image="line.png", find=case.find, replace=case.replace, max_attempts=3)
    result, out, _ = editor.run(req, case.source)
    return result, out


def _reflowed(editor, registry, seed: int, index: int, past_word: bool = False):
    """The words-suite case, its edit's result (a re-set word: verified, or, where it moved the
    rest of its line, held for every other check: assert_reset_past_word) and the output."""
    case = make_word_case(registry, seed, index)
    result, out = _edit(editor, case)
    if past_word:
        assert_reset_past_word(result)
    else:
        assert result.status == "verified", (result.message, [(a.ocr_text, a.line_read, a.why_failed) for a in result.attempts])
    assert result.plan.reflow is not None
    return case, result, out


# (seed, index) of words-suite cases: a phrase two words longer, a shorter word before a full
# stop, a longer word in a line of capitals with a full stop OCR reads as a colon.
CASES = [(0, 10), (0, 21), (0, 29)]


@pytest.mark.parametrize(("seed", "index"), CASES)
def test_a_word_of_another_length_moves_the_rest_of_the_line(editor, registry, seed, index):
    probe = make_word_case(registry, seed, index)
    grows = len(probe.replace) > len(probe.find)
    case, result, out = _reflowed(editor, registry, seed, index, past_word=grows)
    reflow = result.plan.reflow
    assert reflow.how == "moved" and reflow.why
    assert (reflow.dx > 0) == grows
    x0, y0, x1, y1 = case.edit_box
    changed = (out != case.source).any(-1)
    changed[y0:y1, x0:x1] = False
    assert not changed.any(), "a pixel changed outside the line"
    assert ssim(out[y0:y1, x0:x1], case.target[y0:y1, x0:x1]) >= 0.85  # the line set again with the new word


# Words-suite cases of the same length whose new letters are a few pixels wider or narrower: the
# rest of the line moved 3-5 px (on a scanned page, "designers" -> "engineers" changed 1,812
# pixels outside the word for 4.6 px of width).
SAME_LENGTH_CASES = [(0, 97), (0, 117), (0, 132), (0, 192)]


@pytest.mark.parametrize(("seed", "index"), SAME_LENGTH_CASES)
def test_a_word_of_the_same_length_is_set_in_the_old_width_and_nothing_else_moves(editor, registry, seed, index):
    case, result, out = _reflowed(editor, registry, seed, index)
    reflow = result.plan.reflow
    assert reflow.how == "tracked" and reflow.dx == 0
    assert "old width" in reflow.why
    changed = (out != case.source).any(-1)
    assert changed.sum() > 50  # the edit happened
    if reflow.tail:  # the kept letters after the change keep every pixel (the old letters' halo stops at their ink)
        cut = reflow.cut_after
        right = int(np.ceil(cut.x_base + abs(cut.lean) * (reflow.baseline - reflow.band[0]))) + 1
        assert not changed[:, right:].any()
    x0, _, x1, _ = result.plan.word_box
    margin = (result.plan.word_box[3] - result.plan.word_box[1]) // 2
    changed[:, x0 - margin : x1 + margin] = False
    assert not changed.any(), f"{changed.sum()} pixels changed outside the word"


def test_a_longer_word_within_a_tenth_of_the_old_width_is_set_in_it(editor, registry):
    # "Store Museum Shop" -> "Store Breakfast Shop": 10.5 px wider, 10% of the new letters' spacing.
    # The rest of the line moved 10-11 px before (the held-out "Daily" -> "Weekly" heading moved 10).
    case, result, out = _reflowed(editor, registry, 0, 9)
    assert (case.find, case.replace) == ("Museum", "Breakfast")
    reflow = result.plan.reflow
    assert reflow.how == "tracked" and reflow.dx == 0 and "closer in the old width" in reflow.why
    x0, y0, x1, y1 = result.plan.word_box
    changed = (out != case.source).any(-1)
    assert changed[:, x0:x1].sum() > 50
    margin = (y1 - y0) // 2
    assert not changed[:, x1 + margin :].any() and not changed[:, : x0 - margin].any()


def test_a_word_narrower_by_a_letter_leaves_the_rest_of_its_line_in_place(editor, registry):
    # "Day Water Evening" -> "Day Bank Evening": 11 px narrower at size 23. "Evening" moved 11 px
    # left before (on the held-out dev half, "Tarzana," -> "Tarzan," moved 1,493 pixels of its line
    # and "book" -> "film" 10,056, all outside the word the user named, and verified).
    case, result, out = _reflowed(editor, registry, 0, 13)
    assert (case.find, case.replace) == ("Water", "Bank")
    reflow = result.plan.reflow
    assert reflow.dx < 0 and "keeps its pixels" in reflow.why
    x0, y0, x1, y1 = result.plan.word_box
    changed = (out != case.source).any(-1)
    assert changed[:, x0:x1].sum() > 50  # the edit happened
    margin = (y1 - y0) // 2
    assert not changed[:, x1 + margin :].any(), "a pixel of the rest of the line changed"
    nx0, ny0, nx1, ny1 = result.plan.outside[1]  # the E of "Evening", within that margin
    assert not changed[ny0:ny1, nx0:nx1].any()


def test_what_follows_moves_from_where_the_old_words_last_glyph_ends(editor, registry):
    # "Fish The Furniture." -> "Kitchen.": the word's tracking was measured 2% wide, and the full
    # stop moved by that tracking times the advances landed 1 px short of the truth's, on the new
    # "n" (refused as joined). Now it moves from where the old "e" ends, and lands where the truth's does.
    case = make_word_case(registry, 0, 78)
    assert (case.find, case.replace) == ("Furniture", "Kitchen")
    result, out = _edit(editor, case)
    x0, y0, x1, y1 = case.edit_box
    f = result.plan.font

    def last_mark(image: np.ndarray) -> int:  # the full stop's first column: the rightmost piece of solid ink
        labels, _ = ndimage.label(observed_ink(image[y0:y1, x0:x1], f.fg, f.bg, f.effect) > 0.8)
        pieces = ndimage.find_objects(labels)
        return max(pieces, key=lambda p: p[1].stop)[1].start

    assert last_mark(out) == last_mark(case.target)


# Words-suite cases on a texture and a grainy ground whose cells and specks passed for strokes:
# the changes reached 3 rows past the letters' margin (405 px, unverified; 86 px, verified); and
# a phrase at a textured line's end ("Day Museum" -> "Table Main"), where a ground cell past the
# "m" moved with the closing line as if it were text (19 px 2 columns past the margin, verified).
GROUND_CASES = [(0, 53), (0, 147), (0, 40)]


@pytest.mark.parametrize(("seed", "index"), GROUND_CASES)
def test_a_grounds_cells_do_not_carry_the_changes_past_the_letters(editor, registry, seed, index):
    case = make_word_case(registry, seed, index)
    _, out = _edit(editor, case)
    x0, y0, x1, y1 = case.edit_box
    changed = (out != case.source).any(-1)
    assert changed[y0:y1, x0:x1].sum() > 100  # the edit happened
    changed[y0:y1, x0:x1] = False
    assert not changed.any(), f"{changed.sum()} pixels changed outside the line"


def test_a_full_stop_ocr_did_not_read_moves_with_the_line(editor, registry):
    # "West and we cook." -> "West and hands harbour": OCR read "cook" without its full stop, which
    # lay in the k's box and was erased with it, and the line verified without it.
    case = make_word_case(registry, 1, 28)
    assert case.line.endswith("cook.") and case.new_line.endswith("harbour.")
    result, out = _edit(editor, case)
    assert result.status == "verified"  # (the phrase ends its line: it grows over ground, within the longer word's allowance)
    x0, y0, x1, y1 = case.line_box
    # the full stop's ink is where the truth has it
    tail = (slice(y0, y1), slice(x1 - 12, x1))
    ink_out = (np.abs(out[tail].astype(int) - case.source[0, 0].astype(int)).max(-1) > 60).sum()
    ink_truth = (np.abs(case.target[tail].astype(int) - case.source[0, 0].astype(int)).max(-1) > 60).sum()
    assert ink_truth > 0 and abs(int(ink_out) - int(ink_truth)) <= 0.3 * ink_truth


def test_the_next_lines_letters_in_the_band_stay_where_they_are(editor, registry):
    # A receipt's "Rate: Daily Parking" -> "Weekly", its next line "Pmt Type: CC (Swipe)" close
    # under it: the rows of "Daily Parking"'s descenders held the tops of "CC (Swipe)", which were
    # erased and moved with the line, and 121 pixels of the next line changed in an edit verified.
    # Strokes lying mostly outside the line's letters' rows are another line's (its capitals' tops,
    # and the colon's upper dot, wholly in the band): they stay, and the checks hold them to it.
    font = registry.font("DejaVuSansCondensed", 30)
    top = render_text(font, "Rate: Daily Parking", (420, 90), (12, 38))
    low = render_text(font, "Type: CC (Swipe)", (420, 90), (12, 68))
    image = (np.full((90, 420, 3), 245.0) - np.maximum(top.alpha, low.alpha)[..., None] * 225).astype(np.uint8)
    result, out, _ = editor.run(EditRequest(image="receipt.png", find="Daily", replace="Weekly"), image)
    assert_reset_past_word(result)
    assert result.plan.reflow.band[1] > np.nonzero(low.alpha.any(1))[0][0] + 5  # the band takes in the next line's tops
    below = np.nonzero(top.alpha.any(1))[0][-1] + 2  # (the rows under the top line's descenders: the next line's alone)
    assert (np.abs(out[below:].astype(int) - image[below:].astype(int)).max(-1) > 30).sum() == 0


def test_a_left_aligned_lines_start_does_not_move():
    # A nutrition label's "Total" -> "Totals": its line ran off the image, and the word grew 30 px
    # left of the column of "Saturated Fat" under it, verified (the judge read "TotalsF"). A line
    # starting where a neighbour starts, and ending elsewhere, is left-aligned: its start stays. A
    # ledger's right-aligned figures end together and start apart: what precedes may move there.
    from agent.reflow import _left_aligned
    from tools.ocr import TextLine

    line = (100, 50, 300, 80)
    assert _left_aligned(line, [TextLine.of_box("Saturated Fat", 1.0, (104, 90, 380, 120))], 30)
    assert not _left_aligned(line, [TextLine.of_box("6,001,271.61", 1.0, (40, 90, 300, 120))], 30)
    assert not _left_aligned(line, [TextLine.of_box("far below", 1.0, (100, 200, 380, 230))], 30)  # not a neighbour


def test_a_full_stop_an_italic_letter_leans_over_moves_whole_with_the_line(editor, registry):
    # "Fish The Furniture." -> "Kitchen." in a bold italic serif on a texture: the e's tail leans
    # over the full stop, so no leaning cut parts them; the stop was half erased and verified.
    case = make_word_case(registry, 0, 78)
    assert case.line.endswith("Furniture.") and case.new_line.endswith("Kitchen.")
    result, out = _edit(editor, case)
    assert result.plan.reflow.carried, "the full stop is carried past the cut"
    stop = result.plan.reflow.carried[0]
    fg = np.asarray(result.plan.font.fg, float)

    def dots(image, x0, x1):  # text-coloured pixels at the baseline's height, between x0 and x1
        y0, y1 = stop[1], stop[3]
        return int((np.abs(image[y0:y1, x0:x1].astype(float) - fg).max(-1) < 60).sum())

    before = dots(case.source, stop[0], stop[2])
    moved = result.plan.reflow.dx
    assert before >= 4 and dots(out, stop[0] + moved - 1, stop[2] + moved + 1) >= 0.7 * before


def test_a_box_drawn_round_the_line_is_a_rule_in_any_colour_and_its_side_can_move():
    from agent.reflow import _frame_side, drawn_lines, grown
    from agent.schemas import FontInfo

    # A grey ledger line in a faint red box (the bundled ledger's colours), room to its right.
    h, w, size = 40, 200, 14
    image = np.full((h, w, 3), (172, 166, 166), np.uint8)
    image[5, 20:145] = image[34, 20:145] = (195, 138, 138)  # the top and bottom
    image[5:35, 20] = image[5:35, 144] = (195, 138, 138)  # the sides
    image[12:28, 30:140:9] = (70, 70, 70)  # upright strokes of the text
    font = FontInfo(face="LiberationSans-Regular", category="sans", size=size, baseline=28.0, slant=0.0, fg=(70, 70, 70),
                    bg=(172, 166, 166), score=1.0)
    rules = grown(np.logical_or(*drawn_lines(image, np.zeros((h, w), bool), font)))  # in another colour than the text's
    assert rules[5, 80] and rules[20, 144] and not rules[20, 30]
    ink = np.zeros((h, w), np.float32)
    ink[12:28, 30:140:9] = 1.0
    solid = ink.sum(0) >= 2
    across, upright = drawn_lines(image, ink > 0.3, font)
    side = _frame_side(across | upright, upright, font, solid, (0, h), 140, 8, 10**9, 4, 7)
    assert side is not None and side[0] <= 144 < side[2] and side[1] <= 5 and side[3] >= 35
    assert _frame_side(across | upright, upright, font, solid, (0, h), 140, 60, 10**9, 4, 7) is None  # no room for 60 px


def test_a_box_side_thicker_than_the_move_is_moved_whole():
    # A 4 px side moved 2 px: the paper it leaves is the 2 px the moved side does not cover (copying
    # its whole width from past it read beyond the window).
    from agent.reflow import _grow_frame
    from agent.schemas import Cut, Reflow

    h, w = 20, 27  # the window ends a pixel past the moved side
    orig = np.full((h, w, 3), 200.0, np.float32)
    orig[2:18, 20:24] = (200, 60, 60)  # the side, x 20..24
    orig[2, 5:24] = orig[17, 5:24] = (200, 60, 60)  # the top and bottom
    rules = (orig[..., 1] < 100)
    cut = Cut(x_base=10.0, lean=0.0)
    r = Reflow(how="moved", why="", head=0, tail=0, pen_x=0.0, baseline=15.0, size=14, tracking=1.0, cut_before=cut,
               cut_after=cut, dx=2, run=(5, 18), band=(0, h), frame=(20, 2, 24, 18))
    ground = orig.copy()
    framed = _grow_frame(ground, orig, r, 0, 0, rules)
    assert framed[2:18, 20:26].all() and not framed[:, 26:].any()
    assert (ground[5:15, 22:26, 1] == 60).all() and (ground[5:15, 20:22, 1] == 200).all()  # moved, paper behind
    assert (ground[2, 20:26, 1] == 60).all()  # the top drawn on over the gap


def test_ink_just_past_a_moved_runs_end_was_left_behind():
    # A full stop past the run's end (fainter than the ink a run is extended over) did not move
    # with the line: stranded or erased, the edit is not intact; a ground's specks are not ink.
    from agent.reflow import _left_behind
    from agent.schemas import Cut, Reflow

    cut = Cut(x_base=10.0, lean=0.0)
    r = Reflow(how="moved", why="", head=0, tail=0, pen_x=0.0, baseline=15.0, size=30, tracking=1.0, cut_before=cut,
               cut_after=cut, dx=-6, run=(5, 60), band=(0, 20))
    ink = np.zeros((20, 120), bool)
    ink[::3, 60:75:3] = True  # specks
    assert not _left_behind(ink, r, 60, 30)
    ink[12:16, 64:68] = True  # a stop 4 px past the end
    assert _left_behind(ink, r, 60, 30)
    far = np.zeros((20, 120), bool)
    far[12:16, 80:84] = True  # 20 px past: beyond half the size
    assert not _left_behind(far, r, 60, 30)


def _full_width_line(registry, text: str) -> np.ndarray:
    font = registry.font("LiberationSans-Bold", 32)
    width = int(font.getlength(text)) + 6  # 3 px either side: no room to grow
    r = render_text(font, text, (width, 60), (3, 42))
    return composite(np.full((60, width, 3), 235, np.float32), r.alpha, (20, 30, 120)).astype(np.uint8)


def test_a_longer_word_with_no_room_either_side_is_refused_not_overwritten(editor, registry):
    image = _full_width_line(registry, "SALE TODAY")
    req = EditRequest(image="line.png", find="TODAY", replace="TOMORROW")
    result, out, state = editor.run(req, image)
    assert result.status == "error" and state.get("bad_request") and "no room" in result.message
    assert out is None


def test_a_longer_word_whose_new_letters_cannot_give_up_the_width_is_condensed_whole(editor, registry):
    # A sign's "DOUBLE" -> "TROUBLE" with no room either side: the new "TR" alone would have to be
    # drawn at about half its width, the seven letters give up the 20 px at under 15% (CONDENSE_MIN).
    image = _full_width_line(registry, "DOUBLE")
    result, out, state = editor.run(EditRequest(image="line.png", find="DOUBLE", replace="TROUBLE"), image)
    r = result.plan.reflow
    assert result.status == "verified", result.message
    assert r is not None and r.how == "condensed" and (r.head, r.tail) == (0, 0) and CONDENSE_MIN <= r.condense < 1, r
    assert out.shape == image.shape and "set anew" in r.why


def _line_with_room(registry, text: str, room: int) -> np.ndarray:
    font = registry.font("LiberationSans-Bold", 32)
    width = int(font.getlength(text)) + 3 + room
    r = render_text(font, text, (width, 60), (3, 42))
    return composite(np.full((60, width, 3), 235, np.float32), r.alpha, (20, 30, 120)).astype(np.uint8)


def test_a_longer_word_with_a_little_room_is_condensed_into_it_not_refused(editor, registry):
    # 30 px of room after "SILVER" and 46 px more needed for "GOLDENS": tracking alone (10%) is not
    # enough, the new letters drawn as a condensed cut (about 0.9 of their width) are. (Refused before.)
    image = _line_with_room(registry, "SILVER", 60)
    ink_end = int(np.nonzero((image < 128).any(-1).any(0))[0].max()) + 1
    image[4:56, ink_end + 40 : ink_end + 43] = (20, 30, 120)  # a table's rule 40 px on: room for 40 less a word gap
    result, out, _ = editor.run(EditRequest(image="line.png", find="SILVER", replace="GOLDENS"), image)
    assert_reset_past_word(result)  # (it grows past the longer word's allowance: #17's box)
    reflow = result.plan.reflow
    assert reflow.how == "condensed" and 0 < reflow.dx <= 40 and CONDENSE_MIN <= reflow.condense < 1
    assert (out[:, ink_end + 40 :] == image[:, ink_end + 40 :]).all()  # the rule and past it: untouched


def test_the_words_suite_is_seeded_and_keeps_its_lengths(registry):
    a, b = make_word_case(registry, 3, 7), make_word_case(registry, 3, 7)
    assert (a.source == b.source).all() and (a.target == b.target).all() and a.find == b.find
    for i in range(30):
        c = make_word_case(registry, 5, i)
        assert c.line.replace(c.find, c.replace, 1) == c.new_line or "phrase" in c.conditions
        if "phrase" not in c.conditions:
            assert -MAX_SHORTER <= len(c.replace) - len(c.find) <= MAX_LONGER
        before, after = c.keep
        assert c.new_line.startswith(before) and c.new_line.endswith(after)
        # the true edit changes pixels only inside the line box (JPEG blocks and blur included)
        changed = (c.source != c.target).any(-1)
        x0, y0, x1, y1 = c.edit_box
        changed[y0:y1, x0:x1] = False
        assert not changed.any(), (i, c.conditions)


# On the bundled poster: (find, replace, the line's text after the edit as the judge must read it).
POSTER_WORDS = [
    ("hands", "hand", "Clean hand with soap and water"),  # shorter: what follows closes up
    ("Reduce", "Lower", "Lower your risk of coronavirus infection:"),  # shorter heading, an orange word moved in its colour
]


@pytest.mark.slow
@pytest.mark.parametrize(("find", "replace", "line"), POSTER_WORDS)
def test_word_edits_on_the_bundled_poster_verify_and_the_judge_reads_the_line(editor, find, replace, line):
    from agent.evals.judge import Judge
    from tests.conftest import load
    from tools.text import squeeze

    image = load("poster_who_handwashing.png")
    result, out, _ = editor.run(EditRequest(image="poster.png", find=find, replace=replace), image)
    assert result.status == "verified", result.message
    reflow = result.plan.reflow
    assert reflow is not None and reflow.dx < 0
    x0, y0, x1, y1 = result.plan.line_box
    read, _ = Judge().read(out, (x0, y0, x1, y1))
    assert squeeze(read) == squeeze(line)
    if find == "Reduce":  # "coronavirus" moved left and is still orange
        orange = (out[..., 0] > 200) & (out[..., 1] > 130) & (out[..., 1] < 200) & (out[..., 2] < 120)
        before = (image[..., 0] > 200) & (image[..., 1] > 130) & (image[..., 1] < 200) & (image[..., 2] < 120)
        assert abs(int(orange.sum()) - int(before.sum())) <= 0.05 * before.sum()


def test_a_deletions_later_letters_are_compared_at_their_new_places():
    # "markers" -> "makers" read "marers" had passed: index by index, the r at the k's place read
    # "as before". Aligned, the reading before is "makers" at the new word's places.
    from agent.policy import diagnose
    from agent.verify import aligned_before

    before = aligned_before("markers", "markers", "makers")
    assert before == "makers"
    assert diagnose("marers", 1.0, "markers", "makers", [], 0.2, before) is not None
    assert diagnose("makers", 1.0, "markers", "makers", [], 0.2, before) is None
    assert aligned_before("markr", "markers", "makers") is None  # a reading that does not align: strict


@pytest.mark.slow
def test_a_longer_price_in_the_ledger_grows_its_box_and_the_judge_reads_it(editor):
    # The ledger's "6,001,271.61" sits in a red box with no room inside: a digit more moves the rest
    # of the number a figure's cell (the ledger's figures are monospaced; the matched face's "1" is
    # half as wide) and the box's right side with it.
    from agent.evals.judge import Judge
    from tests.conftest import load
    from tools.text import squeeze

    image = load("numbers_ledger.png")
    result, out, _ = editor.run(EditRequest(image="ledger.png", find="6,001", replace="16,001"), image)
    assert_reset_past_word(result)  # (the box's side and the rest of the number moved)
    reflow = result.plan.reflow
    assert reflow.frame is not None and reflow.cells == "all" and 7 <= reflow.dx <= 10, reflow
    x0, y0, x1, y1 = result.plan.line_box
    read, _ = Judge().read(out, (x0, y0, x1 + reflow.dx, y1))
    assert squeeze(read).replace(" ", "") in ("16,001,271.61", "16,001,271.61.")
    red = (out[..., 0].astype(int) - out[..., 1]) > 30
    side, rows = reflow.frame, slice(reflow.frame[1] + 3, reflow.frame[3] - 3)
    assert red[rows, side[0] + reflow.dx : side[2] + reflow.dx].any(1).all()  # the side moved
    assert not red[rows, side[0] : side[2]].any(1).any()  # and is not also where it was


@pytest.mark.slow
def test_a_second_edit_on_the_line_a_re_set_word_moved_is_not_a_clash(editor):
    # The re-set "hand" moved the rest of its line, "soap" with it: the second edit finds and edits
    # "soap" where it now lies (the first only wrote "hand").
    from tests.conftest import load

    image = load("poster_who_handwashing.png")
    requests = [EditRequest(image="poster.png", find="hands", replace="hand"),
                EditRequest(image="poster.png", find="soap", replace="soup")]
    result, out, bad = editor.run_many(requests, image)
    assert result.status == "verified" and not bad, result.message
    assert [e.status for e in result.edits] == ["verified", "verified"]


def test_the_row_around_a_detector_box_and_where_its_text_starts_in_it():
    from agent.plan import row_around
    from tools.ocr import TextLine

    lines = [TextLine("Gate we river", 1.0, [], (10, 10, 130, 30)), TextLine("garden public.", 1.0, [], (140, 10, 270, 30)),
             TextLine("next line", 1.0, [], (10, 50, 100, 70))]
    row, offset = row_around(lines, 1)
    assert row.text == "Gate we river garden public." and row.text[offset:].startswith("garden")
    assert row.box == (10, 10, 270, 30)
    assert row_around(lines, 2) == (lines[2], 0)
    # An italic phrase's boxes lean into each other ("park" and "public" overlapped by 12 px): one row.
    lines = [TextLine("park", 1.0, [], (301, 17, 383, 60)), TextLine("public", 1.0, [], (371, 12, 477, 61))]
    assert row_around(lines, 1)[0].text == "park public"
    # ... a box read twice (overlapping by more than half the narrower) is not joined to itself.
    lines = [TextLine("park", 1.0, [], (301, 17, 383, 60)), TextLine("park", 1.0, [], (330, 17, 400, 60))]
    assert row_around(lines, 1) == (lines[1], 0)


def test_a_letter_added_to_letter_spaced_capitals_takes_the_words_spacing(editor, registry):
    # A book title's spaced "HISTOIRE" -> "HISTOIRES": the face's own advances put the S 140 px
    # left of the E (every neighbour's phase vote disagreed, the first glyph's guess won), and a
    # tracking of 1.6 was not trusted (at most 1.2), so even from the E it touched the E's serif.
    size, spacing, base = 36, 16.0, 60
    font = registry.font("FreeSerif-Bold", size)

    def spaced(text: str) -> np.ndarray:
        pens = [font.getlength(text[:i]) + i * spacing for i in range(len(text))]
        r = render_text(font, text, (520, 90), (20.0, base), pens)
        return composite(np.full((90, 520, 3), (235, 228, 210), np.float32), r.alpha, (25, 20, 10)).astype(np.uint8)

    source, truth = spaced("HARBOUR"), spaced("HARBOURS")
    req = EditRequest(image="title.png", find="HARBOUR", replace="HARBOURS", max_attempts=2)
    result, out, _ = editor.run(req, source)
    assert result.plan.reflow is not None and result.plan.reflow.tracking > 1.2

    def last_glyph_start(image: np.ndarray) -> int:  # the first column of the rightmost letter's ink
        labels, _ = ndimage.label(image.mean(-1) < 130)
        return max(ndimage.find_objects(labels), key=lambda p: p[1].stop)[1].start

    assert abs(last_glyph_start(out) - last_glyph_start(truth)) <= 3


def test_a_narrower_word_before_its_punctuation_is_set_against_it_and_nothing_moves(editor, registry):
    # "book;" -> "film;" (the held-out dev half's acknowledgements page): the rest of the line
    # moved 10,056 pixels when the word was re-set, and the semicolon's old halo changed 89 past it.
    font = registry.font("LiberationSerif", 30)
    text = "Read the book; then go home"
    drawn = render_text(font, text, (520, 70), (14.0, 46.0))
    image = composite(np.full((70, 520, 3), 244, np.float32), drawn.alpha, (25, 25, 30)).astype(np.uint8)
    req = EditRequest(image="line.png", find="book", replace="film", max_attempts=3)
    result, out, _ = editor.run(req, image)
    assert result.status == "verified", result.message
    reflow = result.plan.reflow
    assert reflow.dx == 0 and "set against the punctuation" in reflow.why
    semicolon = text.index(";")
    sx0, sy0, sx1, sy1 = drawn.boxes[semicolon]
    changed = (out != image).any(-1)
    assert not changed[:, sx0:].any(), "the semicolon or the rest of the line changed"
    # the new word ends about where the old one did: the gap before the semicolon is kept
    ink = (out < 128).any(-1)
    old_end = max(x for x in range(sx0) if (image[:, x] < 128).any())
    new_end = max(x for x in range(sx0) if ink[:, x].any())
    assert abs(new_end - old_end) <= 2


@pytest.mark.slow  # (two edits: the fast tier's two minutes are spent)
def test_ground_filled_with_a_colour_the_ground_never_showed_does_not_verify(editor, registry):
    # Under a script sign's "English" -> "Spanish" the fill took the frame below the band for ground:
    # a teal triangle about a fifth of the text's contrast off the dark panel, read "Spcanish" by
    # the judge; ours read "Spanish", and it verified.
    def edited(index: int, moves: bool):
        case = make_word_case(registry, 0, index)
        request = EditRequest(image="line.png", find=case.find, replace=case.replace, max_attempts=2)
        result, out, state = editor.run(request, case.source)
        if moves:  # (the rest of its line moved: every check passed but #17's box)
            assert_reset_past_word(result)
        else:
            assert result.status == "verified", [(a.ocr_text, a.why_failed) for a in result.attempts]
        assert result.plan.frame is None  # (a level line: the output and the frame the fill was made in are one)
        return state["work"], out, result.plan, state["filled"]

    # "Garden" -> "Coffee" on a blotchy textured ground: the fill in the C's bowl is the ground's own blotches.
    assert not stray_ink(*edited(117, moves=False))
    # "we map" -> "river museum" on a flat ground: a patch a third of the size across, in the filled
    # ground, a tenth of the contrast off its colour passes (a JPEG's or a fill's drift); three tenths does not.
    before, out, plan, filled = edited(10, moves=True)
    assert not stray_ink(before, out, plan, filled)
    side = round(0.3 * plan.font.size)
    y, x = np.argwhere(ndimage.uniform_filter(filled.astype(float), side) > 0.99)[0] - side // 2
    contrast = float(np.linalg.norm(np.subtract(plan.font.fg, plan.font.bg, dtype=float)))
    for share, seen in ((0.1, False), (0.3, True)):
        patched = out.copy()
        off = before[filled].astype(float).mean(0) + share * contrast * np.array([0.0, 0.6, 0.8])
        patched[y : y + side, x : x + side][filled[y : y + side, x : x + side]] = np.clip(off, 0, 255)
        assert stray_ink(before, patched, plan, filled) == seen, share


def test_a_hole_over_a_highlighted_words_band_is_filled_in_the_bands_colour():
    # A highlighted "principal" set anew as "apartment": the hole took in the whole band, the fill
    # came in from the ground round it, and the band was erased.
    from agent.reflow import _on_own_patch

    win = np.full((30, 80, 3), (40, 60, 160), np.float32)  # the ground
    win[8:22, 10:70] = (250, 240, 60)  # the highlighter's band
    ink = np.zeros((30, 80), bool)
    ink[11:19, 14:66:6] = True  # the letters' strokes
    win[ink] = (20, 20, 20)
    hole = np.zeros((30, 80), bool)
    hole[6:24, 8:72] = True  # past the band on every side
    fill = np.broadcast_to(np.float32([40, 60, 160]), win.shape).copy()  # what the edge's ground gives
    out = _on_own_patch(win, fill, hole, ink, 2)
    assert (out[9:21, 11:69] == (250, 240, 60)).all()  # the band, its colour again
    assert (out[6:8] == fill[6:8]).all() and (out[:, 8:10] == fill[:, 8:10]).all()  # the ground round it, as filled
    # a word on no patch of its own: the fill as it was
    plain = np.full((30, 80, 3), (40, 60, 160), np.float32)
    plain[ink] = (20, 20, 20)
    assert (_on_own_patch(plain, fill, hole, ink, 2) == fill).all()


def test_new_letters_that_would_cover_a_kept_neighbour_set_the_word_anew(registry, editor):
    # A slide's "blazingly" -> "amazingly": as many letters, and two changed of nine, so drawn in
    # place; its m (0.75 of the size) went where the l (0.1) stood, over the kept a beside it, and six
    # attempts read "azingly". Such a word is marked crowded, as are letters that would fill the space
    # beside them ("lit" -> "mit", "is" -> "im"); a letter a little wider than the old one ("faster" ->
    # "fastes": s for r) is not. After failed attempts in place (the first and its narrower redraw:
    # here too the m drawn over the a reads wrong), the crowded word is set anew, and what follows it moves.
    from agent.plan import make_plan
    from tools.ocr import TextLine

    font = registry.font("DejaVuSans", 30)
    text = "is blazingly faster lit"
    drawn = render_text(font, text, (460, 60), (10, 42))
    image = (np.full((60, 460, 3), 250.0) * (1 - drawn.alpha[..., None])).astype(np.uint8)
    line = TextLine.of_box(text, 1.0, (6, 12, 420, 52))
    crowded = {}
    for find, replace in (("blazingly", "amazingly"), ("faster", "fastes"), ("is", "im"), ("lit", "mit")):
        plan = make_plan(registry, image, line, text.index(find), EditRequest(image="-", find=find, replace=replace))
        assert plan.mode == "chars"
        crowded[replace] = plan.crowded
    assert crowded == {"amazingly": True, "fastes": False, "im": True, "mit": True}
    result, out, _ = editor.run(EditRequest(image="line.png", find="blazingly", replace="amazingly", max_attempts=3), image)
    assert_reset_past_word(result)  # (set anew, it moved what follows: #17's box)
    assert result.plan.reflow is not None and result.plan.reflow.dx > 0
    assert [a.size_scale for a in result.attempts] == [1.0, 0.9, 1.0]  # in place, a tenth smaller in place, set anew
    # "faster now" moved right by the width the m adds; "is" stayed
    assert (out[:, : drawn.boxes[3][0] - 2] == image[:, : drawn.boxes[3][0] - 2]).all()
    assert not (out[:, drawn.boxes[-1][2] :] == image[:, drawn.boxes[-1][2] :]).all()


@pytest.mark.slow  # (a photo read whole: the fast tier's two minutes are spent)
def test_a_word_reset_in_its_old_width_is_verified_and_keeps_to_its_box(editor):
    # A sign's "Germany" -> "Hungary" (examples/heldout, ho-epping-sign-2, dev half): set 8% looser
    # in the old width, nothing else moves. The re-set erased and filled its line's rows, the last a
    # pixel below the margin round the word's letters, and #17's count refused it (64 pixels, all
    # ground under the word, all inside the case's hand-set box). A line that moves is refused:
    # test_the_next_lines_letters_in_the_band_stay_where_they_are.
    from agent.evals.suites import heldout_box
    from tests.conftest import load
    from tools.metrics import changed_outside

    image = load("heldout/epping_sign.jpg")
    result, out, _ = editor.run(EditRequest(image="sign.jpg", find="Germany", replace="Hungary"), image)
    assert result.status == "verified", result.message
    assert result.plan.reflow is not None and result.plan.reflow.dx == 0
    assert changed_outside(image, out, heldout_box([183, 206, 276, 229], "Germany", "Hungary", image.shape[:2])) == 0
