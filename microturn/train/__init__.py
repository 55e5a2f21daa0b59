"""Training: a plain loop, single process or `torchrun` data-parallel (gloo on CPU, NCCL on GPU).

    microturn train --preset small --data data/train --dev data/dev --out runs/small
    torchrun --nproc_per_node 2 -m microturn.train --preset tiny --data ... --out ...

AdamW, linear warmup + cosine to min_lr, grad clipping, bf16 autocast (losses in fp32).
Losses: text CE at output positions (pad targets down-weighted, turn-taking decision positions
up-weighted: `layout.decide`; silence under the user's words: `layout.listen`, `listen_weight`),
flow-matching loss on the next slot's mel at output positions, phone-stream CE at output
positions (the head given the true text token; silence frames at the pad weight), transcript
CE at input positions, MoE balance. With `augment` > 0 the train loader perturbs each sample's
user dMel, with `own_noise` > 0 the model's own dMel input (`data/augment.py`); with
`self_feed` > 0 that share of the own-dMel inputs is what the model itself said there
(`self_feed.py`: a pass without gradients, the flow head sampled as the runtime samples it).
With `keep` > 0 (a fine-tune from `--init`) a KL term holds the init model's choice between
saying nothing and saying a piece at every text position, so the text can learn *what* to
say while *when* stays where the init model had it (`losses.keep_term`).

Every term is a *global* mean: each rank sums its share, token counts are all-reduced, so two
ranks with half the batch each give the same gradient as one process with all of it.

Checkpoints (`RUN/ckpt/`) hold weights, optimizer moments, step, the data cursor and every RNG
state, as safetensors + JSON (no pickle), written to a temp dir and renamed: a run killed with
`kill -9` resumes from the last one and continues the same trajectory.

    loader.py      seeded, length-bucketed global batches; a cursor that resumes
    losses.py      the global-mean losses; bf16 autocast where it is native
    self_feed.py   the model's own voice as its history (parallel scheduled sampling)
    optim.py       AdamW with decay on matrices only; warmup + cosine learning rate
    checkpoint.py  save / find / load a resumable checkpoint
    evaluate.py    dev losses on a fixed spread of dev samples
    metrics.py     metrics.jsonl (cut back to a resumed checkpoint) and curves.png
    loop.py        `train`: the loop that ties them together
    args.py        the command line: flags -> Config, `main`
    export.py      a trained model -> a shippable bf16 checkpoint
    throughput.py  `microturn bench train`: tokens/s and MFU of a full step
"""
