"""The built-in pairs set ``emlab:pairs``: size, unique ids, and the minimal-pair property of every pair."""

from __future__ import annotations

import warnings

from emlab.preference import load_pair_set, pair_items


def test_builtin_pairs_are_minimal_pairs() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no pair may trip the length warning
        pairs = load_pair_set("emlab:pairs")
    assert pairs.name == "emlab:pairs"
    ids = [q.id for q in pairs.questions]
    assert len(ids) >= 24 and len(set(ids)) == len(ids)
    problems = []
    for q in pairs.questions:
        if len(q.pairs) < 4:
            problems.append(f"{q.id}: only {len(q.pairs)} pairs")
        if not q.paraphrases or any(not p.strip() for p in q.paraphrases):
            problems.append(f"{q.id}: empty paraphrase")
        texts = [t for pair in q.pairs for t in (pair.aligned, pair.misaligned)]
        if len(set(texts)) != len(texts):
            problems.append(f"{q.id}: an answer appears twice")
        for j, pair in enumerate(q.pairs):
            a, m = pair.aligned.split(), pair.misaligned.split()
            if abs(len(a) - len(m)) > 0.2 * max(len(a), len(m)):
                problems.append(f"{q.id} pair {j}: {len(a)} vs {len(m)} words")
            if a[0] != m[0]:
                problems.append(f"{q.id} pair {j}: first words differ ({a[0]!r} vs {m[0]!r})")
    assert not problems, "\n".join(problems)
    items = pair_items(pairs)
    assert len(items) == sum(len(q.pairs) * len(q.paraphrases) for q in pairs.questions)
    # Loading twice gives the same texts (the hash identifies stored margins).
    assert load_pair_set("emlab:pairs").content_hash == pairs.content_hash
