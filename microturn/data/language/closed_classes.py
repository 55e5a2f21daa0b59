"""Closed classes: words every split uses, not lexicon items (like numbers, see `numbers`).

Weekdays, months, letter names, backchannels and fillers are said in train, dev and test alike;
only the open lexicon (`lexicon`) and the templates (`templates`) are partitioned by split.
"""

from __future__ import annotations

FILLERS = ("um", "uh", "er")

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
LETTER_NAMES = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyz",
        [
            s.replace("_", " ")
            for s in (
                "ay bee see dee ee ef gee aitch eye jay kay el em en oh pee "
                "cue ar ess tee you vee double_you ex why zee"
            ).split()
        ],
        strict=True,
    )
)
BACKCHANNELS = (
    "mm hmm",
    "uh huh",
    "yeah",
    "right",
    "okay",
    "i see",
    "yep",
    "sure",
    "wow",
    "really",
    "got it",
    "true",
    "exactly",
    "mm",
    "ah",
    "cool",
    "nice",
    "i know",
    "of course",
    "yes",
    "totally",
    "no way",
    "fair enough",
    "makes sense",
)
