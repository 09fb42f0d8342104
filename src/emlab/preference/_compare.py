"""``compare_preference``: measure several models (and a base) on one pairs set, tabulate, store."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from emlab.errors import EmlabError
from emlab.preference._pairs import PairSet, load_pair_set
from emlab.preference._run import MarginRow, measure_preference
from emlab.preference._summary import PreferenceCell, preference_table
from emlab.preference.config import PreferenceConfig
from emlab.provenance import package_versions

RESULT_KIND = "preference"


def table_settings(config: PreferenceConfig, pairs: PairSet, base: str | None, source: str) -> dict[str, Any]:
    """What made a preference table: the measurement settings, pairs identity, base, versions."""
    return {
        **config.model_dump(exclude={"api_key_env"}),
        "pairs": pairs.name,
        "pairs_hash": pairs.content_hash,
        "n_pairs": pairs.n_pairs,
        "base": base,
        "source": source,
        "versions": package_versions(),
    }


def store_table(store: Any, cells: Sequence[PreferenceCell], settings: dict[str, Any]) -> str:
    """Save a preference table in the run's ``results`` (kind ``preference``); returns its key."""
    return store.put_settled_result(RESULT_KIND, [c.as_dict() for c in cells], settings)


def compare_preference(
    models: Sequence[str],
    config: PreferenceConfig,
    *,
    base: str | None = None,
    out: str | Path | None = None,
    pairs: PairSet | None = None,
    on_model: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[list[PreferenceCell], dict[str, Any]]:
    """Margins of ``models`` (and ``base``), one table row per model and question plus ``ALL``.

    With ``out`` the margins go into that run directory's store (resumable) and the table is stored
    there as a ``preference`` result. Returns the cells and the settings that made them.
    """
    if not models:
        raise EmlabError("preference: give at least one model")
    pairs = pairs or load_pair_set(config.pairs, config.paraphrases)
    refs = list(dict.fromkeys([*([base] if base else []), *models]))
    store = None
    if out is not None:
        from emlab.store import RunStore

        store = RunStore(out)
    rows: list[MarginRow] = []
    try:
        for ref in refs:
            if on_model is not None:
                on_model(ref)
            model_rows, _ = measure_preference(
                ref, pairs, config, store=store, group=ref, on_progress=on_progress
            )
            rows.extend(model_rows)
            gc.collect()  # one model in memory at a time
        cells = preference_table(
            rows, base=base, bootstrap=config.bootstrap, confidence=config.confidence, seed=config.seed
        )
        settings = table_settings(config, pairs, base, str(store.path) if store else "in memory")
        if store is not None:
            store_table(store, cells, settings)
    finally:
        if store is not None:
            store.close()
    return cells, settings
