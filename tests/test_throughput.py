"""`microturn bench train`: a table of step times per preset and dtype, then one JSON line."""

import json

from microturn.cli import main


def test_bench_train_prints_a_row_per_preset_and_dtype(capsys):
    main(["bench", "train", "--presets", "tiny", "--batch", "2", "--seq", "16", "--steps", "2",
          "--threads", "1"])  # fmt: skip
    lines = capsys.readouterr().out.strip().splitlines()
    rows = json.loads(lines[-1])["rows"]
    assert [(r["preset"], r["dtype"][:4]) for r in rows] == [("tiny", "bf16"), ("tiny", "fp32")]
    assert all(r["tok_s"] > 0 and r["mfu"] > 0 for r in rows)
    assert sum(x.startswith("| tiny |") for x in lines) == 2
