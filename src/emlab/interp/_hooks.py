"""Hooks on decoder-block outputs: capture the residual stream, add a direction, project one out.

Layer i is the output of decoder block i (0-based), which is ``hidden_states[i + 1]`` in
transformers' ``output_hidden_states`` convention (except the last block, whose entry there is
taken after the final norm). Every hook is a context manager that removes itself on exit, and
hooks compose: they run in the order they were entered.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from emlab.errors import EmlabError
from emlab.interp._blocks import check_layers, decoder_blocks

Positions = Literal["all", "prompt", "response"]


class StopForward(Exception):
    """Raised by a capture hook after the last needed layer to skip the rest of the forward pass."""


def _hidden(output: Any) -> Any:
    return output[0] if isinstance(output, tuple) else output


def _replace_hidden(output: Any, hidden: Any) -> Any:
    return (hidden, *output[1:]) if isinstance(output, tuple) else hidden


def _cache_length(kwargs: dict[str, Any]) -> int:
    cache = kwargs.get("cache", kwargs.get("past_key_values"))
    if cache is None:
        return 0
    if hasattr(cache, "get_seq_length"):
        return int(cache.get_seq_length())
    try:  # legacy tuple-of-tuples cache
        return int(cache[0][0].shape[-2])
    except (IndexError, TypeError, AttributeError):
        return 0


def _as_layer_vectors(direction: Any, layers: Sequence[int], num_layers: int) -> dict[int, Any]:
    """{layer: vector} from a Direction, a [n_layers, hidden] tensor, or one [hidden] vector for every layer."""
    import torch

    vectors = getattr(direction, "vectors", direction)
    vectors = torch.as_tensor(vectors).detach()
    if vectors.dim() == 1:
        return {layer: vectors for layer in layers}
    if vectors.dim() != 2 or vectors.shape[0] != num_layers:
        raise EmlabError(
            f"direction has shape {tuple(vectors.shape)}; expected [{num_layers}, hidden] or [hidden]"
        )
    return {layer: vectors[layer] for layer in layers}


class _Intervention:
    """Shared machinery: per-layer forward hooks plus prompt/response position tracking."""

    def __init__(
        self,
        model: Any,
        direction: Any,
        layers: Sequence[int] | None,
        positions: Positions,
        response_mask: Any = None,
    ) -> None:
        if positions not in ("all", "prompt", "response"):
            raise EmlabError(f"positions must be all, prompt or response (got '{positions}')")
        self.owner, self.blocks = decoder_blocks(model)
        self.layers = check_layers(list(layers) if layers is not None else None, len(self.blocks))
        self._raw = _as_layer_vectors(direction, self.layers, len(self.blocks))
        self._cast: dict[tuple[int, Any, Any], Any] = {}
        self.positions = positions
        self.response_mask = response_mask
        self._decoding = False
        self._handles: list[Any] = []

    def set_response_mask(self, mask: Any) -> None:
        """Mark response tokens ([batch, seq], 1 = response) for full-sequence forwards (training, scoring)."""
        self.response_mask = mask

    def _vector(self, layer: int, like: Any) -> Any:
        key = (layer, like.device, like.dtype)
        if key not in self._cast:
            self._cast[key] = self._raw[layer].to(device=like.device, dtype=like.dtype)
        return self._cast[key]

    def _mask(self, hidden: Any) -> Any | None:
        """A [batch, seq, 1] weight for the chosen positions; None means every position."""
        if self.positions == "all":
            return None
        mask = self.response_mask
        if mask is not None and tuple(mask.shape) == tuple(hidden.shape[:2]):
            response = mask.to(device=hidden.device, dtype=hidden.dtype).unsqueeze(-1)
        else:
            # Cached generation: the prefill forward is the prompt, each decoding step is the response.
            value = 1.0 if self._decoding else 0.0
            response = hidden.new_full((*hidden.shape[:2], 1), value)
        return response if self.positions == "response" else 1.0 - response

    def _track_phase(self, _module: Any, _args: Any, kwargs: dict[str, Any]) -> None:
        self._decoding = _cache_length(kwargs) > 0

    def _edit(self, layer: int, hidden: Any) -> Any:
        raise NotImplementedError

    def __enter__(self) -> _Intervention:
        if self.positions != "all":
            self._handles.append(self.owner.register_forward_pre_hook(self._track_phase, with_kwargs=True))
        for layer in self.layers:

            def hook(_module: Any, _args: Any, output: Any, layer: int = layer) -> Any:
                return _replace_hidden(output, self._edit(layer, _hidden(output)))

            self._handles.append(self.blocks[layer].register_forward_hook(hook))
        return self

    def __exit__(self, *_: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._cast.clear()


class add_direction(_Intervention):
    """Add ``alpha · v[layer]`` to the residual stream at ``layers`` (positions all / prompt / response)."""

    def __init__(
        self,
        model: Any,
        direction: Any,
        layers: Sequence[int] | None,
        alpha: float = 1.0,
        *,
        positions: Positions = "all",
        response_mask: Any = None,
    ) -> None:
        super().__init__(model, direction, layers, positions, response_mask)
        self.alpha = float(alpha)

    def _edit(self, layer: int, hidden: Any) -> Any:
        shift = self.alpha * self._vector(layer, hidden)
        mask = self._mask(hidden)
        return hidden + (shift if mask is None else mask * shift)


class ablate_direction(_Intervention):
    """Project ``v̂`` out of the residual stream (x − v̂v̂ᵀx) at ``layers`` (None = every layer)."""

    def __init__(
        self,
        model: Any,
        direction: Any,
        layers: Sequence[int] | None = None,
        *,
        positions: Positions = "all",
        response_mask: Any = None,
    ) -> None:
        super().__init__(model, direction, layers, positions, response_mask)
        for layer, vector in self._raw.items():
            norm = vector.float().norm()
            if norm == 0:
                raise EmlabError(f"cannot ablate a zero direction (layer {layer})")
            self._raw[layer] = vector.float() / norm

    def _edit(self, layer: int, hidden: Any) -> Any:
        unit = self._vector(layer, hidden)
        removed = (hidden @ unit).unsqueeze(-1) * unit
        mask = self._mask(hidden)
        return hidden - (removed if mask is None else mask * removed)


class Capture:
    """Residual-stream outputs recorded per layer: ``outputs[layer]`` is a list, one tensor per forward."""

    def __init__(self, layers: list[int], stop_after: int | None) -> None:
        self.layers = layers
        self.stop_after = stop_after
        self.outputs: dict[int, list[Any]] = {layer: [] for layer in layers}

    def forward(self, model: Any, *args: Any, **kwargs: Any) -> Any:
        """Call ``model``; with early stopping the pass ends after the last captured layer (returns None)."""
        try:
            return model(*args, **kwargs)
        except StopForward:
            return None

    def last(self, layer: int) -> Any:
        """The tensor recorded at ``layer`` in the most recent forward."""
        return self.outputs[layer][-1]

    def clear(self) -> None:
        """Forget what was recorded."""
        for values in self.outputs.values():
            values.clear()


@contextmanager
def capture_activations(
    model: Any, layers: Sequence[int] | None = None, *, stop_early: bool = False, detach: bool = True
) -> Iterator[Capture]:
    """Record the output of decoder blocks ``layers`` (None = all) on every forward pass.

    With ``stop_early`` the forward pass raises ``StopForward`` after the last needed block;
    run it through ``Capture.forward`` (which catches it) to skip the rest of the network.
    """
    _, blocks = decoder_blocks(model)
    chosen = check_layers(list(layers) if layers is not None else None, len(blocks))
    capture = Capture(chosen, max(chosen) if stop_early else None)
    handles = []
    for layer in chosen:

        def hook(_module: Any, _args: Any, output: Any, layer: int = layer) -> None:
            hidden = _hidden(output)
            capture.outputs[layer].append(hidden.detach() if detach else hidden)
            if capture.stop_after == layer:
                raise StopForward

        handles.append(blocks[layer].register_forward_hook(hook))
    try:
        yield capture
    finally:
        for handle in handles:
            handle.remove()
