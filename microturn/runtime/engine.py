"""The engine: steps every live session by one 200 ms micro-turn, all sessions batched.

A tick reads each running session's next input chunk and writes the 200 ms it will say next:

    call 1  rows 0..4   the chunk's 4 input slots (user dMel, side text) + output slot 0
    call 2  row 5       output slot 1 (its inputs: the token and mel sampled at row 4)
    call 3  row 6       ...
    call 4  row 7

Each output row samples a text token (temperature, top-k), chooses the phones of the slot
`phone_lead` ahead (argmax, given that token) and samples the slot's mel (flow head, Euler
steps), each session with its own seeded generators; token, phones and mel re-enter at the
next row (the model hears itself), and the chunk's 8 frames go through the session's
streaming vocoder (by default the learned one, `voice/learned.py`; all sessions in one call).
Shapes are static: all N slots run every call, and the exec mask keeps idle slots' caches
untouched. Host syncs: the per-session sampling loop reads sampled ids (`.item()`) to place
events and detect delegations; everything else stays in tensors.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from microturn.data.layout import chunk_rows
from microturn.grid import Grid
from microturn.model import InteractionModel, ModelInput
from microturn.model.fusion import patchify
from microturn.model.invariant import pad_rows
from microturn.runtime.cache import KVCache
from microturn.runtime.events import Delegation, ModelText, UserText
from microturn.runtime.pronunciation import PACE, lexicon_pronouncer
from microturn.runtime.session import DITHER_DB, REPLY_GAP, Sampling, Session
from microturn.runtime.words import ROOT, lexicon_words
from microturn.tokenizer import DELEGATE, PAD, SPECIALS, Tokenizer
from microturn.voice.flow import flow_noise, sample_flow
from microturn.voice.learned import load_vocoder
from microturn.voice.mel import MelAnalyzer
from microturn.voice.vocoder import Vocoder


class Engine:
    def __init__(
        self,
        model: InteractionModel,
        slots: int = 1,
        invariant: bool = True,
        vocoder: Vocoder | None = None,
    ):
        self.model = model.eval()
        self.cfg = model.cfg
        self.grid = Grid(self.cfg.grid)
        self.analyzer = MelAnalyzer(self.cfg)
        self.vocoder = vocoder or load_vocoder(self.cfg, None)
        self.tok = Tokenizer()
        self.invariant = invariant
        # sinks + window from the model's config (ModelConfig.sink_chunks / window_chunks)
        self.cache = KVCache(self.cfg, slots, invariant)
        self.sessions: dict[int, Session] = {}
        t = self.cfg.train
        self.text_lead, self.transcript_lag = t.text_lead, t.transcript_lag
        self.P = self.grid.positions_per_chunk  # slots per chunk (4)
        self.fpp = self.cfg.grid.frames_per_position
        self.slot_s = self.grid.slot_s
        # a chunk's rows as training lays them out: kind (2P,), RoPE offsets (2P,)
        self.kind_row, self.pos_row = map(torch.from_numpy, chunk_rows(self.P))

    # --- sessions --------------------------------------------------------------------------
    def open(self, id: str = "", seed: int = 0, sampling: Sampling | None = None) -> Session:
        free = [i for i in range(self.cache.slots) if i not in self.sessions]
        if not free:
            raise RuntimeError(f"all {self.cache.slots} session slots are busy")
        slot = free[0]
        self.prepare(sampling)
        self.cache.reset(slot)
        s = Session.open(
            id or f"s{slot}", slot, seed, self.analyzer, self.vocoder, sampling,
            self.cfg.train.phone_lead,
        )  # fmt: skip
        self.sessions[slot] = s
        return s

    @staticmethod
    def prepare(sampling: Sampling | None) -> None:
        """Build the tables these settings use (once per process, 1.3 s), so that no tick
        builds them."""
        if sampling is not None and (sampling.lexicon or sampling.pronounce):
            lexicon_words()
            if sampling.pronounce:
                lexicon_pronouncer()

    def close(self, s: Session) -> None:
        self.sessions.pop(s.slot, None)
        self.cache.reset(s.slot)

    def snapshot(self, s: Session) -> dict:
        """The session's cache row and state; `restore` rewinds it there (queued input kept)."""
        return {"cache": self.cache.snapshot(s.slot), "session": s.state()}

    def restore(self, s: Session, snap: dict) -> None:
        self.cache.restore(s.slot, snap["cache"])
        s.set_state(snap["session"])

    # --- one tick --------------------------------------------------------------------------
    @torch.no_grad()
    def step(self) -> list[Session]:
        """Advance every session that has an input chunk queued; returns those sessions."""
        N, P, fpp, n_mels = self.cache.slots, self.P, self.fpp, self.cfg.mel.n_mels
        live = [s for s in self.sessions.values() if s.audio_in]
        if not live:
            return []
        run = torch.zeros(N, dtype=torch.bool)
        run[[s.slot for s in live]] = True
        dmel, text, base = self._heard(live)
        pending = torch.full((N, 2 * P), PAD, dtype=torch.long)
        phones = torch.zeros(N, 2 * P, fpp, dtype=torch.long)
        patches, patch_mask = self._video(live)
        kind = self.kind_row.expand(N, -1)
        pos = base[:, None] + self.pos_row  # input slots 4k.., output slots 4k+4..
        dmel_mask = torch.ones(N, 2 * P, dtype=torch.bool)
        logmel = torch.zeros(N, P, fpp, n_mels)
        for j in range(P):  # output slot j, at row P + j: its inputs are what slot j-1 said
            for s in live:
                dmel[s.slot, P + j] = s.stream.own_dmel
                text[s.slot, P + j] = s.stream.own_token
                pending[s.slot, P + j] = s.stream.pending.next
                phones[s.slot, P + j] = s.stream.own_phones[-1]
            a, b = (0, P + 1) if j == 0 else (P + j, P + j + 1)
            vid = (patches[:, a:b], patch_mask[:, a:b]) if patches is not None else (None, None)
            rows = ModelInput(
                dmel[:, a:b],
                dmel_mask[:, a:b],
                text[:, a:b],
                kind[:, a:b],
                pos[:, a:b],
                *vid,
                phones=phones[:, a:b],
                pending=pending[:, a:b],
            )
            h = self.model(rows, cache=self.cache, run=run, heads=False).hidden
            if j == 0:
                self._transcript(h[:, :P], live, base)
            logmel[:, j], logits = self._speak(h[:, -1], pending[:, P + j], live, base + P + j)
            for s in (s for s in live if s.speak is not None):
                t = self._slot_t(int(base[s.slot]) + P + j)
                s.speak.append((t, 1.0 - float(torch.softmax(logits[s.slot], -1)[PAD])))
            for s in (s for s in live if s.record):
                i = s.slot
                s.trace.append(
                    {
                        "dmel": dmel[i, a:b].clone(),
                        "text": text[i, a:b].clone(),
                        "phones": phones[i, a:b].clone(),
                        "pending": pending[i, a:b].clone(),
                        "kind": kind[i, a:b].clone(),
                        "pos": pos[i, a:b].clone(),
                        "hidden": h[i].clone(),
                        "logits": logits[i].clone(),
                    }
                )
        chunk = logmel[[s.slot for s in live]].reshape(len(live), P * fpp, n_mels)
        audio, states = self.vocoder.step_many(chunk, [s.stream.vocoder for s in live])  # one GL
        for s, a, st, m in zip(live, audio, states, chunk, strict=True):
            if s.mel_out is not None:
                s.mel_out.append(m.clone())
            s.stream.vocoder = st
            s.audio_out.append(a.numpy())
            s.stream.chunk += 1
        return live

    def _heard(self, live: list[Session]):
        """Each live session's next chunk at its input rows -> dmel (N, 8, fpp, n_mels) uint8
        (user audio, dithered as in training), text (N, 8) (side text), base (N,) the chunk's
        first slot number; the output rows are left for the calls to fill."""
        N, P, fpp, n_mels = self.cache.slots, self.P, self.fpp, self.cfg.mel.n_mels
        dmel = torch.zeros(N, 2 * P, fpp, n_mels, dtype=torch.uint8)
        text = torch.full((N, 2 * P), PAD, dtype=torch.long)
        base = torch.zeros(N, dtype=torch.long)
        for s in live:
            chunk = s.audio_in.popleft()
            if s.heard is not None:
                s.heard.append(chunk)
            x = torch.from_numpy(chunk)
            x = x + 10 ** (DITHER_DB / 20) * torch.from_numpy(
                s.stream.gen_dither.standard_normal(len(x)).astype(np.float32)
            )
            lm, s.stream.mel = self.analyzer.step(x, s.stream.mel)
            dmel[s.slot, :P] = self.analyzer.quantize(lm).view(P, fpp, n_mels)
            side = s.next_side_tokens(P)
            text[s.slot, :P] = torch.tensor(side)
            for k in side:
                s.stream.pending = s.stream.pending.read(k)
            base[s.slot] = s.stream.chunk * P
        return dmel, text, base

    def _video(self, live: list[Session]):
        """One frame per chunk -> its patches at the 4 input rows (row-major), or None."""
        if not any(s.video_in for s in live):
            return None, None
        N, P, ps = self.cache.slots, self.P, self.cfg.grid.patch
        patches = torch.zeros(N, 2 * P, 3, ps, ps)
        mask = torch.zeros(N, 2 * P, dtype=torch.bool)
        for s in live:
            if s.video_in:
                fr = torch.from_numpy(np.array(s.video_in.popleft(), np.uint8))  # a writable copy
                patches[s.slot, :P] = patchify(fr.permute(2, 0, 1).float() / 255.0, ps)
                mask[s.slot, :P] = bool(fr.any())  # a black frame: the camera is off
        return patches, mask

    def _transcript(self, h: torch.Tensor, live: list[Session], base: torch.Tensor) -> None:
        """User transcript at the input rows (argmax; a token names a word `lag` slots late)."""
        N, r, d = h.shape
        hp, n = pad_rows(h.reshape(N * r, d), self.invariant)
        ids = self.model.transcript_head(hp)[:n].argmax(-1).view(N, r)
        for s in live:
            for j, k in enumerate(ids[s.slot].tolist()):  # host sync: events
                if k >= len(SPECIALS):
                    t = (int(base[s.slot]) + j - self.transcript_lag) * self.slot_s
                    s.events.append(UserText(round(max(t, 0.0), 3), self.tok.piece(k)))

    def _speak(self, h: torch.Tensor, pending: torch.Tensor, live: list[Session], slots):
        """h (N, d) at an output row, the pending pieces it read (N,), slots (N,) the slot each
        row speaks for -> (log10 mel (N, fpp, n_mels), text logits (N, vocab)); what each
        session said goes into its stream (the next row's inputs) and its events."""
        hp, n = pad_rows(h, self.invariant)
        logits = self.model.text_logits(hp, pad_rows(pending, self.invariant)[0])[:n].float()
        chosen = torch.full((hp.shape[0],), PAD, dtype=torch.long)
        for s in live:
            slot = int(slots[s.slot])
            k = self._token(s, logits[s.slot], slot)
            s.stream.own_token = chosen[s.slot] = k
            s.stream.pending = s.stream.pending.said(k)
            if k != PAD:
                self._said(s, k, self._slot_t(slot))
        # the phones of the slot voiced and of the phone_lead slots after it
        now = torch.zeros(hp.shape[0], self.cfg.train.phone_lead + 1, self.fpp, dtype=torch.long)
        if self.cfg.model.n_phones:
            scores = self.model.phone_logits(hp, chosen)  # (rows, fpp, n_phones)
            phones = scores.argmax(-1)  # (rows, fpp)
            for s in live:
                past = s.stream.own_phones  # (phone_lead, fpp): chosen phone_lead rows ago ..
                new = self._scripted_phones(s, int(slots[s.slot]))
                if new is None and s.sampling.pronounce:  # along its words' phonemes
                    s.stream.phone_walk, ids = lexicon_pronouncer().choose(
                        s.stream.phone_walk, scores[s.slot].float()
                    )
                    new = torch.tensor(ids)
                new = phones[s.slot] if new is None else new
                now[s.slot] = torch.cat([past, new[None]])  # .. is this slot's, .., just chosen
                s.stream.own_phones = now[s.slot, 1:].clone()
        logmel = self._mel(hp, live, now)
        for s in live:
            own = logmel[s.slot]
            lm = self._scripted_audio(s, int(slots[s.slot]))
            if lm is not None:  # teacher-forced history: it hears the script's frames ...
                own = lm
                if not s.script.get("head_audio", False):  # ... and says them, by default
                    logmel[s.slot] = lm
            s.stream.own_dmel = self.analyzer.quantize(own)
        return logmel, logits

    def _scripted_audio(self, s: Session, slot: int) -> torch.Tensor | None:
        """The script's log-mel frames (fpp, n_mels) of this slot, if it scripts audio."""
        if s.script is None or "logmel" not in s.script:
            return None
        f = slot * self.fpp
        lm = torch.as_tensor(s.script["logmel"][f : f + self.fpp], dtype=torch.float32)
        return lm if len(lm) == self.fpp else None

    def _scripted_phones(self, s: Session, slot: int) -> torch.Tensor | None:
        """The script's phones (fpp,) for this slot's row (those of slot + phone_lead), if it
        scripts phones."""
        if s.script is None or "phones" not in s.script:
            return None
        ph = s.script["phones"]
        return torch.as_tensor(ph[slot], dtype=torch.long) if slot < len(ph) else None

    def _token(self, s: Session, logits: torch.Tensor, slot: int) -> int:
        """The session's next text token: its script's, or sampled with its settings (from
        the pieces that keep its words words, with `Sampling.lexicon`); the lexicon's walk
        and the phone walk follow it when the session uses them."""
        st, sp = s.stream, s.sampling
        walk = sp.lexicon or sp.pronounce
        within = st.quiet < REPLY_GAP  # a reply under way: its next word has its own threshold
        owed = st.pending.next  # a result read and not yet said: its next piece (PAD: none)
        # the session's own trie once side text added words; none built for a session that
        # does not walk one
        words = (st.words or lexicon_words()) if walk else None
        if s.script is not None:
            tk = s.script["tokens"]
            k = int(tk[slot]) if slot < len(tk) else PAD
        elif walk and not words.complete[st.word_node]:
            # inside a word: its next piece (in the training data a pad never splits a word)
            k = sp.token(logits, st.gen_text, words.within(st.word_node), piece=True)
        elif (
            sp.pronounce
            and self.cfg.model.n_phones
            and lexicon_pronouncer().left(st.phone_walk) > PACE
        ):
            # its voice is still on the word just said: the word may go on ("two" -> "twos")
            # if that is what the model draws among every allowed piece; a new word (or
            # <delegate>) waits for the voice (<pad>), it is not turned into a continuation
            k = PAD
            if st.word_node != ROOT and words.children[st.word_node]:
                k = sp.token(logits, st.gen_text, words.allowed(st.word_node), within=within)
                if k not in words.children[st.word_node]:
                    k = PAD
        elif sp.lexicon:
            k = sp.token(logits, st.gen_text, words.allowed(st.word_node), within=within, owed=owed)
        else:
            k = sp.token(logits, st.gen_text, within=within, owed=owed)
        voiced = k not in (PAD, DELEGATE)  # a delegation is not a word of a reply
        if walk:
            before, st.word_node = st.word_node, words.step(st.word_node, k)
            if sp.pronounce:
                st.phone_walk = lexicon_pronouncer().on_token(
                    st.phone_walk, before, k, st.word_node, words
                )
                voiced = voiced or lexicon_pronouncer().left(st.phone_walk) > 0
        st.quiet = 0 if voiced else min(st.quiet + 1, REPLY_GAP)
        return k

    def _slot_t(self, slot: int) -> float:
        """The time a token said at output `slot` is heard (its text leads its audio)."""
        return round((slot + self.text_lead) * self.slot_s, 3)

    def _said(self, s: Session, k: int, t: float) -> None:
        """Token k, heard at t: a word piece, or a delegation (the session's hook is called)."""
        if k >= len(SPECIALS):  # words only; specials are events of their own
            s.events.append(ModelText(t, self.tok.piece(k)))
        if k == DELEGATE:
            s.events.append(Delegation(t))
            if s.on_delegate is not None:
                s.on_delegate(s, t)

    def _mel(self, hp: torch.Tensor, live: list[Session], now: torch.Tensor) -> torch.Tensor:
        """Padded hidden rows and the phones they voice (rows, fpp) -> log10 mel (N, fpp,
        n_mels) from the flow head, each session's noise from its own generator and temperature,
        grouped by its number of Euler steps."""
        N, flow = self.cache.slots, self.model.flow
        c = flow.cond(self.model.audio_cond(hp, now))
        noise = torch.zeros(hp.shape[0], flow.target_dim)
        for s in live:
            noise[s.slot] = flow_noise(
                flow.target_dim, s.sampling.flow_temperature, s.stream.gen_flow
            )
        mel = torch.zeros(N, self.fpp, self.cfg.mel.n_mels)
        for steps in sorted({s.sampling.flow_steps for s in live}):  # usually one group
            x = sample_flow(flow, c, noise, steps)  # every row computed (static shapes)
            rows = [s.slot for s in live if s.sampling.flow_steps == steps]
            mel[rows] = x[rows].view(len(rows), self.fpp, -1)
        logmel = self.model.destandardize(mel)
        ok = torch.isfinite(logmel)
        if not bool(ok.all()):  # host sync: a broken head (NaN/inf weights) says silence
            warnings.warn(
                "the flow head gave non-finite audio frames; they are said as silence",
                RuntimeWarning,
                stacklevel=2,
            )
            logmel = torch.where(ok, logmel, torch.full_like(logmel, self.cfg.mel.lo))
        return logmel
