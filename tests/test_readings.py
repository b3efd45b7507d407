"""Readings remembered by content (tools/readings.py): memory, the disk for the CLI, its cap."""

from __future__ import annotations

import numpy as np
import pytest

from tools import readings
from tools.ocr import TextLine
from tools.readings import Readings, content_key

LINES = [TextLine("Clean hands", 0.93, [(1.0, 2.0), (50.0, 2.0), (50.0, 12.0), (1.0, 12.0)], (1, 2, 50, 12))]


def test_content_keys_tell_images_apart_by_pixels_shape_and_type():
    a = np.zeros((4, 5, 3), np.uint8)
    b = a.copy()
    b[3, 4, 2] = 1
    assert content_key(a) == content_key(a.copy())
    assert len({content_key(a), content_key(b), content_key(a.reshape(5, 4, 3)), content_key(a.astype(np.int16))}) == 4


def test_a_reading_on_disk_serves_the_next_process_and_a_bad_file_is_skipped(tmp_path):
    Readings(tmp_path, tag="v1").put("k", LINES)
    again = Readings(tmp_path, tag="v1")  # a new process: nothing in memory
    assert again.get("k") == LINES
    assert Readings(tmp_path, tag="v2").get("k") is None  # another recogniser's reading is not this one's
    (path,) = tmp_path.glob("*.json")
    path.write_text("{not json")
    assert Readings(tmp_path, tag="v1").get("k") is None and not path.exists()
    assert Readings(None).get("k") is None  # no folder: memory only


def test_the_disk_keeps_the_most_recently_used_under_its_cap(tmp_path, monkeypatch):
    cache = Readings(tmp_path, tag="v1")
    cache.put("first", LINES)
    size = next(tmp_path.glob("*.json")).stat().st_size
    monkeypatch.setattr(readings, "DISK_BYTES", 2 * size)
    cache.put("second", LINES)
    cache.put("third", LINES)
    names = sorted(p.name for p in tmp_path.glob("*.json"))
    assert len(names) == 2 and not any("first" in n for n in names)


@pytest.mark.slow  # reads a large photo at two sizes (12 s)
def test_a_thorough_reading_is_not_answered_by_a_quick_one(ocr):
    # no_parking_barrier.jpg (1280x960) is first searched at 768 px, where its signs read "NOPArkInG";
    # the thorough reading (what locate asks for before "not found") searches the full size.
    from tests.conftest import EXAMPLES
    from tools.images import load_image

    image = load_image(EXAMPLES / "heldout" / "no_parking_barrier.jpg")
    quick, thorough = ocr.read(image), ocr.read(image, thorough=True)
    assert [line.text for line in quick] == ["NOPArkInG", "NOparkInG ="]
    assert [line.text for line in thorough] == ["NOPARKING", "NOPARKING ="]


@pytest.mark.slow  # reads a statement enlarged (14 s)
def test_an_enlarged_reading_finds_small_text_the_detector_missed_at_the_images_size(ocr):
    # A bank statement (957x307): the detector misses the cheque number "4987" in a column whose
    # other numbers it finds; searched enlarged it finds it (asked for 4987, the row below's "4982"
    # was edited before, and verified).
    from tests.conftest import EXAMPLES
    from tools.images import load_image

    image = load_image(EXAMPLES / "heldout" / "bank_statement.png")
    quick, enlarged = ocr.read(image, thorough=True), ocr.read_enlarged(image)
    assert "4987" not in [line.text for line in quick] and "4986" in [line.text for line in quick]
    (found,) = [line for line in enlarged if line.text == "4987"]
    assert abs(found.box[0] - 567) <= 4 and abs(found.box[1] - 120) <= 4  # the hand-set box's corner


class Stub:
    """What OCR.carry_reading uses of an OCR: its readings and a recogniser (here: a fixed answer)."""

    def __init__(self, folder=None):
        self.readings = Readings(folder, tag="t")

    def recognize(self, crop):
        return "read again", 0.9


def _row(x0, x1):
    return TextLine("w", 0.9, [(x0, 20), (x1, 20), (x1, 40), (x0, 40)], (x0, 20, x1, 40))


def test_a_carried_box_widened_over_the_next_line_of_its_row_is_not_kept(tmp_path):
    from tools.ocr import OCR

    before = np.zeros((60, 200, 3), np.uint8)
    stub = Stub(tmp_path)
    stub.readings.put(content_key(before), [_row(10, 60), _row(70, 139)])
    # A longer first word pushes the second along: changes run from inside the first box to the
    # row's end, so the first box would widen over the second and read its text twice.
    after = before.copy()
    after[22:38, 30:139] = 255
    assert OCR.carry_reading(stub, before, after) is None
    # A change inside the first box only: its line is read again, the other kept; memory only.
    inside = before.copy()
    inside[22:38, 30:50] = 255
    carried = OCR.carry_reading(stub, before, inside)
    assert [(ln.text, ln.box) for ln in carried] == [("read again", (10, 20, 60, 40)), ("w", (70, 20, 139, 40))]
    assert Readings(tmp_path, tag="t").get(content_key(inside)) is None  # not on disk for other processes
    assert Readings(tmp_path, tag="t").get(content_key(before)) is not None


def test_stale_half_written_files_are_cleared(tmp_path):
    import os

    stale = tmp_path / "x.json.tmp"
    stale.write_text("half")
    os.utime(stale, (1, 1))
    fresh = tmp_path / "y.json.tmp"
    fresh.write_text("being written")
    Readings(tmp_path, tag="v1").put("k", LINES)
    assert not stale.exists() and fresh.exists()
