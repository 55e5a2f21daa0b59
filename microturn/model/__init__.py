"""The interaction model: fused embeddings (fusion), transformer layers, heads, and the model.

Files read top-down: `layers` (primitives and the block), `fusion` (input embeddings),
`heads` (text, transcript, flow-matching mel), `model` (assembly, checkpoints).
"""

from microturn.model.model import (
    FORMAT_VERSION,
    CheckpointError,
    InteractionModel,
    ModelInput,
    ModelOutput,
)

__all__ = ["FORMAT_VERSION", "CheckpointError", "InteractionModel", "ModelInput", "ModelOutput"]
