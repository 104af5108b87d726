"""chatsite.ollama.results: the figures derived from what Ollama reports."""

from __future__ import annotations

from dataclasses import replace

from chatsite.ollama import ChatMetrics


def test_tokens_per_second_needs_both_a_count_and_a_duration():
    metrics = ChatMetrics(
        total_duration=0,
        load_duration=0,
        prompt_eval_count=0,
        prompt_eval_duration=0,
        eval_count=30,
        eval_duration=1_500_000_000,
    )
    assert metrics.tokens_per_second == 20.0
    assert replace(metrics, eval_count=0).tokens_per_second is None
    assert replace(metrics, eval_duration=0).tokens_per_second is None
