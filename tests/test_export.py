"""`microturn export`: a trained model's weights in bf16, loaded back into fp32 unchanged."""

import torch

from microturn.cli import main
from microturn.config import preset
from microturn.model import InteractionModel


def test_export_writes_bf16_weights_that_reload_exactly(tmp_path, capsys):
    torch.manual_seed(0)
    model = InteractionModel(preset("tiny"))
    model.save_pretrained(tmp_path / "src")
    main(["export", str(tmp_path / "src"), str(tmp_path / "dst")])
    assert capsys.readouterr().out.strip().endswith("max |fp32 reload - bf16| = 0.00e+00")
    back = InteractionModel.from_pretrained(tmp_path / "dst")
    src = (tmp_path / "src" / "model.safetensors").stat().st_size
    assert (tmp_path / "dst" / "model.safetensors").stat().st_size < 0.6 * src
    params = dict(model.named_parameters(remove_duplicate=False))  # tied: both names
    for name, b in model.state_dict().items():  # weights rounded to bf16, buffers as they were
        want = b.to(torch.bfloat16).float() if name in params else b
        assert torch.equal(back.state_dict()[name], want), name
