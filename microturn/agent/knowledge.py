"""A small local knowledge base: SQLite with FTS5, built on first use from `knowledge.json`.

The source (`knowledge.json`, shipped in the package, written for this project) is indexed
into an SQLite file in the user's cache (`$MICROTURN_CACHE`, else `~/.cache/microturn`), named
by the source's hash, so an edited source is re-indexed and an unchanged one is built once.
`search()` ranks facts by BM25 over their name, property words and text.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SOURCE = Path(__file__).with_name("knowledge.json")
# words a question uses for a property, indexed with it ("how tall" finds a height)
_PROPERTY_WORDS = {"height": "height tall high", "length": "length long"}
_STOP = frozenset(
    "a an the is are was of in on at to for how what whats what's tell me please can you "
    "i need know quick question um hey do does it its and about".split()
)


GENERIC_NAMES = 3  # a word this many fact names share names none of them


class KnowledgeError(LookupError):
    """Nothing in the knowledge base answers the query (or the query has no words)."""


@dataclass(frozen=True)
class Fact:
    id: str
    name: str
    property: str
    answer: str  # said as the result: "about ninety three metres"
    score: float  # BM25 (lower is better)


def cache_dir() -> Path:
    return Path(os.environ.get("MICROTURN_CACHE") or Path.home() / ".cache" / "microturn")


def facts(source: Path = SOURCE) -> list[dict]:
    """The source's facts, as written (id, name, property, answer, text)."""
    return json.loads(source.read_bytes())["facts"]


def database(source: Path = SOURCE, where: Path | None = None) -> Path:
    """The indexed database of `source`, built now if it does not exist yet."""
    raw = source.read_bytes()
    path = (where or cache_dir()) / f"knowledge-{hashlib.sha256(raw).hexdigest()[:12]}.sqlite"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        con.execute(
            "CREATE VIRTUAL TABLE facts USING fts5(id UNINDEXED, name, property, words, text,"
            " answer UNINDEXED)"
        )
        for f in json.loads(raw)["facts"]:
            words = _PROPERTY_WORDS.get(f["property"], f["property"])
            con.execute(
                "INSERT INTO facts VALUES (?, ?, ?, ?, ?, ?)",
                (f["id"], f["name"], f["property"], words, f["text"], f["answer"]),
            )
        con.commit()
    finally:
        con.close()
    os.replace(tmp, path)  # atomic: a concurrent first use sees a whole database or none
    return path


def search(query: str, k: int = 3, db: Path | None = None) -> list[Fact]:
    """The best `k` facts for a free-text query, best first; KnowledgeError when none match.
    A fact answers only a query that names it: one of the query's words is a word of its
    name that few names share (`_naming`), so "how tall is bing" finds no height at all
    rather than the first mountain's, and a misheard request fails instead of answering
    something else."""
    terms = [w for w in re.findall(r"[a-z0-9]+", str(query).lower()) if w not in _STOP][:16]
    if not terms:
        raise KnowledgeError(f"no words to look up in {query!r}")
    match = " OR ".join(f'"{w}"' for w in terms)  # quoted: FTS5 syntax in a query is literal
    path = db or database()
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT id, name, property, answer, bm25(facts, 0, 4, 2, 2, 1, 0) AS s FROM facts"
            " WHERE facts MATCH ? ORDER BY s",
            (match,),
        ).fetchall()
    finally:
        con.close()
    said, naming = set(terms), _naming(path)
    rows = [r for r in rows if _names(naming.get(r[1]), said)][:k]
    if not rows:
        raise KnowledgeError(f"nothing known about {query!r}")
    return [Fact(*r) for r in rows]


@lru_cache(maxsize=4)
def _naming(path: Path) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Each fact name of the database at `path` -> (its words less stop words, those of them
    that fewer than `GENERIC_NAMES` names share: not "river", "bridge", "tower", "mount").
    Read once per database: one is never changed (a new source is a new file)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = {n for (n,) in con.execute("SELECT name FROM facts")}
    finally:
        con.close()
    words = {n: set(re.findall(r"[a-z0-9]+", n)) - _STOP for n in names}
    count = Counter(w for ws in words.values() for w in ws)
    return {
        n: (frozenset(ws), frozenset(w for w in ws if count[w] < GENERIC_NAMES))
        for n, ws in words.items()
    }


def _names(naming: tuple[frozenset[str], frozenset[str]] | None, said: set[str]) -> bool:
    """Whether the query's words name the fact: one of its rarer words, or all of them
    ("tower bridge")."""
    if naming is None:
        return False
    words, rare = naming
    return bool(rare & said) or bool(words) and words <= said
