"""`microturn bench agent` runs its five conditions and keeps its delegations in flight."""

import pytest

from microturn.agent.bench import main


def test_bench_agent_runs_every_condition(capsys):
    pytest.importorskip("faster_whisper")
    out = main(["--preset", "tiny", "--ticks", "3", "--rounds", "1", "--threads", "1"])
    rows = out["conditions"]
    assert list(rows) == ["none", "linked", "hang", "hang x8", "hear x8"]
    assert all(r["n"] == 3 and 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"] for r in rows.values())
    assert rows["hang x8"]["in_flight_min"] == 8 and rows["hang"]["in_flight_min"] == 1
    assert rows["hear x8"]["in_flight_min"] == 8
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith('{"bench": "agent"')


def test_bench_agent_without_the_recogniser():
    out = main(["--preset", "tiny", "--ticks", "2", "--rounds", "1", "--threads", "1",
                "--no-hearing"])  # fmt: skip
    assert list(out["conditions"]) == ["none", "linked", "hang", "hang x8"]
