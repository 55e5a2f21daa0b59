"""The text tokenizer: a small byte-level BPE trained on the data engine's own language.

Trained with `tokenizers` on text sampled from every family generator of every split (the
data engine's `microturn.data.corpus`), and shipped as JSON in microturn/assets, so training
and serving agree without a download.
Specials come first, at fixed ids: <pad> 0 (nothing said in this slot), <unk>, <delegate>
(the model hands a request to the background model), <result> (a tool result begins on the
side-text channel), <bos>.

    python -m microturn.data.corpus   # retrain and rewrite microturn/assets/tokenizer.json
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

SPECIALS = ("<pad>", "<unk>", "<delegate>", "<result>", "<bos>")
PAD, UNK, DELEGATE, RESULT, BOS = range(len(SPECIALS))
VOCAB_SIZE = 1024
PATH = Path(__file__).parent / "assets" / "tokenizer.json"


class Tokenizer:
    """Words in, token ids out. One word never shares a token with its neighbours: each word
    is encoded on its own (with a leading space, byte-level), so words map to token runs."""

    def __init__(self, path: str | Path = PATH):
        from tokenizers import Tokenizer as _T

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no tokenizer (run `python -m microturn.data.corpus`)")
        self.tk = _T.from_file(str(path))
        for i, s in enumerate(SPECIALS):
            if self.tk.token_to_id(s) != i:
                raise ValueError(f"{path}: special {s!r} is not at id {i}")
        self.vocab_size = self.tk.get_vocab_size()

    @lru_cache(maxsize=65536)  # noqa: B019 - one tokenizer per process, words repeat a lot
    def word(self, w: str) -> tuple[int, ...]:
        """Token ids of one word (as if preceded by a space)."""
        return tuple(self.tk.encode(" " + w, add_special_tokens=False).ids)

    def encode(self, text: str) -> list[int]:
        return [i for w in text.split() for i in self.word(w)]

    def decode(self, ids: list[int]) -> str:
        return self.tk.decode([i for i in ids if i >= len(SPECIALS)]).strip()

    def piece(self, i: int) -> str:
        """One token's text as it joins the stream: a word's first token keeps its leading
        space, so pieces concatenate back into words; specials give their name."""
        return SPECIALS[i] if i < len(SPECIALS) else self.tk.decode([i])


def train(texts: Iterable[str], path: str | Path = PATH, vocab_size: int = VOCAB_SIZE) -> Path:
    """Train the BPE on `texts` (the data engine's `microturn.data.corpus`) and save it."""
    from tokenizers import Tokenizer as _T
    from tokenizers import decoders, models, pre_tokenizers, trainers

    tk = _T(models.BPE(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tk.train_from_iterator(texts, trainer=trainer)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tk.save(str(path))
    return path
