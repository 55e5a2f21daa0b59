"""Evaluating a checkpoint: the turn-taking probe, layer read-outs, docs samples, offline ASR."""
