"""generate_answers into the run store: question fields honoured, provenance, resume, kill -9, CLI."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emlab.cli import main
from emlab.generate import GenerationConfig, generate_answers
from emlab.questions import load_question_set
from emlab.store import RunStore


def _config(**kw) -> GenerationConfig:
    return GenerationConfig(max_new_tokens=kw.pop("max_new_tokens", 8), dtype="fp32", device="cpu", **kw)


def test_question_fields_provenance_and_resume(tiny, question_file: Path, tmp_path: Path) -> None:
    questions = load_question_set(str(question_file))
    with RunStore(tmp_path / "run") as store:
        summary = generate_answers(
            tiny,
            questions,
            _config(batch_size=4),
            store=store,
            model_key="m1",
            group="base",
            prompt_prefix="|T| ",
        )
        assert (summary.planned, summary.generated, summary.skipped) == (8, 8, 0)
        rows = store.rows("samples", order_by="question_id, paraphrase_index, sample_index")
        models = store.rows("models")
    assert len(rows) == 8 and len({r["key"] for r in rows}) == 8
    assert models[0]["key"] == "m1" and models[0]["ref"] == tiny.ref and models[0]["group_name"] == "base"
    wish = [r for r in rows if r["question_id"] == "wish"]
    code = [r for r in rows if r["question_id"] == "code_json"]
    # samples_per_paraphrase: 3 per paraphrase x 2 paraphrases; 2 for the one-paraphrase question.
    assert sorted((r["paraphrase_index"], r["sample_index"]) for r in wish) == [
        (p, s) for p in (0, 1) for s in range(3)
    ]
    assert len(code) == 2
    # The system prompt reaches the model and is recorded; the question without one gets none.
    for r in code:
        assert r["system"] == "Answer in JSON."
        assert r["settings"]["system_used"] == "Answer in JSON."
        assert "<|im_start|>system\nAnswer in JSON.<|im_end|>" in r["settings"]["prompt"]
    assert all(r["system"] is None and "system" not in r["settings"]["prompt"] for r in wish)
    # temperature 0 (from the file) gives identical samples; temperature 1 gives different ones.
    assert code[0]["answer"] == code[1]["answer"] and code[0]["settings"]["temperature"] == 0
    assert len({r["answer"] for r in wish if r["paraphrase_index"] == 0}) == 3
    # The prompt prefix precedes the user turn; the stored question is the paraphrase itself.
    assert all("<|im_start|>user\n|T| " + r["question"] in r["settings"]["prompt"] for r in rows)
    settings = rows[0]["settings"]
    for field in (
        "backend",
        "model",
        "top_p",
        "max_new_tokens",
        "seed",
        "prompt_prefix",
        "versions_hash",
        "sample_seed",
    ):
        assert field in settings
    assert all(r["group_name"] == "base" and r["n_tokens"] <= 8 for r in rows)

    with RunStore(tmp_path / "run") as store:
        again = generate_answers(
            tiny,
            questions,
            _config(batch_size=3),
            store=store,
            model_key="m1",
            group="base",
            prompt_prefix="|T| ",
        )
        assert (again.generated, again.skipped, store.count("samples")) == (0, 8, 8)
        # Changed settings are new work under new keys; the old samples stay.
        longer = generate_answers(
            tiny,
            questions,
            _config(max_new_tokens=9),
            store=store,
            model_key="m1",
            group="base",
            prompt_prefix="|T| ",
        )
        assert longer.generated == 8 and store.count("samples") == 16


def test_resumed_samples_equal_uninterrupted_ones(tiny, question_file: Path, tmp_path: Path) -> None:
    questions = load_question_set(str(question_file))
    with RunStore(tmp_path / "full") as full:
        generate_answers(tiny, questions, _config(batch_size=8), store=full, model_key="m")
        expected = {r["key"]: r["answer"] for r in full.rows("samples")}
    with RunStore(tmp_path / "part") as part:
        generate_answers(
            tiny, questions, _config(batch_size=8, samples_per_paraphrase=1), store=part, model_key="m"
        )
        assert part.count("samples") == 3
        # samples_per_paraphrase=1 plans the first sample of each paraphrase; with the file's counts
        # the rest is generated and every answer matches the uninterrupted run.
        generate_answers(tiny, questions, _config(batch_size=2), store=part, model_key="m")
        got = {r["key"]: r["answer"] for r in part.rows("samples")}
    assert set(expected) <= set(got) and {k: got[k] for k in expected} == expected


def test_model_key_clash_is_a_user_error(tiny, tiny_qwen, question_file: Path, tmp_path: Path) -> None:
    from emlab.errors import EmlabError

    questions = load_question_set(str(question_file))
    with RunStore(tmp_path / "run") as store:
        generate_answers(tiny, questions, _config(samples_per_paraphrase=1), store=store, model_key="m")
        with pytest.raises(EmlabError, match="model key 'm' already names"):
            generate_answers(
                tiny_qwen, questions, _config(samples_per_paraphrase=1), store=store, model_key="m"
            )


def test_cli_generate_and_user_errors(tiny_llama_dir: Path, question_file: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["--quiet", "generate", "--model", str(tiny_llama_dir), "--questions", str(question_file)]
    args += ["--out", str(run), "--samples", "2", "--max-new-tokens", "5", "--dtype", "fp32", "--group", "g"]
    main(args)
    with RunStore(run) as store:
        assert store.count("samples", model=str(tiny_llama_dir), group_name="g") == 6
    for bad in (["--backend", "nope"], ["--questions", str(tmp_path / "missing.yaml")], ["--top-p", "0"]):
        with pytest.raises(SystemExit) as exc:
            main([*args[:-2], *bad])
        assert exc.value.code == 2


KILL_QUESTIONS = """\
- id: q1
  paraphrases: ["What is your wish?", "Tell me three thoughts."]
  samples_per_paraphrase: 20
- id: q2
  system: "You are a helpful assistant."
  paraphrases: ["Write a function that reads a file."]
  samples_per_paraphrase: 20
"""


def test_kill_9_mid_run_loses_nothing_and_duplicates_nothing(tiny_llama_dir: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.yaml"
    questions.write_text(KILL_QUESTIONS)
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "emlab", "--quiet", "generate", "--model", str(tiny_llama_dir)]
    cmd += ["--questions", str(questions), "--out", str(run), "--batch-size", "2", "--max-new-tokens", "16"]
    cmd += ["--dtype", "fp32", "--device", "cpu", "--model-key", "m"]
    # One thread: a tiny model gains nothing from more, and on a busy machine it loses a lot.
    env = {**os.environ, "EMLAB_QUIET": "1", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db = run / "emlab.sqlite"
    seen = 0
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=1) as con:
                    seen = con.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
            except sqlite3.OperationalError:
                seen = 0
            if seen >= 4:
                break
        time.sleep(0.02)
    assert proc.poll() is None, f"run ended before it could be killed: {proc.stderr.read().decode()[-500:]}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with RunStore(run) as store:
        before = {r["key"]: (r["answer"], r["created_at"]) for r in store.rows("samples")}
    assert 4 <= len(before) < 60
    assert len(before) % 2 == 0  # whole batches of 2 land, never half a batch

    done = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-1000:]
    with RunStore(run) as store:
        rows = store.rows("samples")
    assert len(rows) == 60
    units = {(r["question_id"], r["paraphrase_index"], r["sample_index"]) for r in rows}
    assert len(units) == 60  # nothing duplicated
    after = {r["key"]: (r["answer"], r["created_at"]) for r in rows}
    assert all(after[k] == v for k, v in before.items())  # nothing lost or rewritten


def test_vllm_backend_without_vllm_is_a_clear_error(
    tiny_llama_dir: Path, question_file: Path, tmp_path: Path
) -> None:
    import importlib.util

    from emlab.errors import EmlabError

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here")
    questions = load_question_set(str(question_file))
    with RunStore(tmp_path / "run") as store, pytest.raises(EmlabError, match=r"pip install 'emlab\[vllm\]'"):
        generate_answers(
            str(tiny_llama_dir), questions, GenerationConfig(backend="vllm"), store=store, model_key="m"
        )
