import csv

import pytest

from inference.findings import NO_LESION_SENTENCE, FindingsParseError, parse, render


def test_round_trip_over_every_annotation(shared_data):
    with open(shared_data / "qata-cov19" / "annotations.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 7145
    for row in rows:
        flags = tuple(v == "1" for v in row["zones"].split())
        parsed = parse(row["description"])
        assert parsed.zones == flags, row["image"]
        assert render(flags) == row["description"], row["image"]
        assert parsed.count == int(row["infected_zones"])
        assert {"unilateral": 1, "bilateral": 2}[parsed.laterality] == int(row["laterality"])


@pytest.mark.parametrize(
    ("sentence", "zones"),
    [
        (
            "Bilateral pulmonary infection, two infected areas, all left lung and all right lung.",
            (1, 1, 1, 1, 1, 1),
        ),
        ("Unilateral pulmonary infection, one infected area, midlle left lung", (0, 1, 0, 0, 0, 0)),
        (
            "Bilateral pulmonary infection, three infected areas, uppper left lung and middle"
            " rlower ight lung",
            (1, 0, 0, 0, 1, 1),
        ),
        (
            "unilateral pulmonary infection, two infected areas, upper lower right lung.",
            (0, 0, 0, 1, 0, 1),
        ),
    ],
)
def test_parses_noisy_lvit_sentences(sentence, zones):
    assert parse(sentence).zones == tuple(bool(z) for z in zones)


def test_no_lesion_sentence_round_trips():
    assert render((False,) * 6) == NO_LESION_SENTENCE
    assert parse(NO_LESION_SENTENCE).count == 0
    assert parse(NO_LESION_SENTENCE).laterality == "none"


def test_sentence_without_zones_is_an_error():
    with pytest.raises(FindingsParseError, match="no lung zone"):
        parse("pulmonary infection somewhere")
    with pytest.raises(ValueError, match="6 zone flags"):
        render((True, False))


def test_render_grammar():
    assert render((0, 0, 1, 0, 0, 0)) == (
        "unilateral pulmonary infection, one infected area, lower left lung."
    )
    assert render((1, 0, 1, 0, 1, 0)) == (
        "bilateral pulmonary infection, three infected areas, upper lower left lung and "
        "middle right lung."
    )
