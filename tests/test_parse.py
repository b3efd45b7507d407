"""The request grammar: 40+ phrasings and helpful errors for malformed requests."""

from __future__ import annotations

import pytest

from agent.frontends.parse import ParseError, parse_request

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
