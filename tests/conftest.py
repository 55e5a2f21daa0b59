import shutil

import pytest
import torch

torch.set_num_threads(1)

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed"
)
