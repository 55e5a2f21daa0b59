from microturn.config import preset
from microturn.data.align import word_stream
from microturn.grid import Grid
from microturn.synth import Word
from microturn.timeline import Event, Timeline


def tl_with(words):
    return Timeline(
        "x", "qa", "ask", True, "dev", 5.0, [Event("model", "utterance", 0.0, 5.0, "", words)]
    )


def test_words_land_on_their_onset_position_or_the_next_free_one():
    g = Grid(preset("small").grid)  # 50 ms positions
    ws = [Word("a", 0.0, 0.1), Word("b", 0.12, 0.2), Word("c", 0.14, 0.3), Word("d", 1.0, 1.2)]
    s = word_stream(tl_with(ws), "model", g, 100)
    assert [(x.pos, x.word, x.lag) for x in s] == [
        (0, "a", 0),
        (2, "b", 0),
        (3, "c", 1),
        (20, "d", 0),
    ]
    lead = word_stream(tl_with(ws), "model", g, 100, lead_s=0.1)
    assert [x.pos for x in lead] == [0, 1, 2, 18]
    assert [x.word for x in word_stream(tl_with(ws), "model", g, 3)] == ["a", "b"]
