"""Directions in the residual stream: one vector per layer, saved as safetensors + JSON provenance.

A direction file holds one tensor ``direction`` of shape ``[n_layers, hidden]`` (row i belongs
to layer i, the output of decoder block i), and its provenance both in the safetensors header
and in a readable ``.json`` file beside it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emlab.errors import EmlabError


@dataclass
class Direction:
    """Per-layer vectors ``[n_layers, hidden]`` and where they came from."""

    vectors: Any
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_layers(self) -> int:
        """Number of layers the direction covers."""
        return int(self.vectors.shape[0])

    @property
    def hidden_size(self) -> int:
        """Width of each vector."""
        return int(self.vectors.shape[1])

    @property
    def name(self) -> str:
        """A short label (file stem or kind)."""
        return str(self.meta.get("name") or self.meta.get("kind") or "direction")

    def unit(self, layer: int) -> Any:
        """The unit vector at ``layer``."""
        vector = self.vectors[layer].float()
        return vector / vector.norm().clamp_min(1e-12)

    def norms(self) -> list[float]:
        """The vector norm at every layer."""
        return [float(v) for v in self.vectors.float().norm(dim=-1)]

    def default_layer(self) -> int:
        """The layer recorded as best (``meta['layer']``), else the middle layer."""
        layer = self.meta.get("layer")
        return int(layer) if layer is not None else self.num_layers // 2

    def at_every_layer(self, layer: int) -> Direction:
        """The vector of ``layer`` repeated at every layer (to ablate one direction everywhere)."""
        vectors = self.vectors[layer].unsqueeze(0).expand(self.num_layers, -1).clone()
        return Direction(vectors, {**self.meta, "source_layer": layer})

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (.safetensors) and its provenance ``path.with_suffix('.json')``."""
        from safetensors.torch import save_file

        path = direction_path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {**self.meta, "shape": list(self.vectors.shape), "norms": [round(n, 6) for n in self.norms()]}
        text = json.dumps(meta, sort_keys=True, default=str)
        save_file({"direction": self.vectors.detach().float().contiguous().cpu()}, str(path), {"emlab": text})
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
        return path


def direction_path(path: str | Path) -> Path:
    """``path`` with a ``.safetensors`` suffix."""
    path = Path(path)
    return path if path.suffix == ".safetensors" else path.with_name(path.name + ".safetensors")


def load_direction(spec: str | Path, *, num_layers: int | None = None) -> Direction:
    """Read a direction file, or ``sae:PATH#LATENT`` (an SAE latent's decoder row, at every layer)."""
    text = str(spec)
    if text.startswith("sae:"):
        from emlab.interp._sae import load_sae

        location, _, latent = text.removeprefix("sae:").rpartition("#")
        if not location or not latent.isdigit():
            raise EmlabError(f"direction '{text}': use sae:PATH#LATENT, e.g. sae:runs/sae#123")
        sae = load_sae(location)
        index = int(latent)
        if not 0 <= index < sae.d_sae:
            raise EmlabError(f"direction '{text}': latent {index} out of range (SAE has {sae.d_sae})")
        vector = sae.W_dec.detach()[index].float()
        layers = num_layers or (sae.layer + 1)
        meta = {
            "kind": "sae-latent",
            "name": f"sae{sae.layer}#{index}",
            "sae": str(location),
            "latent": index,
            "layer": sae.layer,
            "model": sae.model_name,
        }
        return Direction(vector.unsqueeze(0).expand(layers, -1).clone(), meta)
    path = Path(text)
    if not path.is_file():
        alt = direction_path(path)
        if not alt.is_file():
            raise EmlabError(f"{path}: no such direction file")
        path = alt
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            names = list(handle.keys())
            if "direction" not in names:
                raise EmlabError(f"{path}: not an emlab direction file (no 'direction' tensor)")
            vectors = handle.get_tensor("direction")
            meta = json.loads((handle.metadata() or {}).get("emlab", "{}"))
    except (OSError, ValueError, SafetensorError) as exc:
        raise EmlabError(f"{path}: not a readable safetensors file ({exc})") from exc
    if vectors.dim() == 1:
        vectors = vectors.unsqueeze(0)
    meta.setdefault("name", path.stem)
    meta["path"] = str(path)
    return Direction(vectors, meta)


def mean_difference(positive: Any, negative: Any) -> Any:
    """mean(positive) − mean(negative) over the first axis: ``[n, layers, hidden]`` → ``[layers, hidden]``."""
    if len(positive) == 0 or len(negative) == 0:
        raise EmlabError(
            f"need examples on both sides for a mean difference (got {len(positive)} and {len(negative)})"
        )
    return positive.float().mean(0) - negative.float().mean(0)


def random_like(direction: Direction, seed: int = 0) -> Direction:
    """A random Gaussian direction with the same norm as ``direction`` at every layer (a control)."""
    import torch

    generator = torch.Generator().manual_seed(int(seed))
    noise = torch.randn(direction.vectors.shape, generator=generator)
    norms = direction.vectors.float().norm(dim=-1, keepdim=True)
    vectors = noise / noise.norm(dim=-1, keepdim=True) * norms
    return Direction(
        vectors, {"kind": "random", "name": f"random(seed={seed})", "seed": seed, "like": direction.name}
    )


def cosine_matrix(rows: Any, cols: Any | None = None) -> Any:
    """Cosine similarity between every row of ``rows`` and every row of ``cols`` (default: ``rows``)."""
    import torch

    a = torch.nn.functional.normalize(rows.float(), dim=-1)
    b = a if cols is None else torch.nn.functional.normalize(cols.float(), dim=-1)
    return a @ b.T


def compare_directions(directions: Sequence[Direction], layer: int | None = None) -> dict[str, Any]:
    """Cosine similarities: across directions at ``layer``, per layer for each pair, and across layers for each."""
    import torch

    if not directions:
        raise EmlabError("give at least one direction to compare")
    sizes = {d.hidden_size for d in directions}
    if len(sizes) > 1:
        raise EmlabError(f"directions have different widths {sorted(sizes)}: they come from different models")
    common = min(d.num_layers for d in directions)
    chosen = directions[0].default_layer() if layer is None else layer
    if not 0 <= chosen < common:
        raise EmlabError(f"layer {chosen} out of range (directions cover 0..{common - 1})")
    names = [d.name for d in directions]
    at_layer = cosine_matrix(torch.stack([d.vectors[chosen] for d in directions]))
    per_layer = {}
    for i in range(len(directions)):
        for j in range(i + 1, len(directions)):
            a, b = directions[i].vectors[:common], directions[j].vectors[:common]
            per_layer[f"{names[i]} vs {names[j]}"] = torch.nn.functional.cosine_similarity(
                a.float(), b.float(), dim=-1
            ).tolist()
    across_layers = {d.name: cosine_matrix(d.vectors).tolist() for d in directions}
    return {
        "names": names,
        "layer": chosen,
        "at_layer": at_layer.tolist(),
        "per_layer": per_layer,
        "across_layers": across_layers,
    }


def plot_comparison(comparison: dict[str, Any], path: str | Path) -> Path:
    """Heatmaps of a ``compare_directions`` result (directions × directions, and layers × layers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = comparison["names"]
    panels = [("at_layer", f"cosine at layer {comparison['layer']}", names)]
    panels += [(name, f"{name}: layer × layer", None) for name in comparison["across_layers"]]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.2), squeeze=False)
    for ax, (key, title, labels) in zip(axes[0], panels, strict=True):
        matrix = comparison["at_layer"] if key == "at_layer" else comparison["across_layers"][key]
        image = ax.imshow(matrix, vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_title(title, fontsize=9)
        if labels:
            ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=7)
            ax.set_yticks(range(len(labels)), labels, fontsize=7)
            for i, row in enumerate(matrix):
                for j, value in enumerate(row):
                    ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7)
        else:
            ax.set_xlabel("layer")
            ax.set_ylabel("layer")
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
