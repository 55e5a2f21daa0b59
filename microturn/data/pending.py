"""The pending result: the pieces of the newest side text that the model has not said yet.

A tool result enters the model's input as side text, one piece per input slot, at the time it
arrives. Saying it later means copying it back from far behind in the context, which the small
model never learned (a diagnostic: blanking all side text changed none of its likeliest text
pieces, docs/LOG.md). So each output position also reads the *next piece it has not said* of
the newest result (PAD when there is none): the copy becomes local, and the model still
decides when to say it. The rule is the same in training (`data/layout.py`) and in the
runtime (`runtime/engine.py`), one step at a time:

    read(token)  side text read at an input slot: <result> starts a new pending result (the
                 newest replaces what was left of an older one), a piece joins it
    said(token)  the model said a token: the pending piece, if it is that one, is done

A result's pieces that the model says before they are pending (a value it guessed) are not
matched back: the pointer only moves forward from where the result began.
"""

from __future__ import annotations

from dataclasses import dataclass

from microturn.tokenizer import PAD, RESULT


@dataclass(frozen=True)
class Pending:
    pieces: tuple[int, ...] = ()  # the newest result's pieces, in order
    done: int = 0  # how many of them the model has said

    @property
    def next(self) -> int:
        """The next piece to say, or PAD."""
        return self.pieces[self.done] if self.done < len(self.pieces) else PAD

    def read(self, token: int) -> Pending:
        if token == RESULT:
            return Pending()
        if token == PAD:
            return self
        return Pending((*self.pieces, token), self.done)

    def said(self, token: int) -> Pending:
        if token != PAD and token == self.next:
            return Pending(self.pieces, self.done + 1)
        return self
