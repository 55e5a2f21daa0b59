"""`microturn eval text`: the text head's next piece on the recorded history, by family and by
part of a delegation; paired against a second model."""

import json
import shutil

import numpy as np
import pytest
import torch

from microturn.config import preset
from microturn.data.generate import Job, run
from microturn.eval.text import main, parts, score, summarize
from microturn.model import InteractionModel
from microturn.tokenizer import Tokenizer

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("text_data")
    job = Job("dev", str(d), preset("tiny").to_dict(), per_shard=4, per_condition=2,
              families=("delegate", "refusal"))  # fmt: skip
    run(job, workers=1, progress=False)
    return d


def test_a_delegation_splits_into_acknowledgement_reply_and_woven_result():
    from microturn.data.families import make_scenario

    tok = Tokenizer()
    for i in range(4):
        tl = make_scenario("delegate", "delegate", "dev", i)
        model = tl.on("model")
        n = sum(len(tok.encode(e.text)) for e in model)
        got = parts(tl, tok, n)
        ack = sum(len(tok.encode(e.text)) for e in model if e.kind == "ack")
        assert got[:ack] == ["delegate/ack"] * ack and ack > 0
        side = tl.on("side_text")[0].text
        ids = [tok.encode(e.text) for e in model]
        flat = [x for seq in ids for x in seq]
        copied = [x for x, part in zip(flat, got, strict=True) if part == "delegate/result"]
        assert tok.decode(copied).strip() == side  # the tool's words, as they came
        assert "delegate/reply" in got
    assert parts(tl, tok, 3) == got[:3]  # a cropped sample: its first pieces


def test_a_question_is_split_by_what_its_answer_takes():
    from microturn.data.families import make_scenario
    from microturn.data.language.questions import knowledge

    tok, seen = Tokenizer(), set()
    for i in range(12):
        tl = make_scenario("qa", "ask", "dev", i)
        needs = knowledge(tl.meta["templates"][0])[1]
        assert parts(tl, tok, 4) == [f"qa/{needs}"] * 4
        seen.add(needs)
    assert len(seen) >= 2


def test_counts_follow_the_layout_and_a_model_against_itself_is_zero(data):
    torch.manual_seed(0)
    model = InteractionModel(preset("tiny"))
    rows = score(model, str(data))
    assert {r["family"] for r in rows} == {"delegate", "refusal"}
    res = summarize(rows, rows)
    assert res["all"]["pieces"] == sum(sum(r["pieces"].values()) for r in rows) > 0
    assert res["delegate"]["pieces"] == sum(
        res[g]["pieces"] for g in ("delegate/ack", "delegate/reply", "delegate/result") if g in res
    )
    assert res["delegate/result"]["pieces"] > 0
    for g in res.values():
        assert 0 <= g["share"] <= 1 and 0 <= g["speak_at_pads"] <= 1
        assert g["delta"] == 0 and g["ci"] == [0, 0]


def test_a_head_with_every_logit_tied_is_right_exactly_at_the_first_piece(data):
    """All text logits zero: the likeliest piece is the first non-pad id (argmax takes the
    first of ties), so the share counts exactly the targets that are that id, and the head
    speaks with probability 1 - 1/vocab everywhere."""
    from microturn.data.shards import ShardReader
    from microturn.train.loader import Loader

    torch.manual_seed(0)
    model = InteractionModel(preset("tiny"))
    with torch.no_grad():
        model.text_head.proj.weight.zero_()
    rows = score(model, str(data))
    reader = ShardReader(str(data))
    b = Loader(reader, model.cfg, Tokenizer(), seed=0).collate(list(range(len(reader))))
    res = summarize(rows)
    assert res["all"]["right"] == int((b.text_target == 1).sum())
    vocab = model.cfg.model.vocab_size
    for g in ("all", "delegate/result", "refusal"):
        assert res[g]["speak_at_pads"] == pytest.approx(1 - 1 / vocab, abs=1e-4), g
        assert res[g]["speak_at_pieces"] == pytest.approx(1 - 1 / vocab, abs=1e-4), g


def test_the_command_prints_a_table_and_a_json_line(data, tmp_path, capsys):
    torch.manual_seed(1)
    a = InteractionModel(preset("tiny"))
    a.save_pretrained(tmp_path / "a")
    torch.manual_seed(2)
    InteractionModel(preset("tiny")).save_pretrained(tmp_path / "b")
    main(["--model", str(tmp_path / "a"), "--data", str(data), "--against", str(tmp_path / "b")])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("| group | pieces right")
    j = json.loads(out[-1])
    assert set(j["groups"]) >= {"all", "delegate", "refusal", "delegate/result"}
    lo, hi = j["groups"]["all"]["ci"]
    assert lo <= j["groups"]["all"]["delta"] <= hi and np.isfinite([lo, hi]).all()
