"""Sampling answers from models: transformers (own decoding loop), vLLM and OpenAI-compatible APIs."""

from emlab.generate._chats import sample_chats, sample_seed
from emlab.generate._decode import Decoder, PromptJob, SampleOutput, choose_tokens, stop_token_ids
from emlab.generate._plan import PlannedSample, plan_samples
from emlab.generate._run import GenerateSummary, generate_answers
from emlab.generate.config import GenerationConfig

__all__ = [
    "Decoder",
    "GenerateSummary",
    "GenerationConfig",
    "PlannedSample",
    "PromptJob",
    "SampleOutput",
    "choose_tokens",
    "generate_answers",
    "plan_samples",
    "sample_chats",
    "sample_seed",
    "stop_token_ids",
]
