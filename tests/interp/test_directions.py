"""Direction maths and files: mean-diff recovers a planted direction; save/load; compare; random control."""

from __future__ import annotations

import json

import pytest
import torch

from emlab.errors import EmlabError
from emlab.interp import (
    Direction,
    compare_directions,
    load_direction,
    mean_difference,
    plot_comparison,
    random_like,
)


def test_mean_diff_recovers_planted_direction() -> None:
    generator = torch.Generator().manual_seed(0)
    layers, hidden = 3, 48
    planted = torch.randn(layers, hidden, generator=generator)
    base = torch.randn(400, layers, hidden, generator=generator) * 2.0
    labels = torch.rand(400, generator=generator) < 0.3
    activations = base + labels[:, None, None].float() * planted
    found = mean_difference(activations[labels], activations[~labels])
    for layer in range(layers):
        cosine = torch.nn.functional.cosine_similarity(found[layer], planted[layer], dim=0)
        assert cosine > 0.9
    # with no planted signal the same estimator finds nothing aligned with it
    noise_only = mean_difference(base[labels], base[~labels])
    assert torch.nn.functional.cosine_similarity(noise_only[0], planted[0], dim=0).abs() < 0.5


def test_mean_diff_needs_both_sides() -> None:
    with pytest.raises(EmlabError, match="both sides"):
        mean_difference(torch.zeros(0, 2, 4), torch.ones(3, 2, 4))


def test_direction_round_trip_and_provenance(tmp_path) -> None:
    vectors = torch.randn(4, 16)
    direction = Direction(vectors, {"kind": "mean-diff", "model": "m", "layer": 2})
    path = direction.save(tmp_path / "d")
    assert path.name == "d.safetensors"
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["kind"] == "mean-diff" and meta["shape"] == [4, 16]
    loaded = load_direction(path)
    torch.testing.assert_close(loaded.vectors, vectors)
    assert loaded.default_layer() == 2 and loaded.meta["model"] == "m"
    assert load_direction(tmp_path / "d").num_layers == 4  # suffix optional
    with pytest.raises(EmlabError, match="no such direction"):
        load_direction(tmp_path / "missing")
    (tmp_path / "bad.safetensors").write_bytes(b"not a tensor file")
    with pytest.raises(EmlabError, match=r"bad\.safetensors"):
        load_direction(tmp_path / "bad.safetensors")


def test_random_control_has_equal_norm_and_is_seeded() -> None:
    direction = Direction(torch.randn(5, 32) * torch.arange(1, 6)[:, None])
    first, again, other = random_like(direction, 3), random_like(direction, 3), random_like(direction, 4)
    torch.testing.assert_close(first.vectors.norm(dim=-1), direction.vectors.norm(dim=-1))
    torch.testing.assert_close(first.vectors, again.vectors)
    assert not torch.equal(first.vectors, other.vectors)


def test_compare_directions_and_heatmap(tmp_path) -> None:
    a = torch.randn(3, 20)
    b = a.clone()
    b[1] = -a[1]
    c = torch.randn(3, 20)
    result = compare_directions(
        [Direction(a, {"name": "a"}), Direction(b, {"name": "b"}), Direction(c, {"name": "c"})], layer=1
    )
    assert result["at_layer"][0][0] == pytest.approx(1.0, abs=1e-6)
    assert result["at_layer"][0][1] == pytest.approx(-1.0, abs=1e-6)
    assert result["per_layer"]["a vs b"] == pytest.approx([1.0, -1.0, 1.0], abs=1e-6)
    assert len(result["across_layers"]["a"]) == 3
    png = plot_comparison(result, tmp_path / "cmp.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(EmlabError, match="different widths"):
        compare_directions([Direction(a), Direction(torch.randn(3, 8))])
