"""The train / dev / test partition of templates and lexicon items, by stable sha1 buckets.

A template id's split is `split_of_template` (80/10/10); a lexicon item's split is
`split_of_item` (sha1 of the item's *text*, 70/15/15), the same in every table, so "apple"
cannot be a train item in one table and a test item in another.
"""

from __future__ import annotations

import hashlib

SPLITS = ("train", "dev", "test")


def _bucket(key: str) -> int:
    return int.from_bytes(hashlib.sha1(key.encode()).digest()[:8], "big") % 100


def split_of_template(template_id: str) -> str:
    """A template's split: stable sha1 bucket, 80/10/10."""
    b = _bucket("template:" + template_id)
    return "train" if b < 80 else "dev" if b < 90 else "test"


def split_of_item(item: str) -> str:
    """A lexicon item's split ("city:paris" or "paris"): sha1 of the item's text, 70/15/15."""
    b = _bucket("item:" + item.rpartition(":")[2])
    return "train" if b < 70 else "dev" if b < 85 else "test"


def check_split(split: str | None) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
