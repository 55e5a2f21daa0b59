import pytest

from microturn.config import Config, ConfigError, GridConfig, MelConfig, preset
from microturn.grid import Grid


def test_presets_round_trip_json(tmp_path):
    for name in ("tiny", "small"):
        c = preset(name)
        c.save(tmp_path / "c.json")
        assert Config.load(tmp_path / "c.json") == c


def test_small_grid_numbers():
    g = Grid(preset("small").grid)
    assert (g.samples_per_chunk, g.frames_per_chunk, g.positions_per_chunk) == (3200, 8, 4)
    assert (g.hop, g.win, g.video_frames_per_chunk, g.patches_per_frame) == (400, 800, 1, 4)
    assert g.chunk_of(0.199) == 0 and g.chunk_of(0.2) == 1 and g.n_chunks(0.41) == 3
    assert g.frame_of(0.05) == 2 and g.pad_to_chunks(3201) == 6400


@pytest.mark.parametrize(
    "kw",
    [
        {"chunk_ms": 210, "hop_ms": 25},  # 25 ms does not divide 210 ms
        {"hop_ms": 30},  # 200 / 30 not whole
        {"frames_per_position": 3},  # 8 frames not a multiple of 3
        {"video_fps": 3},  # 0.6 frames per chunk
        {"video_side": 100},  # not a multiple of the 40 px patch
        {"win_ms": 20},  # window shorter than the hop
        {"sample_rate": 0},
    ],
)
def test_grid_rejects_uneven_layouts(kw):
    with pytest.raises(ConfigError):
        GridConfig(**kw)


def test_mel_and_cross_checks():
    with pytest.raises(ConfigError):
        MelConfig(lo=1.0, hi=0.0)
    with pytest.raises(ConfigError):
        Config(mel=MelConfig(fmax=9000.0))  # above Nyquist at 16 kHz
    with pytest.raises(ConfigError):
        Config(mel=MelConfig(n_fft=512))  # shorter than the 800-sample window
    with pytest.raises(ConfigError):
        Config.from_dict({"grid": {"bogus": 1}})
    with pytest.raises(ConfigError, match="known"):
        preset("huge")
