"""`microturn bench vocoder`: the verb dispatches, prints its table and ends with one JSON line."""

import json

from microturn.cli import main


def test_bench_vocoder_prints_a_table_then_json(capsys):
    main(["bench", "vocoder", "--limit", "1", "--n-iter", "2"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("| path | LSD dB")
    r = json.loads(lines[-1])
    assert r["n_clips"] == 1 and r["n_iter"] == 2
    assert 0 < r["c_lsd"] < 20 and r["d_rtf"] > 0
