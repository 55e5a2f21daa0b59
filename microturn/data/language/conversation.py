"""What users say in ordinary conversation: statements, narrative clauses, interruptions, side
talk addressed to someone else, requests with long answers, and self-repairs.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from microturn.data.language.closed_classes import LETTER_NAMES, MONTHS, WEEKDAYS
from microturn.data.language.grammar import Fill
from microturn.data.language.numbers import number_sequence, number_words

# Phrase tables: their rows repeat one shape with other words, which is data, not logic.

# ------------------------------------------------------------------------- statements

_PAST = (("", ""), ("yday", "^ yesterday"), ("morn", "^ this | morning"))
_FUT = (("", ""), ("tmrw", "^ tomorrow"), ("wknd", "^ this | weekend"))
_NOW = (("", ""), ("today", "^ today"), ("again", "^ again"))
_ADV = (("", ""), ("alot", "^ a | lot"), ("actually", "^ actually"))
STATEMENTS = (
    ("breakfast", "i | had | {food} ^ for | breakfast", _PAST),
    ("dinner", "we | had | {food} ^ for | dinner", _PAST),
    ("went", "i | went to | the | {place}", _PAST),
    ("coming_over", "my | {person} | is | coming ^ over", _FUT),
    ("going", "we | are | going ^ to | the | {place}", _FUT),
    ("need_go", "i | need | to | go | to | the | {place}", _FUT),
    ("saw", "i | saw | {name} ^ at | the | {place}", _PAST),
    ("made", "my | {person} | made | {food}", _PAST),
    (
        "making",
        "i | am | making | {food} ^ for | dinner",
        (("", ""), ("tonight", "^ tonight"), ("again", "^ again")),
    ),
    ("busy", "the | {place} | was | really | busy", _PAST),
    ("forgot_call", "i | forgot | to | call | my | {person}", _PAST),
    ("like", "i | really | like | {food}", _ADV),
    ("doesnt_like", "my | {person} | doesn't | like | {food}", _ADV),
    ("rain", "i | think | it | is | going | to | rain", _FUT),
    ("cold", "it | is | really | cold ^ outside", _NOW),
    ("lost", "i | lost | my | {belonging}", _PAST),
    (
        "cant_find",
        "i | can't | find | my | {belonging}",
        (("", ""), ("anywhere", "^ anywhere"), ("again", "^ again")),
    ),
    ("left", "i | left | my | {belonging} ^ at | the | {place}", _PAST),
    (
        "got_back",
        "i | just | got | back | from | the | {place}",
        (("", ""), ("with", "^ with | {name}"), ("actually", "^ actually")),
    ),
    ("pick_up", "i | have | to | pick | up | my | {person} ^ from | the | {place}", _FUT),
    (
        "loves",
        "my | {person} | loves | {food}",
        (("", ""), ("so_much", "^ so | much"), ("actually", "^ actually")),
    ),
    ("bought", "i | bought | some | {food} ^ at | the | {place}", _PAST),
    ("tired", "i | am | so | tired", _NOW),
    ("went_with", "{name} | and | i | went | to | the | {place}", _PAST),
    ("meeting", "i | am | meeting | {name} ^ at | the | {place}", _FUT),
    ("wrong", "something | is | wrong | with | my | {belonging}", _NOW),
    ("cleaned", "i | finally | cleaned | the | house", _PAST),
    ("new_job", "my | {person} | got | a | new | job", _PAST),
    ("walk", "i | took | the | dog ^ for | a | walk", _PAST),
    (
        "cooking_for",
        "i | am | cooking ^ for | my | {person}",
        (("", ""), ("tonight", "^ tonight"), ("again", "^ again")),
    ),
)
S_PRE = (("", ""), ("so", "so |"), ("well", "well"), ("ohand", "oh | and |"))

# ------------------------------------------------------------------------- narratives

FUNCTION_WORDS = frozenset(
    """the a an to my your his her their our of for at in on into with
    from about some and then until but so by""".split()
)
N_TIMES = (
    ("yday", "yesterday"),
    ("morning", "this | morning"),
    ("weekend", "last | weekend"),
    ("saturday", "on | saturday"),
    ("other_day", "the | other | day"),
)
N_OPEN = (
    ("went", "i | went | to | the | {place}"),
    ("had_to_go", "i | had | to | go | to | the | {place}"),
    ("we_went", "my | {person} | and | i | went | to | the | {place}"),
    ("walking", "i | was | walking | to | the | {place}"),
    ("visit", "i | went | to | visit | my | {person}"),
)
N_LEAD = (
    ("so", "so |"),
    ("okay_so", "okay | so |"),
    ("right_so", "right | so |"),
    ("anyway", "anyway |"),
)
N_EVENTS = (
    ("saw", "i | saw | my | {person}"),
    ("bumped", "i | bumped | into | {name}"),
    ("decided", "we | decided | to | go | to | the | {place}"),
    ("lunch", "we | had | {food} ^ for | lunch"),
    ("rain", "it | started | to | rain ^ really | hard"),
    ("left_home", "i | realised | i | had | left | my | {belonging} ^ at | home"),
    ("go_back", "i | had | to | go | back | to | the | {place}"),
    ("closed", "the | {place} | was | completely | closed"),
    ("queue", "there | was | a | huge | queue ^ at | the | {place}"),
    ("bought_for", "i | bought | some | {food} ^ for | my | {person}"),
    ("called", "my | {person} | called | me ^ on | the | phone"),
    ("stayed", "we | ended | up | staying | there ^ for | hours"),
    ("late", "i | didn't | get | home | until | really | late"),
    ("animal", "i | saw | {an_animal} ^ in | the | {place}"),
    ("showed_up", "{name} | showed | up ^ with | {food}"),
    ("bus", "the | bus | was | late | again"),
    ("walked", "we | walked | all | the | way | to | the | {place}"),
    ("lost", "i | lost | my | {belonging} ^ on | the | way"),
    ("found", "i | found | {name}'s | {belonging} ^ on | the | floor"),
    ("laughed", "we | laughed | about | it ^ for | ages"),
    ("no_answer", "i | tried | to | call | my | {person} ^ but | nobody | answered"),
    ("birthday", "it | turned | out | to | be | {name}'s | birthday"),
    ("took", "the | whole | thing | took | about | {n} | hours"),
    ("met", "i | met | a | friend | of | my | {person}"),
    ("forgot", "i | forgot | to | bring | my | {belonging}"),
    ("talked", "we | talked | about | {food} ^ for | a | while"),
    ("waited", "i | waited | for | {name} ^ for | twenty | minutes"),
)
N_CONNECT = (
    ("and_then", "and | then |"),
    ("and", "and |"),
    ("after", "after | that |"),
    ("so", "so |"),
    ("but", "but |"),
    ("then", "then |"),
    ("suddenly", "and | then | suddenly |"),
)
N_CLOSE = (
    ("day", "that | was | my | day"),
    ("good", "it | was | a | really | good | day"),
    ("happened", "that | is | what | happened"),
    ("home", "we | finally | went | home"),
    ("fine", "everything | was | fine ^ in | the | end"),
    ("funny", "it | was | a | pretty | funny | day ^ to | be | honest"),
    ("tired", "i | was | exhausted ^ by | the | end | of | it"),
)
N_CLOSE_LEAD = (
    ("and", "and |"),
    ("anyway", "anyway |"),
    ("so_yeah", "so | yeah |"),
    ("but_yeah", "but | yeah |"),
    ("so_end", "so | in | the | end |"),
)

# ------------------------------------------------------------------------- interruptions

STOPS = (
    "stop",
    "wait",
    "hold | on",
    "hang | on",
    "stop | stop",
    "wait | wait | wait",
    "wait | a | second",
    "hold | on | a | moment",
    "one | second",
    "just | a | moment",
    "okay | stop",
    "please | stop",
    "that's | enough",
    "let | me | stop | you | there",
)
REPEATS = (
    "can | you | repeat | that",
    "can | you | say | that | again",
    "what | did | you | say",
    "say | that | again",
    "pardon",
    "come | again",
    "i | didn't | catch | that",
    "could | you | repeat | the | last | part",
    "what | was | that",
    "can | you | go | over | that | again",
    "repeat | that ^ please",
)
INT_PRE = (
    ("", ""),
    ("sorry", "sorry"),
    ("no", "no"),
    ("hey", "hey"),
    ("um", "um |"),
    ("actually", "actually"),
)
INT_QPRE = (
    ("actually", "actually"),
    ("wait", "wait"),
    ("sorry", "sorry"),
    ("holdon", "hold | on"),
    ("oh", "oh"),
    ("hangon", "hang | on"),
)
INT_QCORES = (
    "arith.what_is.",
    "arith.whats.",
    "capital.q",
    "colour.q",
    "opposite.q",
    "day_after.",
    "num.after.",
    "sound.q",
    "plural.q",
    "count.q",
    "fixed.",
)

# ------------------------------------------------------------------------- side talk

SIDE = (
    ("pass", "can | you | pass | the | {household}"),
    ("door", "the | door | is | open"),
    ("dinner", "dinner | is | ready"),
    ("feed", "did | you | feed | the | {animal}"),
    ("put", "where | did | you | put | the | {household}"),
    ("phone", "i | am | on | the | phone"),
    ("coming", "are | you | coming | to | the | {place}"),
    ("here", "your | {person} | is | here"),
    ("seen", "have | you | seen | my | {belonging}"),
    ("leave", "we | need | to | leave ^ in | {n} | minutes"),
    ("get_door", "can | you | get | the | door"),
    ("buy", "don't | forget | to | buy | {food}"),
    ("table", "lunch | is | on | the | table"),
    ("music", "turn | the | music | down"),
    ("minute", "i | will | be | there ^ in | a | minute"),
    ("talking", "just | a | second ^ i | am | talking | to | the | computer"),
    ("wants", "who | wants | {food}"),
    ("open", "is | the | {place} | open ^ today"),
    ("keys", "have | you | got | the | car | keys"),
    ("tv", "can | you | turn | the | tv | off"),
)
SIDE_ADDRESS = (
    ("name", "{name} |", ""),
    ("hey", "hey | {name} |", ""),
    ("end", "", "^ {name}"),
    ("excuse", "excuse | me | {name} |", ""),
    ("oh", "oh | {name} |", ""),
)

# ------------------------------------------------------------------------- long requests


def mk_long(kind: str) -> Callable[[random.Random, str], Fill]:
    def make(rng: random.Random, split: str) -> Fill:
        r, slots = rng.randint, {}
        if kind == "from_to":
            a = r(1, 20)
            b = a + r(11, 25)
            slots, ans = (
                {"a": number_words(a), "b": number_words(b)},
                number_sequence(range(a, b + 1)),
            )
        elif kind == "to":
            b = r(12, 40)
            slots, ans = {"b": number_words(b)}, number_sequence(range(1, b + 1))
        elif kind == "backwards":
            a = r(12, 30)
            slots, ans = {"a": number_words(a)}, number_sequence(range(a, 0, -1))
        elif kind == "down_to":
            a = r(20, 50)
            b = r(0, a - 11)
            slots, ans = (
                {"a": number_words(a), "b": number_words(b)},
                number_sequence(range(a, b - 1, -1)),
            )
        elif kind in ("twos", "fives", "tens"):
            step = {"twos": 2, "fives": 5, "tens": 10}[kind]
            b = step * r(12, 20)
            slots, ans = {"b": number_words(b)}, number_sequence(range(step, b + 1, step))
        elif kind in ("even", "odd"):
            b = 2 * r(12, 25) - (kind == "odd")
            slots, ans = (
                {"b": number_words(b)},
                number_sequence(range(2 - (kind == "odd"), b + 1, 2)),
            )
        elif kind == "table":
            n = r(2, 12)
            slots, ans = {"n": number_words(n)}, number_sequence(range(n, 12 * n + 1, n))
        elif kind == "months_from":
            i = r(0, 11)
            slots, ans = {"m": MONTHS[i]}, " ".join(MONTHS[i:] + MONTHS[:i])
        else:
            ans = {
                "months": " ".join(MONTHS),
                "months_back": " ".join(MONTHS[::-1]),
                "days_twice": " ".join(WEEKDAYS * 2),
                "days_fwd_back": " ".join(WEEKDAYS + WEEKDAYS[::-1]),
                "alphabet": " ".join(LETTER_NAMES.values()),
                "alphabet_back": " ".join(list(LETTER_NAMES.values())[::-1]),
            }[kind]
        return Fill(slots, ans)

    return make


LONG = (
    ("from_to", "count | from | {a} | to | {b}"),
    ("to", "count | to | {b}"),
    ("backwards", "count | backwards | from | {a}"),
    ("down_to", "count | down | from | {a} ^ to | {b}"),
    ("twos", "count | by | twos | to | {b}"),
    ("fives", "count | in | fives | to | {b}"),
    ("tens", "count | by | tens | up | to | {b}"),
    ("even", "say | all | the | even | numbers | up | to | {b}"),
    ("odd", "say | the | odd | numbers | up | to | {b}"),
    ("table", "say | the | {n} | times | table"),
    ("months", "list | the | months | of | the | year"),
    ("months_back", "list | the | months | of | the | year ^ backwards"),
    ("months_from", "name | all | the | months ^ starting | from | {m}"),
    ("days_twice", "say | the | days | of | the | week ^ twice"),
    ("days_fwd_back", "say | the | days | of | the | week ^ forwards ^ and | then | backwards"),
    ("alphabet", "recite | the | alphabet"),
    ("alphabet_back", "say | the | alphabet ^ backwards"),
)
L_PRE = (
    ("", ""),
    ("cy", "can | you |"),
    ("cdy", "could | you |"),
    ("pls", "please |"),
    ("iwyt", "i | want | you | to |"),
    ("ok", "okay"),
)
L_SUF = (("", ""), ("pls", "^ please"), ("loud", "^ out | loud"), ("slow", "^ slowly"))

# ------------------------------------------------------------------------- self-repair

R_MARKERS = (
    ("no", "no"),
    ("mean", "sorry | i | mean"),
    ("make_that", "uh | make | that"),
    ("i_mean", "i | mean"),
    ("no_wait", "no | wait"),
    ("actually", "actually"),
    ("sorry", "sorry"),
    ("er_no", "er | no"),
)
# (id, before the repair (ends with the wrong value {a}), after it ({b} + rest), answer, value kind)
REPAIRS = (
    (
        "timer",
        "set | a | timer | for | {a}",
        "{b} | minutes",
        "okay a timer for {b} minutes",
        "num",
    ),
    ("call", "call | {a}", "{b}", "okay calling {b}", "name"),
    ("table", "book | a | table | for | {a}", "{b} | people", "okay a table for {b} people", "num"),
    (
        "alarm",
        "set | an | alarm | for | {a}",
        "{b} | in | the | morning",
        "okay an alarm for {b} in the morning",
        "hour",
    ),
    ("message", "send | a | message | to | {a}", "{b}", "okay sending a message to {b}", "name"),
    (
        "shopping",
        "add | {a}",
        "{b} | to | the | shopping | list",
        "okay i added {b} to the shopping list",
        "food",
    ),
    ("volume", "turn | the | volume | up | to | {a}", "{b}", "okay volume {b}", "num"),
    (
        "heating",
        "set | the | heating | to | {a}",
        "{b} | degrees",
        "okay heating set to {b} degrees",
        "temp",
    ),
    ("directions", "take | me | to | the | {a}", "the | {b}", "okay heading to the {b}", "place"),
    (
        "remind",
        "remind | me | to | call | {a}",
        "{b} | tomorrow",
        "okay i will remind you to call {b} tomorrow",
        "name",
    ),
    (
        "tell",
        "tell | {a}",
        "{b} | that | i | am | running | late",
        "okay i will tell {b} that you are running late",
        "name",
    ),
)
