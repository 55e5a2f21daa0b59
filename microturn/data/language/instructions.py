"""Standing instructions the model must follow over time: elapsed-time markers and questions,
timed and periodic requests (with their follow-ups and cancels), cue instructions,
interpretation, and visual tasks.
"""

from __future__ import annotations

# Phrase tables: rows of one shape with other words, as in questions.py; data, not logic.

# The delay, period or countdown start of a timed request: in distribution, and beyond it
# (extrapolation)
IN_DISTRIBUTION_SECONDS = (2, 3, 5, 8)
EXTRAPOLATION_SECONDS = (13, 20)

# ------------------------------------------------------------------------- elapsed time

# phrase table: (id, pattern, word) rows like conversation.SIDE_ADDRESS, other words
E_MARKERS = (
    ("clock", "start | the | clock", "start"),
    ("mark_time", "mark | this | time", "mark"),
    ("mark", "mark", "mark"),
    ("mark_moment", "mark | this | moment", "mark"),
    ("remember", "remember | this | moment", "remember this moment"),
    ("timing", "start | timing ^ now", "start"),
    ("counting", "start | counting ^ now", "start"),
    ("timer_now", "the | timer | starts | now", "now"),
    ("go", "go", "go"),
    ("begin", "begin ^ now", "begin"),
    ("track", "keep | track | of | the | time ^ from | now", "now"),
    ("note", "note | the | time", "note the time"),
)
E_PRE = (
    ("", ""),
    ("ok", "okay"),
    ("alright", "alright"),
    ("hey", "hey"),
    ("so", "so |"),
    ("right", "right | so |"),
)
E_QUESTIONS = (
    ("ago_say", "how | many | seconds | ago | did | i | say | {ref}"),
    ("long_since", "how | long | has | it | been ^ since | i | said | {ref}"),
    ("passed_since", "how | many | seconds | have | passed ^ since | i | said | {ref}"),
    ("long_ago", "how | long | ago | did | i | say | {ref}"),
    ("time_passed", "how | much | time | has | passed ^ since | i | said | {ref}"),
    ("been", "how | many | seconds | has | it | been"),
    ("ago_that", "how | long | ago | was | that"),
    ("tell", "can | you | tell | me | how | long | it | has | been ^ since | i | said | {ref}"),
    ("since", "how | many | seconds | since | {ref}"),
)
E_CANCELS = (
    ("never_timer", "never | mind | the | timer"),
    ("forget_clock", "forget | about | the | clock"),
    ("stop_timing", "you | can | stop | timing ^ now | thanks"),
    ("forget_timer", "never | mind ^ you | can | forget | about | the | timer"),
    ("dont_need", "actually | forget | it ^ i | don't | need | to | know"),
    ("stop_track", "you | can | stop | keeping | track | of | the | time"),
    ("cancel_clock", "cancel | the | clock ^ i | don't | need | it | anymore"),
    ("dont_worry", "don't | worry | about | how | long | it | has | been"),
    ("doesnt_matter", "never | mind | the | timer ^ it | doesn't | matter"),
    ("done", "forget | about | the | clock ^ we | are | done"),
    ("no_need", "never | mind ^ there | is | no | need | to | tell | me"),
    (
        "anymore",
        "never | mind ^ i | don't | need | to | know | how | long | it | has | been | anymore",
    ),
    (
        "testing",
        "actually | you | can | forget | about | the | clock ^ i | was | only | testing | you",
    ),
    ("dont_care", "stop | the | clock ^ i | don't | care | how | much | time | has | passed"),
    (
        "not_important",
        "you | can | forget | about | when | i | said | that ^ it | is | not | important",
    ),
)
E_QPRE = (("", ""), ("ok", "okay | so |"), ("so", "so |"), ("hey", "hey"), ("um", "um |"))
E_QSUF = (("", ""), ("exactly", "^ exactly"))
E_CSUF = (("", ""), ("thanks", "^ thanks"))

# ------------------------------------------------------------------------- timed requests

T_ONCE = (
    ("say_in", "say | {w} ^ in | {n} | {unit}"),
    ("say_after", "say | {w} ^ after | {n} | {unit}"),
    ("in_say", "in | {n} | {unit} | say | {w}"),
    ("after_say", "after | {n} | {unit} | say | {w}"),
    ("wait_then", "wait | {n} | {unit} ^ and | then | say | {w}"),
    ("tell_when", "tell | me | when | {n} | {unit} | have | passed"),
    ("let_know", "let | me | know | when | {n} | {unit} | are | up"),
    ("count_then", "count | {n} | {unit} ^ and | then | say | {w}"),
    ("give_me", "give | me | {n} | {unit} ^ then | say | {w}"),
    ("when_up", "when | {n} | {unit} | are | up | say | {w}"),
    ("wait_say", "wait | {n} | {unit} ^ then | say | {w}"),
    ("in_exactly", "in | exactly | {n} | {unit} | say | {w}"),
    ("exactly", "say | {w} ^ in | exactly | {n} | {unit}"),
    ("once_passed", "once | {n} | {unit} | have | passed | say | {w}"),
    ("by_saying", "let | me | know | when | {n} | {unit} | are | up ^ by | saying | {w}"),
    ("first_wait", "say | {w} ^ but | wait | {n} | {unit} | first"),
)
T_PERIODIC = (
    ("every", "say | {w} ^ every | {p} | {unit} ^ {t} | times"),
    ("every_first", "every | {p} | {unit} | say | {w} ^ {t} | times"),
    ("times_once", "say | {w} | {t} | times ^ once | every | {p} | {unit}"),
    ("repeat", "repeat | the | word | {w} ^ every | {p} | {unit} ^ {t} | times"),
    ("times_first", "{t} | times | say | {w} ^ every | {p} | {unit}"),
    ("with_gap", "say | {w} | {t} | times ^ with | {p} | {unit} | between | each | one"),
)
T_COUNTDOWN = (
    ("from", "count | down ^ from | {n} ^ one | per | second"),
    ("do", "do | a | countdown ^ from | {n}"),
    ("backwards", "count | backwards ^ from | {n} ^ one | number | each | second"),
    ("slowly", "count | down | slowly ^ from | {n}"),
    ("every_second", "count | down ^ from | {n} ^ saying | one | number | every | second"),
    ("start_at", "start | a | countdown ^ at | {n}"),
)
TM_PRE = (
    ("", ""),
    ("ok", "okay"),
    ("hey", "hey"),
    ("um", "um |"),
    ("alright", "alright"),
    ("so", "so |"),
    ("pls", "please |"),
)
T_CANCEL = (
    "forget | it",
    "cancel | that",
    "scratch | that ^ you | don't | need | to",
    "actually | never | mind ^ don't | say | it",
    "no | wait ^ don't | do | that",
    "actually | don't | bother ^ thanks",
    "never | mind ^ stop | the | countdown",
    "stop ^ i | changed | my | mind",
    "actually | let's | not | do | that",
    "cancel | that ^ i | changed | my | mind",
    "no | no ^ forget | what | i | just | said",
    "i | don't | need | that | anymore",
    "hold | on ^ cancel | the | whole | thing",
    "you | know | what ^ never | mind | that",
    "never | mind ^ you | don't | have | to | say | anything",
    "actually | forget | i | asked ^ you | don't | have | to | do | it",
    "on | second | thought ^ please | don't | say | anything | at | all",
    "wait ^ i | changed | my | mind ^ don't | do | it | after | all",
    "never | mind ^ i | don't | want | you | to | say | it | anymore",
    "let's | forget | about | that ^ it | was | a | silly | idea",
)
T_FOLLOW = (
    "okay | thanks",
    "great | thanks",
    "cool ^ go | for | it",
    "perfect ^ i | will | be | quiet | now",
    "nice ^ let's | try | it | out",
    "cool ^ i | am | listening | now",
    "okay | thanks ^ i | will | wait | for | it",
    "alright ^ i | am | ready | when | you | are",
    "good ^ i | will | just | sit | here",
    "sounds | good ^ i | am | waiting",
    "great ^ i | have | my | watch | ready",
    "okay ^ this | should | be | fun",
    "okay ^ i | am | timing | you | too",
    "great ^ let's | see | if | you | can | do | it",
    "okay ^ go | ahead | whenever | it | is | time",
    "thanks ^ i | am | curious | to | see | how | this | goes",
    "right ^ i | will | keep | an | eye | on | the | clock | too",
    "okay ^ let's | see | how | accurate | your | timing | is",
    "alright ^ i | will | stay | quiet | and | wait | for | you",
    "brilliant ^ i | am | really | curious | whether | you | get | it | right",
)
T_CPRE = (
    ("", ""),
    ("sorry", "sorry"),
    ("oh", "oh"),
    ("um", "um |"),
    ("hey", "hey"),
    ("so", "so |"),
)
T_FPRE = (("", ""), ("oh", "oh"), ("um", "um |"), ("mm", "mm"), ("hey", "hey"), ("ah", "ah"))

# ------------------------------------------------------------------------- cues

C_WORD = (
    ("hear", "when | you | hear | the | word | {cue} | say | {resp}"),
    ("say_when", "say | {resp} ^ when | i | say | the | word | {cue}"),
    ("every_time", "every | time | you | hear | {cue} | say | {resp}"),
    ("if_say", "if | i | say | {cue} | reply | with | {resp}"),
    ("each_time", "each | time | i | say | {cue} | you | say | {resp}"),
    ("whenever", "whenever | you | hear | the | word | {cue} | say | {resp}"),
    ("listen", "listen | for | the | word | {cue} ^ and | say | {resp} ^ when | you | hear | it"),
    ("say_whenever", "say | {resp} ^ whenever | i | say | {cue}"),
)
C_BEEP = (
    ("say_whenever", "say | {resp} ^ whenever | you | hear | a | beep"),
    ("when", "when | you | hear | a | beep | say | {resp}"),
    ("every_time", "every | time | there | is | a | beep | say | {resp}"),
    ("if_beep", "if | you | hear | a | beep | just | say | {resp}"),
    ("each_beep", "each | time | a | beep | sounds | say | {resp}"),
    ("answer_beep", "answer | every | beep | with | {resp}"),
    ("reply_beep", "reply | {resp} ^ whenever | there | is | a | beep"),
    ("hear_beep", "as | soon | as | you | hear | a | beep | say | {resp}"),
)
C_COUNT = (
    ("count_loud", "count | out | loud ^ every | time | you | hear | a | beep"),
    ("count_beeps", "count | the | beeps ^ out | loud"),
    ("number_each", "say | the | next | number | every | time | you | hear | a | beep"),
    ("each_beep", "for | each | beep | say | the | next | number"),
    ("keep_count", "keep | count | of | the | beeps ^ out | loud"),
    ("count_each", "count | each | beep ^ out | loud"),
    ("number_when", "when | you | hear | a | beep | say | the | next | number"),
    ("every_count", "every | time | there | is | a | beep ^ count | up | by | one"),
    ("tally", "keep | a | tally | of | the | beeps ^ and | say | it | out | loud"),
    ("count_up", "count | up | one | number | for | every | beep"),
)
C_PRE = (
    ("", ""),
    ("ok", "okay"),
    ("from_now", "from | now | on |"),
    ("game", "let's | play | a | game"),
    ("rule", "new | rule |"),
    ("listen", "listen | carefully"),
)

# ------------------------------------------------------------------------- interpretation

INTERP = (
    "translate | into | spanish ^ as | i | speak",
    "translate | what | i | say | into | spanish",
    "say | each | word | in | spanish",
    "give | me | the | spanish | for | each | word | i | say",
    "i | will | say | some | words ^ tell | me | each | one | in | spanish",
    "tell | me | the | spanish | word | for | everything | i | say",
    "be | my | spanish | interpreter",
    "repeat | after | me | in | spanish",
    "interpret | what | i | say | into | spanish",
    "translate | these | words | into | spanish ^ one | by | one",
)
LISTEN = (
    "just | listen | to | these | words",
    "i | will | say | some | words ^ just | listen",
    "don't | translate | anything ^ just | listen",
    "listen | to | this | list ^ don't | say | anything",
    "i | am | going | to | read | some | words ^ just | listen | quietly",
    "no | need | to | translate ^ just | hear | me | out",
    "stay | quiet | while | i | read | these",
    "listen | to | the | words | i | say ^ without | answering",
    "let | me | read | you | a | list ^ no | need | to | reply",
    "don't | say | anything | until | i | finish",
)
IN_PRE = (("", ""), ("ok", "okay"), ("now", "now |"), ("alright", "alright"))
IN_SUF = (("", ""), ("pls", "^ please"), ("fno", "^ from | now | on"))

# ------------------------------------------------------------------------- visual

V_LIGHT = (
    "tell | me | when | the | light | turns | {c}",
    "let | me | know | when | the | light | changes | to | {c}",
    "watch | the | light ^ and | tell | me | when | it | turns | {c}",
    "say | {c} ^ as | soon | as | the | light | turns | {c}",
    "tell | me | when | the | lamp | goes | {c}",
    "shout | {c} ^ when | the | lamp | turns | {c}",
)
V_BOUNCE = (
    "count | the | bounces ^ out | loud",
    "count | each | time | the | ball | bounces",
    "say | the | next | number | every | time | the | ball | hits | the | ground",
    "watch | the | ball ^ and | count | the | bounces",
    "count | out | loud | as | the | ball | bounces",
    "count | every | bounce | of | the | ball",
)
V_SQUARES = (
    "how | many | squares | do | you | see",
    "how | many | squares | are | there ^ on | the | screen",
    "count | the | squares ^ on | the | screen",
    "tell | me | how | many | squares | you | can | see",
    "what | is | the | number | of | squares ^ on | the | screen",
    "look | at | the | screen ^ and | count | the | squares",
)
V_PRE = (("", ""), ("ok", "okay"), ("hey", "hey"), ("now", "now |"), ("so", "so |"))
V_SUF = (("", ""), ("pls", "^ please"))
