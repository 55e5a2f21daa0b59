"""The act-vs-hold matching check: a row per family and one JSON line, p-values in [0, 1]."""

import json
import shutil

import pytest

from microturn.cli import main
from microturn.data.matching import CUES, match_family

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


def test_match_family_pairs_the_two_sides():
    m = match_family("qa", "dev", 3)
    assert m.family == "qa" and set(m.p) == set(m.act) == set(m.hold) == set(CUES)
    assert all(0.0 <= p <= 1.0 for p in m.p.values())
    assert m.act["segments_before"] == m.hold["segments_before"] == 1.0  # one question each
    assert m.row().startswith("| qa | ") and m.row().count("|") == len(CUES) + 2


def test_check_matching_verb_prints_a_table_then_json(capsys):
    main(["check-matching", "--split", "dev", "--n", "2", "--families", "qa,refusal"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert [x.split(" | ")[0] for x in lines[2:4]] == ["| qa", "| refusal"]
    out = json.loads(lines[-1])
    assert out["split"] == "dev" and out["n"] == 2 and set(out["families"]) == {"qa", "refusal"}
    assert out["min_p"] == min(p for f in out["families"].values() for p in f.values())


def test_unknown_family_is_refused():
    with pytest.raises(SystemExit, match="unknown families"):
        main(["check-matching", "--families", "nope"])
