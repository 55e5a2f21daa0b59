"""Dev losses during training: the training losses on a fixed spread of a dev split, on the
recorded history, and the flow loss once more with the model hearing its own voice."""

from __future__ import annotations

from dataclasses import replace

import torch

from microturn.config import Config
from microturn.data.shards import ShardReader
from microturn.model import InteractionModel
from microturn.tokenizer import Tokenizer
from microturn.train.loader import Loader, to_device
from microturn.train.losses import losses


class DevSet:
    """`eval_samples` samples spread evenly over a dev split, laid out as for training (no
    augmentation), scored with the same flow noise each time: on the recorded history, and
    (`dev_flow_fed`) the flow loss with every own-dMel input the model's own voice
    (`self_feed.py`, share 1): how well it voices what comes next after hearing itself."""

    def __init__(self, data: str, cfg: Config, tok: Tokenizer):
        reader = ShardReader(data)
        self.cfg = replace(cfg, train=replace(cfg.train, self_feed=0.0))
        self.fed = replace(cfg, train=replace(cfg.train, self_feed=1.0, self_feed_passes=1))
        self.loader = Loader(reader, cfg, tok, seed=0)
        n, k = len(reader), cfg.train.eval_samples
        self.idx = list(range(0, n, max(1, n // k)))[:k]

    @torch.no_grad()
    def evaluate(self, model: InteractionModel) -> dict:
        """{"dev_text", "dev_transcript", "dev_flow", "dev_aux", "dev_flow_fed"} (and
        "dev_phone" with a phone stream): each loss term averaged over the batches of the dev
        samples (this process alone: no all-reduce)."""
        model.eval()
        device = next(model.parameters()).device
        gen = torch.Generator(device).manual_seed(1234)  # the same noise each time
        gen_fed = torch.Generator(device).manual_seed(4321)  # ... and its own for the fed pass
        acc: dict[str, float] = {}
        bs = self.cfg.train.batch_size
        n = 0
        for a in range(0, len(self.idx), bs):
            b = to_device(self.loader.collate(self.idx[a : a + bs]), device)
            ls = losses(model, b, self.cfg, gen, distributed=False)
            fed = losses(model, b, self.fed, gen_fed, distributed=False)
            for k, v in {**ls.parts, "flow_fed": fed.parts["flow"]}.items():
                acc[k] = acc.get(k, 0.0) + v
            n += 1
        model.train()
        return {f"dev_{k}": round(v / max(n, 1), 5) for k, v in acc.items()}
