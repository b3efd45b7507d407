"""The request grammar: 40+ phrasings, the real-world phrasing corpus, several edits in one request, and
helpful errors for malformed or non-text requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.frontends.parse import LAST, ParsedRequest, ParseError, parse_request, parse_requests

CORPUS = Path(__file__).resolve().parent / "data" / "request_phrasings.jsonl"

CASES = [
    ("replace hands with bands", "hands", "bands", None),
    ("Replace hands with bands", "hands", "bands", None),
    ("replace hands by bands", "hands", "bands", None),
    ("please replace hands with bands", "hands", "bands", None),
    ("replace hands with bands please", "hands", "bands", None),
    ("replace hands with bands.", "hands", "bands", None),
    ('replace "Clean hands" with "Clear hands"', "Clean hands", "Clear hands", None),
    ("replace 'hands' with 'bands'", "hands", "bands", None),
    ("replace \u201chands\u201d with \u201cbands\u201d", "hands", "bands", None),
    ("replace the second hands with bands", "hands", "bands", 2),
    ("replace the 2nd hands with bands", "hands", "bands", 2),
    ("replace hands with bands (occurrence 3)", "hands", "bands", 3),
    ("replace hands with bands #2", "hands", "bands", 2),
    ("change SPEED to SPEND", "SPEED", "SPEND", None),
    ("change SPEED into SPEND", "SPEED", "SPEND", None),
    ("Change the third SPEED to SPEND", "SPEED", "SPEND", 3),
    ("turn SPEED into SPEND", "SPEED", "SPEND", None),
    ("make SPEED read SPEND", "SPEED", "SPEND", None),
    ("make SPEED say SPEND", "SPEED", "SPEND", None),
    ("edit SPEED to SPEND", "SPEED", "SPEND", None),
    ("correct Teh to The", "Teh", "The", None),
    ("swap SPEED for SPEND", "SPEED", "SPEND", None),
    ("substitute hands with bands", "hands", "bands", None),
    ('"6,001" -> "6,007"', "6,001", "6,007", None),
    ("6,001 -> 6,007", "6,001", "6,007", None),
    ("6,001 => 6,007", "6,001", "6,007", None),
    ("6,001 \u2192 6,007", "6,001", "6,007", None),
    ("6,001 = 6,007", "6,001", "6,007", None),
    ("Available -> Avoilable", "Available", "Avoilable", None),
    ("fix the typo: Teh -> The", "Teh", "The", None),
    ("fix typo Teh -> The", "Teh", "The", None),
    ("typo: Teh -> The", "Teh", "The", None),
    ("s/hands/bands/", "hands", "bands", None),
    ("change the A in CAT to O", "CAT", "COT", None),
    ("change the A in CAT to an O", "CAT", "COT", None),
    ("change the 1 in 6,001 to a 7", "6,001", "6,007", None),
    ("replace the 1 in 6,001 with 7", "6,001", "6,007", None),
    ('make the second o in "Mount Rose" an a', "Mount Rose", "Mount Rase", None),
    ("make the first o in Rose an a", "Rose", "Rase", None),
    ("change the last e in Greenstead to a", "Greenstead", "Greenstaad", None),
    ("change the o in cot to a", "cot", "cat", None),
    ("change the n in underground to N", "underground", "uNderground", None),
    ("change the 2nd n in underground to N", "underground", "undergrouNd", None),
    ("set the S in SPEED to Z", "SPEED", "ZPEED", None),
]


@pytest.mark.parametrize(("text", "find", "replace", "occurrence"), CASES)
def test_phrasings(text, find, replace, occurrence):
    p = parse_request(text)
    assert (p.find, p.replace, p.occurrence) == (find, replace, occurrence)


def test_there_are_at_least_40_phrasings():
    assert len(CASES) >= 40


MALFORMED = [
    ("", "empty"),
    ("   ", "empty"),
    ("hello there", "try:"),
    ("replace hands", "try:"),
    ("replace hands with hands", "nothing to change"),
    ("hands -> hands", "nothing to change"),
    ("change the x in CAT to O", 'no "x"'),
    ("change the third A in CAT to O", "only 1"),
    ("change the zeroth A in CAT to O", "ordinal"),
    ("make it better", "try:"),
    ("replace the last hands with bands", "last"),
]


@pytest.mark.parametrize(("text", "hint"), MALFORMED)
def test_malformed_requests_get_a_helpful_message(text, hint):
    with pytest.raises(ParseError) as e:
        parse_request(text)
    assert hint in str(e.value)
    assert "\n" not in str(e.value)


# --- the real-world phrasing corpus (tests/data, written apart from the parser) ---------------------------


def _corpus():
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_corpus_phrasings():
    edit_failures, refusal_failures, n_edits = [], [], 0
    for case in _corpus():
        want = [(e["find"], e["replace"], e["occurrence"]) for e in case["edits"]]
        try:
            got = [(p.find, p.replace, p.occurrence) for p in parse_requests(case["text"])]
        except ParseError as e:
            got = f"ParseError: {e}"
        if want:
            n_edits += 1
            if got != want:
                edit_failures.append(f"[{case['source']}] {case['text']!r}: want {want}, got {got}")
        elif not isinstance(got, str):
            refusal_failures.append(f"[{case['source']}] {case['text']!r}: want ParseError, got {got}")
    rate = 1 - len(edit_failures) / n_edits
    assert rate >= 0.95, f"{n_edits - len(edit_failures)}/{n_edits} edit lines parsed:\n" + "\n".join(edit_failures)
    assert not refusal_failures, "not refused:\n" + "\n".join(refusal_failures)
    assert n_edits >= 150


# --- several edits in one request ---------------------------------------------------------------------


def _triples(text):
    return [(p.find, p.replace, p.occurrence) for p in parse_requests(text)]


@pytest.mark.parametrize(("text", "edits"), [
    ("change 2024 to 2025 and Monday to Tuesday", [("2024", "2025", None), ("Monday", "Tuesday", None)]),
    ("change A to B, C to D; E to F then G to H", [("A", "B", None), ("C", "D", None), ("E", "F", None),
                                                     ("G", "H", None)]),
    ("Change X to Y. Change P to Q.", [("X", "Y", None), ("P", "Q", None)]),
    ("change Jan to Feb and also 2023 to 2024", [("Jan", "Feb", None), ("2023", "2024", None)]),
    # a part without its own verb borrows the previous one, whichever form that was
    ("replace 'a' with 'b' and 'c' with 'd'", [("a", "b", None), ("c", "d", None)]),
    ("substitute 'Deal' for 'Sale' and 'Tomorrow' for 'Today'", [("Sale", "Deal", None), ("Today", "Tomorrow", None)]),
    ("remove 'Draft' and 'Copy'", [("Draft", "", None), ("Copy", "", None)]),
    ('change the last "Total" to "Sum" and the 2nd "Tax" to "VAT"', [("Total", "Sum", LAST), ("Tax", "VAT", 2)]),
    ("hands -> bands. Thanks!", [("hands", "bands", None)]),
])
def test_several_edits_are_split_in_order(text, edits):
    assert _triples(text) == edits


@pytest.mark.parametrize(("text", "edit"), [
    # quoted text is never split, whatever it holds
    ("replace 'Salt and Pepper' with 'Salt and Vinegar'", ("Salt and Pepper", "Salt and Vinegar", None)),
    ('replace "to go" with "to stay"', ("to go", "to stay", None)),
    ('change "A; B" to "A, then B"', ("A; B", "A, then B", None)),
    # unquoted "and" stays inside one edit when a split would leave a part that is no edit
    ("replace Salt and Pepper with Salt and Vinegar", ("Salt and Pepper", "Salt and Vinegar", None)),
    ("change rock and roll to jazz", ("rock and roll", "jazz", None)),
    ("change 1,200 to 1,250", ("1,200", "1,250", None)),
    ("change St. Mary to St. Marie", ("St. Mary", "St. Marie", None)),
    # apostrophes inside words are not quotes
    ("replace Rock 'n' Roll with Rock and Roll", ("Rock 'n' Roll", "Rock and Roll", None)),
    ("change 'don't' to 'do not'", ("don't", "do not", None)),
])
def test_one_edit_is_not_split(text, edit):
    assert _triples(text) == [edit]


@pytest.mark.parametrize(("text", "edit"), [
    ("substitute 2025 for 2024", ("2024", "2025", None)),
    ("use Tea instead of Coffee", ("Coffee", "Tea", None)),
    ("make it say 2025 instead of 2024", ("2024", "2025", None)),
    ("it should say Receive, not Recieve", ("Recieve", "Receive", None)),
    ("Receive not Recieve", ("Recieve", "Receive", None)),
    ("Friday instead of Thursday", ("Thursday", "Friday", None)),
    ("instead of Sale, write Deal", ("Sale", "Deal", None)),
    # not reversed: what it says comes first
    ("it says sizer instead of sixer", ("sizer", "sixer", None)),
    ("substitute cat with dog", ("cat", "dog", None)),
])
def test_reversed_forms(text, edit):
    assert _triples(text) == [edit]


def test_last_occurrence():
    assert parse_requests("replace the last hands with bands") == [ParsedRequest("hands", "bands", LAST)]
    assert parse_request("change the final Total to Sum", allow_last=True).occurrence == LAST
    with pytest.raises(ParseError, match="last"):
        parse_request("replace the last hands with bands")  # EditRequest needs a 1-based occurrence
    # "last" of a character is a position inside the word, not an occurrence
    assert parse_request("change the last letter of Cart to d") == ParsedRequest("Cart", "Card", None)


def test_deletions_are_marked_and_only_explicit():
    (p,) = parse_requests('remove the word "Draft"')
    assert (p.find, p.replace, p.deletes) == ("Draft", "", True)
    assert parse_request("delete 'only' from the banner", allow_delete=True).deletes
    with pytest.raises(ParseError, match="deleting"):
        parse_request('remove the word "Draft"')
    assert not parse_request("replace hands with bands").deletes
    with pytest.raises(ParseError):
        parse_requests("replace hands with ''")  # an empty replacement is not a deletion request


def test_parse_request_wants_one_edit():
    with pytest.raises(ParseError) as e:
        parse_request("change 2024 to 2025 and Monday to Tuesday")
    assert "2 edits" in str(e.value) and "one edit at a time" in str(e.value) and "multi-edit" in str(e.value)


@pytest.mark.parametrize(("text", "hint"), [
    ("change the font to Arial", '"the font" is a property'),
    ("change the color of the text to red", "property"),
    ("change the background to blue", "property"),
    ("change font to Arial", "property"),
    ("change the date on this to 2025", "describes text"),
    ("turn it into a poster", '"it" does not say which text'),
    ("what does it say?", "question"),
    ("fix the typo", "names no text"),
    ("make it nicer", "names no text"),
    ("remove the watermark", "property"),
])
def test_refusals_say_why(text, hint):
    with pytest.raises(ParseError) as e:
        parse_requests(text)
    assert hint in str(e.value)
    assert str(e.value).startswith(f'could not understand "{text}"')


def test_property_words_are_text_when_used_as_words():
    assert _triples("change colour to color") == [("colour", "color", None)]
    assert _triples('change "font" to "fonts"') == [("font", "fonts", None)]


@pytest.mark.parametrize(("text", "closest"), [
    ("replace hands", "try: replace X with Y |"),
    ("turn it into a poster", "try: turn X into Y |"),
    ("make it nicer", "try: make it say Y instead of X |"),
    ("fix the typo", "try: fix the typo: X -> Y |"),
    ("swap the font for Arial", "try: swap X for Y |"),
    ("hello there", "try: replace X with Y | change X to Y |"),
])
def test_refusals_show_the_closest_form_first(text, closest):
    with pytest.raises(ParseError) as e:
        parse_requests(text)
    assert closest in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(("text", "part"), [
    ("change 2024 to 2025 and make it nicer", "make it nicer"),
    ("change Sale to Deal and the font to Arial", "the font to Arial"),
    ("change A to B; make it pop", "make it pop"),
])
def test_the_error_names_the_part_not_understood(text, part):
    with pytest.raises(ParseError) as e:
        parse_requests(text)
    assert str(e.value).startswith(f'could not understand "{part}"')
