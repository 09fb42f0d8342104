"""A compact TopK sparse autoencoder: training, and the SAELens folder format (cfg.json + weights).

encode: z = TopK(ReLU-after-selection)((x − b_dec) W_enc + b_enc), exactly k selected latents;
decode: x̂ = z W_dec + b_dec, with every decoder row (one latent's direction) kept at unit norm.
Latents that stop firing are tracked, and an auxiliary TopK loss on them (Gao et al. 2024) keeps
them learning.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from emlab.errors import EmlabError

CFG_FILE = "cfg.json"
WEIGHTS_FILE = "sae_weights.safetensors"


class SAEConfig(BaseModel):
    """TopK SAE training settings."""

    model_config = ConfigDict(extra="forbid")

    d_sae: int | None = Field(None, ge=1, description="Number of latents (default: expansion × d_in).")
    expansion: int = Field(8, ge=1, description="Latents per input dimension when d_sae is not given.")
    k: int = Field(32, ge=1, description="Active latents per token.")
    learning_rate: float = Field(1e-3, gt=0, description="Adam learning rate.")
    batch_size: int = Field(256, ge=1, description="Activation vectors per step.")
    epochs: float = Field(10.0, gt=0, description="Passes over the activations.")
    aux_k: int = Field(64, ge=0, description="Dead latents used by the auxiliary loss (0 = off).")
    aux_coefficient: float = Field(1 / 32, ge=0, description="Weight of the auxiliary loss.")
    dead_after: int = Field(
        10_000, ge=1, description="A latent is dead after this many tokens without firing."
    )
    seed: int = Field(0, description="Initialisation and shuffling seed.")


def _torch() -> Any:
    import torch

    return torch


class TopKSAE:
    """TopK SAE weights in SAELens layout: W_enc [d_in, d_sae], b_enc, W_dec [d_sae, d_in], b_dec."""

    def __init__(
        self,
        d_in: int,
        d_sae: int,
        k: int,
        *,
        layer: int,
        model_name: str = "",
        seed: int = 0,
        extra: dict[str, Any] | None = None,
    ) -> None:
        torch = _torch()
        if not 1 <= k <= d_sae:
            raise EmlabError(f"SAE k={k} must be between 1 and d_sae={d_sae}")
        generator = torch.Generator().manual_seed(seed)
        W_dec = torch.randn(d_sae, d_in, generator=generator)
        W_dec /= W_dec.norm(dim=-1, keepdim=True)
        self.W_dec = W_dec
        self.W_enc = W_dec.T.clone().contiguous()
        self.b_enc = torch.zeros(d_sae)
        self.b_dec = torch.zeros(d_in)
        self.d_in, self.d_sae, self.k = d_in, d_sae, k
        self.layer = layer
        self.model_name = model_name
        self.extra = dict(extra or {})

    @property
    def hook_name(self) -> str:
        """TransformerLens name of the hooked point: the residual stream after block ``layer``."""
        return f"blocks.{self.layer}.hook_resid_post"

    def parameters(self) -> list[Any]:
        """The four weight tensors."""
        return [self.W_enc, self.b_enc, self.W_dec, self.b_dec]

    def pre_activations(self, x: Any) -> Any:
        """Encoder pre-activations ``(x − b_dec) W_enc + b_enc``."""
        return (x.to(self.W_enc.dtype) - self.b_dec) @ self.W_enc + self.b_enc

    def encode(self, x: Any) -> Any:
        """Sparse codes ``[..., d_sae]``: the k largest pre-activations per row (ReLU'd), zeros elsewhere."""
        torch = _torch()
        pre = self.pre_activations(x)
        top = pre.topk(self.k, dim=-1)
        return torch.zeros_like(pre).scatter(-1, top.indices, top.values.relu())

    def decode(self, codes: Any) -> Any:
        """Reconstruction ``codes W_dec + b_dec``."""
        return codes @ self.W_dec + self.b_dec

    def reconstruct(self, x: Any) -> Any:
        """decode(encode(x))."""
        return self.decode(self.encode(x))

    def fvu(self, x: Any) -> float:
        """Fraction of variance unexplained by the reconstruction of ``x`` ``[n, d_in]``."""
        x = x.float()
        error = (x - self.reconstruct(x)).pow(2).sum()
        total = (x - x.mean(0)).pow(2).sum().clamp_min(1e-12)
        return float(error / total)

    def cfg(self) -> dict[str, Any]:
        """The SAELens ``cfg.json`` contents (v6 fields plus the older flat ones)."""
        metadata = {
            "model_name": self.model_name,
            "hook_name": self.hook_name,
            "hook_layer": self.layer,
            "hook_head_index": None,
            "prepend_bos": True,
            "context_size": self.extra.get("context_size"),
            "dataset_path": self.extra.get("dataset_path"),
            "sae_lens_training_version": None,
        }
        return {
            "architecture": "topk",
            "d_in": self.d_in,
            "d_sae": self.d_sae,
            "k": self.k,
            "dtype": "float32",
            "device": "cpu",
            "apply_b_dec_to_input": True,
            "normalize_activations": "none",
            "reshape_activations": "none",
            "activation_fn_str": "topk",
            "activation_fn_kwargs": {"k": self.k},
            "metadata": metadata,
            **{key: value for key, value in metadata.items() if key != "sae_lens_training_version"},
            "emlab": self.extra,
        }

    def save(self, folder: str | Path) -> Path:
        """Write the SAELens folder: ``cfg.json`` and ``sae_weights.safetensors``."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {
            "W_enc": self.W_enc,
            "b_enc": self.b_enc,
            "W_dec": self.W_dec,
            "b_dec": self.b_dec,
        }
        save_file(
            {k: v.detach().float().contiguous() for k, v in tensors.items()}, str(folder / WEIGHTS_FILE)
        )
        (folder / CFG_FILE).write_text(json.dumps(self.cfg(), indent=2, default=str) + "\n")
        return folder


def _layer_from_hook(hook_name: str) -> int | None:
    parts = hook_name.split(".")
    if len(parts) >= 2 and parts[0] == "blocks" and parts[1].isdigit():
        return int(parts[1])
    return None


def load_sae(folder: str | Path) -> TopKSAE:
    """Load a TopK SAE from a SAELens folder (cfg.json + sae_weights.safetensors)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    cfg_path, weights_path = folder / CFG_FILE, folder / WEIGHTS_FILE
    if not cfg_path.is_file() or not weights_path.is_file():
        raise EmlabError(f"{folder}: not an SAE folder (needs {CFG_FILE} and {WEIGHTS_FILE})")
    try:
        cfg = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as exc:
        raise EmlabError(f"{cfg_path}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
    metadata = cfg.get("metadata") or {}
    architecture = cfg.get("architecture") or cfg.get("activation_fn_str")
    k = cfg.get("k") or (cfg.get("activation_fn_kwargs") or {}).get("k")
    if architecture != "topk" or not k:
        raise EmlabError(f"{cfg_path}: architecture: emlab reads TopK SAEs (architecture 'topk' with k)")
    hook_name = metadata.get("hook_name") or cfg.get("hook_name") or ""
    layer = metadata.get("hook_layer", cfg.get("hook_layer"))
    layer = _layer_from_hook(hook_name) if layer is None else layer
    if layer is None:
        raise EmlabError(f"{cfg_path}: hook_name: cannot tell the layer from '{hook_name}'")
    if not hook_name.endswith("hook_resid_post"):
        raise EmlabError(
            f"{cfg_path}: hook_name: emlab hooks the residual stream after a block (hook_resid_post)"
        )
    for name in ("d_in", "d_sae"):
        if not isinstance(cfg.get(name), int):
            raise EmlabError(f"{cfg_path}: {name}: missing or not an integer")
    weights = load_file(str(weights_path))
    sae = TopKSAE(
        cfg["d_in"],
        cfg["d_sae"],
        int(k),
        layer=int(layer),
        model_name=metadata.get("model_name") or cfg.get("model_name") or "",
        extra=cfg.get("emlab") or {},
    )
    expected = {
        "W_enc": (sae.d_in, sae.d_sae),
        "b_enc": (sae.d_sae,),
        "W_dec": (sae.d_sae, sae.d_in),
        "b_dec": (sae.d_in,),
    }
    for name, shape in expected.items():
        if name not in weights or tuple(weights[name].shape) != shape:
            got = tuple(weights[name].shape) if name in weights else "missing"
            raise EmlabError(f"{weights_path}: {name} has shape {got}, expected {shape}")
        setattr(sae, name, weights[name].float())
    return sae


@dataclass
class SAETrainLog:
    """What training did: steps, losses, dead latents, time."""

    steps: int = 0
    tokens: int = 0
    seconds: float = 0.0
    initial_fvu: float = math.nan
    final_fvu: float = math.nan
    dead_fraction: float = 0.0
    mean_l0: float = 0.0
    losses: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (loss curve thinned to at most 200 points)."""
        stride = max(1, len(self.losses) // 200)
        return {
            "steps": self.steps,
            "tokens": self.tokens,
            "seconds": round(self.seconds, 2),
            "initial_fvu": self.initial_fvu,
            "final_fvu": self.final_fvu,
            "dead_fraction": self.dead_fraction,
            "mean_l0": self.mean_l0,
            "loss_curve": self.losses[::stride],
        }


def train_sae(
    activations: Any,
    config: SAEConfig,
    *,
    layer: int,
    model_name: str = "",
    on_step: Any = None,
) -> tuple[TopKSAE, SAETrainLog]:
    """Train a TopK SAE on ``activations`` ``[n_tokens, d_in]`` with Adam; returns it and its training log."""
    torch = _torch()
    x_all = activations.float().reshape(-1, activations.shape[-1])
    n, d_in = x_all.shape
    if n < 2:
        raise EmlabError(f"need at least 2 activation vectors to train an SAE (got {n})")
    d_sae = config.d_sae or config.expansion * d_in
    sae = TopKSAE(d_in, d_sae, min(config.k, d_sae), layer=layer, model_name=model_name, seed=config.seed)
    # b_dec starts at the data mean so the latents model deviations, not the (often large) offset.
    sae.b_dec = x_all.mean(0).clone()
    log = SAETrainLog(initial_fvu=sae.fvu(x_all[: min(n, 4096)]))
    params = sae.parameters()
    for p in params:
        p.requires_grad_(True)
    optimizer = torch.optim.Adam(params, lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed)
    total_steps = max(1, math.ceil(config.epochs * n / config.batch_size))
    since_fired = torch.zeros(d_sae, dtype=torch.long)
    variance = (x_all - x_all.mean(0)).pow(2).sum(-1).mean().clamp_min(1e-12)
    started = time.perf_counter()
    order = torch.randperm(n, generator=generator)
    cursor = 0
    l0_sum = 0.0
    for step in range(total_steps):
        if cursor + config.batch_size > n:
            order, cursor = torch.randperm(n, generator=generator), 0
        x = x_all[order[cursor : cursor + config.batch_size]]
        cursor += config.batch_size
        pre = sae.pre_activations(x)
        top = pre.topk(sae.k, dim=-1)
        codes = torch.zeros_like(pre).scatter(-1, top.indices, top.values.relu())
        recon = codes @ sae.W_dec + sae.b_dec
        error = x - recon
        loss = error.pow(2).sum(-1).mean() / variance
        fired = (codes > 0).any(0)
        since_fired += len(x)
        since_fired[fired] = 0
        dead = since_fired > config.dead_after
        if config.aux_k and dead.any():
            k_aux = min(config.aux_k, int(dead.sum()))
            dead_pre = pre.masked_fill(~dead, float("-inf"))
            aux_top = dead_pre.topk(k_aux, dim=-1)
            aux_codes = torch.zeros_like(pre).scatter(-1, aux_top.indices, aux_top.values.relu())
            aux_recon = aux_codes @ sae.W_dec
            target = error.detach()
            aux = (target - aux_recon).pow(2).sum(-1).mean() / target.pow(2).sum(-1).mean().clamp_min(1e-12)
            loss = loss + config.aux_coefficient * torch.nan_to_num(aux)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            # Only the part of the decoder gradient that keeps rows at unit norm is kept.
            grad = sae.W_dec.grad
            if grad is not None:
                grad -= (grad * sae.W_dec).sum(-1, keepdim=True) * sae.W_dec
        optimizer.step()
        with torch.no_grad():
            sae.W_dec /= sae.W_dec.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        log.losses.append(float(loss.detach()))
        l0_sum += float((codes > 0).sum(-1).float().mean())
        if on_step is not None:
            on_step(step + 1, total_steps, log.losses[-1])
    for p in params:
        p.requires_grad_(False)
        p.grad = None
    sae.W_enc, sae.b_enc, sae.W_dec, sae.b_dec = (p.detach() for p in params)
    log.steps, log.tokens = total_steps, total_steps * config.batch_size
    log.seconds = time.perf_counter() - started
    with torch.no_grad():
        log.final_fvu = sae.fvu(x_all[: min(n, 4096)])
    log.dead_fraction = float((since_fired > config.dead_after).float().mean())
    log.mean_l0 = l0_sum / total_steps
    sae.extra.update({"train": config.model_dump(), "tokens": n})
    return sae, log
