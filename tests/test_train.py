"""Training (`microturn.train`): the loss falls, a killed run resumes on the same trajectory,
two torchrun ranks match one process on the same global batch; the loader's plan, workers and
augmentation; the flags; the weighting of the losses."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from microturn.config import ConfigError, preset
from microturn.data.generate import Job, run
from microturn.train.args import build_parser, config_from_args
from microturn.train.loop import train

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("train_data")
    job = Job(
        "train",
        str(d),
        preset("tiny").to_dict(),
        per_shard=8,
        per_condition=3,
        families=("qa", "turn", "visual"),
    )
    run(job, workers=1, progress=False)
    return d


def cfg_for(*args):
    return config_from_args(build_parser().parse_args(["--data", "x", "--out", "y", *args]))


def rows(run_dir):
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines() if x]


def test_tiny_loss_falls_on_a_small_set(data, tmp_path):
    cfg = cfg_for("--preset", "tiny", "--steps", "60")
    train(cfg, str(data), str(tmp_path / "r"), progress=False)
    r = rows(tmp_path / "r")
    first = sum(x["loss"] for x in r[:5]) / 5
    last = sum(x["loss"] for x in r[-5:]) / 5
    assert last < 0.7 * first, (first, last)
    assert (tmp_path / "r" / "model" / "model.safetensors").exists()
    assert (tmp_path / "r" / "curves.png").exists()


def test_a_run_with_dev_logs_where_it_starts(data, tmp_path):
    """With --dev, step 0 of a run logs the dev losses of the weights it starts from (the
    --init model's, for a fine-tune), before any update."""
    from microturn.model import InteractionModel
    from microturn.tokenizer import Tokenizer
    from microturn.train.evaluate import DevSet

    base = tmp_path / "base"
    train(cfg_for("--preset", "tiny", "--steps", "20"), str(data), str(base), progress=False)
    cfg = cfg_for("--preset", "tiny", "--steps", "2", "--set", "eval_samples=6", "--no-bf16")
    ft = tmp_path / "ft"
    train(cfg, str(data), str(ft), dev=str(data), progress=False, init=str(base / "model"))
    r = rows(ft)
    assert [x["step"] for x in r] == [0, 1, 2] and "loss" not in r[0]
    devset = DevSet(str(data), cfg, Tokenizer())
    assert len(devset.idx) == 6
    ref = devset.evaluate(InteractionModel.from_pretrained(base / "model"))
    for k in ("dev_text", "dev_transcript", "dev_flow", "dev_flow_fed"):
        assert r[0][k] == pytest.approx(ref[k], abs=1e-4), k
    assert r[0]["dev_text"] != pytest.approx(r[2]["dev_text"], abs=1e-6)  # the run moved on
    assert (ft / "curves.png").exists()


def cli(*args):
    return [sys.executable, "-m", "microturn.train", "--quiet", "--threads", "1", *args]


def test_kill_9_and_resume_reproduces_the_curve(data, tmp_path):
    args = ["--preset", "tiny", "--data", str(data), "--steps", "40", "--set", "ckpt_every=5"]
    ref = tmp_path / "ref"
    subprocess.run(cli(*args, "--out", str(ref)), check=True, timeout=300)
    killed = tmp_path / "killed"
    p = subprocess.Popen(cli(*args, "--out", str(killed)))
    deadline = time.time() + 240
    while time.time() < deadline:
        m = killed / "metrics.jsonl"
        if m.exists() and len(m.read_text().splitlines()) >= 13:
            break
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL)
    assert p.wait() == -signal.SIGKILL
    ck = json.loads((killed / "ckpt" / "state.json").read_text())["step"]
    assert 5 <= ck < 40
    subprocess.run(cli(*args, "--out", str(killed)), check=True, timeout=300)
    a, b = rows(ref), rows(killed)
    assert [x["step"] for x in b] == list(range(1, 41))
    for x, y in zip(a, b, strict=True):
        for k in ("loss", "text", "transcript", "flow"):
            assert x[k] == y[k], (x["step"], k, x[k], y[k])


def test_torchrun_two_ranks_match_one_process(data, tmp_path):
    # fp32 and no flow term: the flow head's noise is drawn per rank, so with it on the two
    # runs see different noise (same distribution); everything else must agree.
    args = [
        "--preset",
        "tiny",
        "--data",
        str(data),
        "--steps",
        "4",
        "--no-bf16",
        "--set",
        "flow_weight=0",
        "--set",
        "ckpt_every=100",
    ]
    subprocess.run(cli(*args, "--out", str(tmp_path / "one")), check=True, timeout=300)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "microturn.train",
            "--quiet",
            *args,
            "--out",
            str(tmp_path / "two"),
        ],
        check=True,
        timeout=300,
        env=env,
    )
    a, b = rows(tmp_path / "one"), rows(tmp_path / "two")
    assert len(a) == len(b) == 4
    for x, y in zip(a, b, strict=True):
        for k in ("text", "transcript"):
            assert abs(x[k] - y[k]) <= 1e-4 * max(1.0, abs(x[k])), (x["step"], k, x[k], y[k])


def test_oversample_repeats_a_family_per_epoch(data):
    """`--set oversample=turn=3`: each turn sample comes 3x per epoch, the others once; the
    default plan is unchanged; a malformed value or an absent family is a clear error."""
    from collections import Counter

    from microturn.data.shards import ShardReader
    from microturn.tokenizer import Tokenizer
    from microturn.train.loader import Loader

    r, tok = ShardReader(data), Tokenizer()
    fam = [r.info(i).family for i in range(len(r))]
    base = cfg_for("--preset", "tiny", "--batch-size", "1")
    over = cfg_for("--preset", "tiny", "--batch-size", "1", "--set", "oversample=turn=3")
    plain, more = Loader(r, base, tok, seed=0)._order, Loader(r, over, tok, seed=0)._order
    seen = Counter(i for b in more for i in b)
    assert {seen[i] for i in range(len(r)) if fam[i] == "turn"} == {3}
    assert {seen[i] for i in range(len(r)) if fam[i] != "turn"} == {1}
    assert sorted(i for b in plain for i in b) == list(range(len(r)))
    with pytest.raises(ConfigError, match="oversample"):
        cfg_for("--preset", "tiny", "--set", "oversample=turn")
    with pytest.raises(ValueError, match="barge_in"):
        Loader(r, cfg_for("--preset", "tiny", "--set", "oversample=barge_in=2"), tok, seed=0)


def test_set_overrides_are_checked_together():
    """tiny's min_lr is 3e-4: lowering lr below it is fine once min_lr comes down too, in
    either order; a pair that really conflicts is still refused."""
    for sets in (["lr=2e-4", "min_lr=2e-5"], ["min_lr=2e-5", "lr=2e-4"]):
        t = cfg_for("--preset", "tiny", *(x for kv in sets for x in ("--set", kv))).train
        assert (t.lr, t.min_lr) == (2e-4, 2e-5)
    with pytest.raises(ConfigError, match="min_lr"):
        cfg_for("--preset", "tiny", "--set", "lr=2e-4")


def test_worker_collated_batches_are_the_same_batches(data):
    """`--workers N`: DataLoader processes collate ahead, in order, across epochs and a resume
    mid-epoch; every batch equals the one collated in the main process."""
    import torch

    from microturn.data.shards import ShardReader
    from microturn.tokenizer import Tokenizer
    from microturn.train.loader import Loader

    r, tok = ShardReader(data), Tokenizer()
    cfg = cfg_for("--preset", "tiny", "--batch-size", "4", "--set", "max_chunks=20")
    plain, ahead = Loader(r, cfg, tok, seed=3), Loader(r, cfg, tok, seed=3, workers=2)
    n = 2 * len(plain._order) + 3  # through two epoch boundaries

    def same(a, b):
        for f in ("dmel", "text", "pos", "text_target", "mel_target", "decide", "valid"):
            assert torch.equal(getattr(a, f), getattr(b, f)), f
        assert (a.patches is None) == (b.patches is None)
        if a.patches is not None:
            assert torch.equal(a.patches, b.patches)

    for k in range(n):
        if k == len(plain._order) // 2:  # resume mid-epoch from a saved cursor
            state = plain.state_dict()
            ahead = Loader(r, cfg, tok, seed=0, workers=2)
            ahead.load_state_dict(state)
        same(plain.next(), ahead.next())
    assert plain.epoch == ahead.epoch == 2


def test_augmentation_touches_only_the_users_audio_and_replays(data):
    """`augment`: the train loader's batches differ from the plain ones only in the user's dMel
    (input positions), the targets are untouched, and the same cursor gives the same batch."""
    import torch

    from microturn.data.layout import INPUT
    from microturn.data.shards import ShardReader
    from microturn.tokenizer import Tokenizer
    from microturn.train.loader import Loader

    r, tok = ShardReader(data), Tokenizer()
    cfg = cfg_for("--preset", "tiny", "--batch-size", "4", "--set", "augment=1")
    plain = Loader(r, cfg, tok, seed=5)
    aug, again = (Loader(r, cfg, tok, seed=5, augment=cfg.train.augment) for _ in range(2))
    a, b, c = plain.next(), aug.next(), again.next()
    for f in ("text", "pos", "text_target", "transcript_target", "mel_target", "decide"):
        assert torch.equal(getattr(a, f), getattr(b, f)), f
    user = (a.kind == INPUT) & a.valid
    assert torch.equal(a.dmel[~user], b.dmel[~user])  # the model's own voice: as recorded
    assert not torch.equal(a.dmel[user], b.dmel[user])
    assert torch.equal(b.dmel, c.dmel)


def tiny_batch(data):
    """A fresh tiny model (seeded) and the first batch of `data`."""
    import torch

    from microturn.data.shards import ShardReader
    from microturn.model import InteractionModel
    from microturn.tokenizer import Tokenizer
    from microturn.train.loader import Loader

    torch.manual_seed(0)
    cfg = cfg_for("--preset", "tiny", "--batch-size", "4", "--no-bf16")
    return InteractionModel(cfg).eval(), Loader(ShardReader(data), cfg, Tokenizer(), seed=0).next()


def text_term(model, b, setting: str) -> tuple[float, float]:
    """The text loss with `--set setting` -> (as `losses` computes it, as a cross-entropy
    weighted by hand: pad, decision, listen and delegate weights as the docs say)."""
    import torch
    import torch.nn.functional as F

    from microturn.tokenizer import DELEGATE, PAD
    from microturn.train.losses import losses, model_input

    c = cfg_for("--preset", "tiny", "--batch-size", "4", "--no-bf16", "--set", setting)
    with torch.no_grad():
        got = losses(model, b, c, torch.Generator().manual_seed(0)).parts["text"]
        logits = model(model_input(b)).text_logits.float()
    ce = F.cross_entropy(logits.transpose(1, 2), b.text_target.clamp_min(0), reduction="none")
    t = c.train
    w = torch.where(b.text_target == PAD, t.pad_weight, 1.0) * (b.text_target != -100)
    w = torch.where(b.decide, t.decision_weight, w)
    w = torch.where(b.listen & (b.text_target == PAD), t.listen_weight, w)
    w = torch.where(b.text_target == DELEGATE, w * t.delegate_weight, w)
    return got, float((ce * w).sum() / w.sum())


def test_listen_weight_weighs_the_silence_under_the_users_words(data):
    """`listen_weight` reaches the text loss through `layout.listen` only: the text term
    moves with it, and equals a hand-weighted cross-entropy."""
    model, b = tiny_batch(data)
    assert b.listen.any()
    for lw in (0.2, 3.0):
        got, want = text_term(model, b, f"listen_weight={lw}")
        assert got == pytest.approx(want, rel=1e-4), lw


def test_delegate_weight_weighs_the_hand_overs(data):
    """`delegate_weight` multiplies the text loss's weight of `<delegate>` targets (on top of
    the decision weight where the hand-over is a turn-taking decision) and no other's."""
    from microturn.tokenizer import DELEGATE, PAD

    model, b = tiny_batch(data)
    spoken = (b.text_target > PAD).nonzero()  # this data has no delegations: make some
    assert len(spoken) >= 2 and b.decide.any()
    for i, j in spoken[::2].tolist():
        b.text_target[i, j] = DELEGATE
    decided = b.decide.nonzero()[0].tolist()
    b.text_target[decided[0], decided[1]] = DELEGATE  # one at a decision
    texts = []
    for dw in (1.0, 3.0):
        got, want = text_term(model, b, f"delegate_weight={dw}")
        assert got == pytest.approx(want, rel=1e-4), dw
        texts.append(got)
    assert texts[0] != texts[1]  # the hand-overs weigh more: the mean moves


def test_a_fine_tune_may_start_the_phone_stream_from_a_model_without_it(data, tmp_path):
    """--init from a model without phones (n_phones=0) into one with them: every old weight
    carried over, the phone weights start at zero, so step 0's dev text and flow losses are the
    old model's."""
    import dataclasses

    from microturn.model import InteractionModel

    cfg = cfg_for("--preset", "tiny", "--steps", "2", "--set", "eval_samples=6", "--no-bf16")
    old_cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, n_phones=0))
    InteractionModel(old_cfg).save_pretrained(tmp_path / "old")
    train(cfg, str(data), str(tmp_path / "ft"), dev=str(data), progress=False,
          init=str(tmp_path / "old"))  # fmt: skip
    r = rows(tmp_path / "ft")
    assert r[0]["step"] == 0 and "dev_phone" in r[0]
    new = InteractionModel.from_pretrained(tmp_path / "ft" / "model")
    assert new.cfg.model.n_phones == cfg.model.n_phones
    assert new.phone_embed.weight.abs().sum() > 0  # the stream was trained


def test_train_only_moves_the_named_parameters_alone(data, tmp_path):
    """train_only=flow,phone_now: the flow head (and the phones it hears) learn, the rest of
    the model stays as it started; a prefix that names nothing is an error."""
    import dataclasses

    import torch

    from microturn.model import InteractionModel
    from microturn.train.optim import make_optimizer

    cfg = cfg_for(
        "--preset", "tiny", "--steps", "3", "--no-bf16", "--set", "train_only=flow,phone_now"
    )
    start = InteractionModel(cfg)
    start.save_pretrained(tmp_path / "start")
    train(cfg, str(data), str(tmp_path / "r"), progress=False, init=str(tmp_path / "start"))
    end = InteractionModel.from_pretrained(tmp_path / "r" / "model").state_dict()
    for name, before in start.state_dict().items():
        moved = not torch.equal(before, end[name])
        assert moved == name.startswith(("flow", "phone_now")), name
    bad = dataclasses.replace(cfg.train, train_only="nothing")
    with pytest.raises(ValueError, match="names no parameter"):
        make_optimizer(InteractionModel(cfg), bad)


def test_keep_holds_when_to_speak_and_leaves_which_piece_free(data, tmp_path):
    """keep_term: zero when the student's speak-or-pad split is the teacher's, however the
    pieces share it; positive otherwise. A fine-tune with keep > 0 starts at zero (the student
    is its --init), then measures a drift; keep without --init is an error."""
    import torch

    from microturn.model import InteractionModel
    from microturn.tokenizer import PAD
    from microturn.train.losses import keep_term

    g = torch.Generator().manual_seed(0)
    teacher = torch.randn(2, 5, 16, generator=g)
    valid = torch.ones(2, 5)
    assert keep_term(teacher, teacher, valid).item() == pytest.approx(0.0, abs=1e-6)
    pieces = teacher.clone()  # the same mass on "a piece", shared out differently
    p = pieces.softmax(-1)
    speak = 1 - p[..., PAD]
    share = torch.rand(2, 5, 15, generator=g)
    share = share / share.sum(-1, keepdim=True) * speak[..., None]
    pieces = p.clone()
    pieces[..., torch.arange(16) != PAD] = share
    pieces = pieces.log()
    assert keep_term(pieces, teacher, valid).item() == pytest.approx(0.0, abs=1e-5)
    louder = teacher.clone()
    louder[..., PAD] -= 3.0  # more eager to speak than its teacher
    assert keep_term(louder, teacher, valid).item() > 0.1
    assert keep_term(louder, teacher, torch.zeros(2, 5)).item() == 0.0

    cfg = cfg_for("--preset", "tiny", "--steps", "3", "--no-bf16", "--set", "keep=1.0",
                  "--set", "lr=0.01", "--set", "warmup=0")  # fmt: skip
    InteractionModel(cfg).save_pretrained(tmp_path / "start")
    train(cfg, str(data), str(tmp_path / "r"), progress=False, init=str(tmp_path / "start"))
    keep = [r["keep"] for r in rows(tmp_path / "r")]
    assert keep[0] == pytest.approx(0.0, abs=1e-6) and keep[-1] > 0, keep
    with pytest.raises(ValueError, match="give --init"):
        train(cfg, str(data), str(tmp_path / "r2"), progress=False)
