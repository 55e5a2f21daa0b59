"""The audio path: waveform <-> log-mel <-> dMel, flow-head sampling, and the vocoder.

Files read top-down: `mel` (filterbank, causal log-mel, dMel codes), `flow` (Euler sampling of
the flow head), `vocoder` (log-mel -> waveform, offline and streaming), `roundtrip` (what the
codes and the vocoder cost: `microturn bench vocoder`). Streaming state is explicit and owned
by the caller: `state = x.init_state(...)`, `out, state = x.step(inp, state)`; a step never
modifies the state it is given, so a session snapshots by keeping (a clone of) it.
"""
