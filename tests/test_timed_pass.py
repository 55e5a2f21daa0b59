import json
import shutil

import pytest
import torch

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


def test_timed_pass_makes_fresh_shards_and_exports_the_checkpoint_it_was_killed_at(tmp_path):
    from microturn.data.shards import ShardReader
    from microturn.model import InteractionModel
    from microturn.train.checkpoint import checkpoint_dir, checkpoint_step
    from scripts.timed_pass import main

    out = tmp_path / "pass"
    main([
        "--out", str(out), "--preset", "tiny", "--synth-s", "15", "--end-s", "50",
        "--steps", "5000", "--batch-size", "2", "--workers", "2", "--per-shard", "2",
        "--dev-per-condition", "1", "--turn-from", "7", "--all-from", "40",
        "--set", "ckpt_every=2", "--set", "eval_every=1000", "--set", "max_chunks=20",
        "--set", "warmup=1", "--variant", "b:lr=2e-4", "--variant", "b:min_lr=2e-5",
    ])  # fmt: skip
    res = json.loads((out / "pass.json").read_text())
    assert res["killed_at_deadline"] and 2 <= res["step"] < 5000 and res["step"] % 2 == 0
    assert res["half_step"] is None  # 2,500 steps were never reached
    data = out / "data"
    turn = sorted(p.name for p in (data / "turn").glob("shard-*.json"))
    assert turn and turn[0] == "shard-00007.json"  # fresh: numbered from --turn-from
    assert all(int(p.stem.split("-")[1]) >= 40 for p in (data / "all").glob("shard-*.json"))
    assert res["data"]["turn"][0] == len(turn)
    assert len(ShardReader(data / "dev")) == res["data"]["dev"][1] > 0  # all of dev, always
    ck = checkpoint_dir(out / "run")
    assert checkpoint_step(ck) == res["step"]
    model = InteractionModel.from_pretrained(out / "model")
    trained = InteractionModel.from_pretrained(ck / "model")
    pairs = zip(model.parameters(), trained.parameters(), strict=True)
    for a, b in pairs:  # the bf16 export of the checkpoint it was killed at
        torch.testing.assert_close(a, b.to(torch.bfloat16).float(), rtol=0, atol=0)
    # variant b trained side by side, on the same data, with its own settings on top of --set
    vb = res["variants"]["b"]
    assert vb["killed_at_deadline"] and vb["step"] >= 2 and vb["step"] % 2 == 0
    cfg_b = json.loads((out / "b" / "run" / "config.json").read_text())["train"]
    cfg_a = json.loads((out / "run" / "config.json").read_text())["train"]
    assert (cfg_b["lr"], cfg_b["min_lr"], cfg_b["warmup"]) == (2e-4, 2e-5, 1)
    assert cfg_a["lr"] != 2e-4
    ck_b = checkpoint_dir(out / "b" / "run")
    assert checkpoint_step(ck_b) == vb["step"]
    model_b = InteractionModel.from_pretrained(out / "b" / "model")
    trained_b = InteractionModel.from_pretrained(ck_b / "model")
    for a, b in zip(model_b.parameters(), trained_b.parameters(), strict=True):
        torch.testing.assert_close(a, b.to(torch.bfloat16).float(), rtol=0, atol=0)


@pytest.mark.parametrize("bad", ["b:lr=abc", "b:nope=1", "model:lr=1e-3"])
def test_a_bad_variant_fails_before_any_synthesis(tmp_path, bad):
    from scripts.timed_pass import main

    out = tmp_path / "pass"
    with pytest.raises(SystemExit) as e:
        main(["--out", str(out), "--synth-s", "60", "--end-s", "90", "--steps", "10",
              "--variant", bad])  # fmt: skip
    assert str(e.value)  # a message, not a bare exit code
    assert not out.exists()
