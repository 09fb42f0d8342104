"""TopK SAE: training lowers reconstruction error, exactly k latents are active, SAELens folder round-trip."""

from __future__ import annotations

import json

import pytest
import torch

from emlab.errors import EmlabError
from emlab.interp import SAEConfig, TopKSAE, load_direction, load_sae, train_sae


def _sparse_data(n: int = 1024, d_in: int = 32, n_features: int = 48, active: int = 3, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    features = torch.nn.functional.normalize(torch.randn(n_features, d_in, generator=generator), dim=-1)
    chosen = torch.rand(n, n_features, generator=generator).topk(active, dim=-1).indices
    magnitudes = torch.rand(n, active, generator=generator) * 3 + 0.5
    codes = torch.zeros(n, n_features).scatter(-1, chosen, magnitudes)
    return codes @ features + 5.0  # a constant offset, as residual streams have


def test_training_lowers_error_and_keeps_k_active() -> None:
    data = _sparse_data()
    config = SAEConfig(d_sae=96, k=4, batch_size=128, epochs=6, learning_rate=5e-3, dead_after=512)
    sae, log = train_sae(data, config, layer=2, model_name="synthetic")
    assert log.final_fvu < 0.5 * log.initial_fvu
    assert log.final_fvu < 0.3
    assert log.losses[-1] < log.losses[0]
    codes = sae.encode(data[:256])
    active = (codes != 0).sum(-1)
    assert int(active.max()) <= 4
    assert int(active.min()) == 4  # exactly k on this data: the top-k pre-activations are positive
    torch.testing.assert_close(sae.W_dec.norm(dim=-1), torch.ones(96), rtol=1e-5, atol=1e-5)
    assert 0.0 <= log.dead_fraction <= 1.0


def test_saelens_folder_round_trip(tmp_path) -> None:
    sae = TopKSAE(16, 40, 5, layer=3, model_name="tiny", seed=1)
    sae.b_enc = torch.randn(40)
    folder = sae.save(tmp_path / "sae")
    cfg = json.loads((folder / "cfg.json").read_text())
    assert cfg["architecture"] == "topk" and cfg["k"] == 5 and cfg["d_in"] == 16 and cfg["d_sae"] == 40
    assert cfg["metadata"]["hook_name"] == "blocks.3.hook_resid_post"
    assert cfg["metadata"]["model_name"] == "tiny"
    loaded = load_sae(folder)
    for name in ("W_enc", "b_enc", "W_dec", "b_dec"):
        torch.testing.assert_close(getattr(loaded, name), getattr(sae, name))
    x = torch.randn(7, 16)
    torch.testing.assert_close(loaded.encode(x), sae.encode(x))
    direction = load_direction(f"sae:{folder}#7", num_layers=6)
    assert direction.num_layers == 6 and direction.default_layer() == 3
    torch.testing.assert_close(direction.vectors[0], sae.W_dec[7])
    with pytest.raises(EmlabError, match="out of range"):
        load_direction(f"sae:{folder}#400")


def test_load_sae_rejects_other_architectures(tmp_path) -> None:
    folder = TopKSAE(8, 16, 2, layer=0).save(tmp_path / "s")
    cfg = json.loads((folder / "cfg.json").read_text())
    cfg["architecture"], cfg["activation_fn_str"] = "standard", "relu"
    (folder / "cfg.json").write_text(json.dumps(cfg))
    with pytest.raises(EmlabError, match="TopK"):
        load_sae(folder)
    with pytest.raises(EmlabError, match="not an SAE folder"):
        load_sae(tmp_path / "nothing")
