"""Self-assessed confidence: let each LLM say how well it will do, in the two usual forms.

(a) ``probe confidence``: the model's mean max-option probability on the probe items (a model
that is sure of its answers is assumed to be right); (b) ``verbal``: the model is shown a few probe
questions and asked to rate, 0-9, how likely it is to answer such questions correctly; the rating
is read from the next-token probabilities of the ten digits (expected value), not sampled. These
are the paper's "self-assessed confidence" baselines: they run every model of the zoo, but only
on the probes (a) or on one prompt (b).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from llm_spider.tasks.base import render_template

SELF_ASSESSMENT_TEMPLATE = "self_assessment.jinja"
DIGITS = tuple(str(d) for d in range(10))


def probe_confidence(logprobs: Sequence[np.ndarray]) -> float:
    """Mean over probes of the largest option probability."""
    return float(np.mean([np.exp(np.max(lp)) for lp in logprobs]))


def verbal_prompt(examples: Sequence[str], topic: str = "") -> str:
    # The trailing space: every tokenizer of the zoo emits a space token before a digit, so the
    # digit is the next token after it.
    return render_template(SELF_ASSESSMENT_TEMPLATE, examples=list(examples), topic=topic) + " "


def verbal_rating(backend, examples: Sequence[str], topic: str = "") -> float:
    """The expected self-rating 0-9 from one forward pass (digits' probabilities renormalised)."""
    scores = backend.option_logprobs([verbal_prompt(examples, topic)], [DIGITS])
    p = np.exp(scores.logprobs[0])
    return float(p @ np.arange(10) / p.sum())

