import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def turn_data(tmp_path_factory):
    """A dev split of the turn family only, 4 scenarios a side (tiny preset's features)."""
    from microturn.config import preset
    from microturn.data.generate import Job, run

    d = tmp_path_factory.mktemp("probe_data")
    job = Job("dev", str(d), preset("tiny").to_dict(), per_shard=4, per_condition=4,
              families=("turn",))  # fmt: skip
    run(job, workers=1, progress=False)
    return str(d)


@pytest.fixture(scope="session")
def delegate_data(tmp_path_factory):
    """A test split of the delegation family (T7) with audio, 3 scenarios a side."""
    from microturn.config import preset
    from microturn.data.generate import Job, run

    d = tmp_path_factory.mktemp("delegate_data")
    job = Job("test", str(d), preset("tiny").to_dict(), per_shard=6, audio=True,
              per_condition=3, families=("delegate",))  # fmt: skip
    run(job, workers=1, progress=False)
    return str(d)


@pytest.fixture(scope="session")
def deaf_model():
    """The tiny model with a silent transcript head: a test says what its transcript holds."""
    from microturn.config import preset
    from microturn.model import InteractionModel

    torch.manual_seed(0)
    m = InteractionModel(preset("tiny")).eval()
    with torch.no_grad():
        for p in m.transcript_head.parameters():
            p.zero_()
    return m
