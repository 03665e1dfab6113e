"""The OpenAI-compatible backend: a member served elsewhere (vLLM or SGLang on a GPU box, llama.cpp's
server, a hosted API), scored over HTTP.

Two measurements, never mixed (the run log's backend says which: ``openai-logprobs`` or
``openai-generate``):
- ``logprobs``: the completions endpoint with ``echo`` returns the log-probability of every token of
  prompt + option; the option's first token after the prompt is read, normalised over the full
  vocabulary: the same quantity the transformers backend computes (vLLM's completions do this).
- ``generate``: where the server gives no log-probabilities (most hosted chat APIs), the model answers
  in a chat turn and the first option letter in its reply is its choice; the other options' scores are
  unknown (NaN) and an answer with no letter counts as wrong.

Requests run ``concurrency`` at a time, a 429, a 5xx, a timeout or a dropped connection is retried
with exponential backoff (a server's Retry-After is honoured), and the usage the server reports is
kept per item. The key is read from the environment variable the member names, at request time, and
is never written anywhere.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from llm_spider.backends.base import Backend, OptionScores, PartialBatch, Progress
from llm_spider.backends.registry import register_backend
from llm_spider.errors import SpiderError

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
LETTER = re.compile(r"\b([A-Z])\b")


def _key(model) -> dict:
    env = model.api_key_env
    if not env:
        return {}
    key = os.environ.get(env)
    if not key:
        raise SpiderError(f"member '{model.name}': its API key variable {env} is not set (export {env}=...)")
    return {"Authorization": f"Bearer {key}"}


class Client:
    """One server: POSTs with retries; ``settings``: the member's options merged with the run's (as
    ``probe`` and ``OpenAIBackend`` pass them); ``sleep`` is injectable so tests run fast."""

    def __init__(self, model, settings: dict, sleep=time.sleep):
        import requests

        self.model, self.base = model, model.location.rstrip("/")
        self.timeout = float(settings.get("timeout") or 120.0)
        self.retries = int(settings.get("max_retries") or 5)
        self.headers = _key(model)
        self.session, self.sleep = requests.Session(), sleep

    def _fail(self, what: str) -> SpiderError:
        return SpiderError(f"member '{self.model.name}': {self.base}: {what}")

    def get(self, path: str, timeout: float = 10.0):
        import requests

        try:
            return self.session.get(self.base + path, headers=self.headers, timeout=timeout)
        except requests.ConnectionError:
            raise self._fail("cannot connect (is the server running, and is the URL right?)") from None
        except requests.Timeout:
            raise self._fail(f"no answer within {timeout:.0f} s") from None

    def post(self, path: str, payload: dict) -> dict:
        import requests

        last = ""
        for attempt in range(self.retries + 1):
            wait = min(30.0, 0.5 * 2 ** attempt) * (0.5 + random.random())
            try:
                r = self.session.post(self.base + path, json=payload, headers=self.headers, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = "connection dropped" if isinstance(exc, requests.ConnectionError) else \
                    f"no answer within {self.timeout:.0f} s"
            else:
                if r.status_code == 200:
                    try:
                        return r.json()
                    except ValueError:
                        last = "a reply that is not JSON"
                elif r.status_code in RETRY_STATUS:
                    last = f"HTTP {r.status_code}"
                    after = r.headers.get("Retry-After", "")
                    wait = min(60.0, float(after)) if after.replace(".", "", 1).isdigit() else wait
                else:
                    raise self._fail(f"HTTP {r.status_code} on {path}: {_message(r)}")
            if attempt < self.retries:
                self.sleep(wait)
        raise self._fail(f"{last} on {path}, {self.retries + 1} tries")


def _message(r) -> str:
    try:
        body = r.json()
        err = body.get("error", body) if isinstance(body, dict) else body
        msg = err.get("message", err) if isinstance(err, dict) else err
    except ValueError:
        msg = r.text
    return " ".join(str(msg).split())[:200]


def _usage(reply: dict) -> dict:
    u = reply.get("usage") or {}
    return {"prompt_tokens": int(u.get("prompt_tokens") or 0), "completion_tokens": int(u.get("completion_tokens") or 0)}


def probe(model, settings: dict) -> str:
    """Check the server before any work (reachable, key accepted, model served) and decide the
    scoring: ``logprobs`` where the completions endpoint echoes log-probabilities, else ``generate``."""
    settings = {**model.options, **settings}
    client = Client(model, settings)
    r = client.get("/models")
    if r.status_code in (401, 403):
        raise client._fail(f"the key was refused (HTTP {r.status_code}): check {model.api_key_env or 'api_key_env'}")
    if r.status_code == 200:
        try:
            served = [m.get("id") for m in r.json().get("data", [])]
        except (ValueError, AttributeError):
            served = []
        if served and model.served_model not in served:
            raise client._fail(f"does not serve model {model.served_model!r}; it serves {', '.join(map(str, served))}")
    mode = settings.get("scoring") or "auto"
    if mode != "auto":
        return mode
    try:
        reply = client.post("/completions", {"model": model.served_model, "prompt": ["Answer: A"], "max_tokens": 1,
                                             "echo": True, "logprobs": 1, "temperature": 0})
        lp = reply["choices"][0]["logprobs"]
        return "logprobs" if lp and lp.get("token_logprobs") and lp.get("text_offset") else "generate"
    except (SpiderError, KeyError, IndexError, TypeError):
        return "generate"


@register_backend("openai")
class OpenAIBackend(Backend):
    """A served member (``model``: its LocalModel with kind endpoint; ``settings``: scoring, concurrency,
    timeout, max_retries). ``forward_passes`` counts items asked (one per prompt, as locally)."""

    def __init__(self, model, settings: dict, sleep=time.sleep):
        super().__init__()
        settings = {**model.options, **settings}
        self.model, self.client = model, Client(model, settings, sleep)
        self.mode = settings.get("scoring") if settings.get("scoring") in ("logprobs", "generate") else "logprobs"
        self.concurrency = int(settings.get("concurrency") or 4)
        self.chat = bool(settings.get("chat_template")) or self.mode == "generate"
        self.load_seconds = 0.0

    def _echoed(self, prompt: str, options: Sequence[str]) -> tuple[list[list[float | None]], dict]:
        """Per option, the log-probabilities of its tokens in the echoed prompt + option, from the
        option's first token on: the first starting at or after the prompt's end, or the one spanning
        it where the tokenizer merged across the boundary (as option_token_id and a split of the joined
        text do); and the reply's usage."""
        reply = self.client.post("/completions", {"model": self.model.served_model,
                                                  "prompt": [prompt + o for o in options], "max_tokens": 1,
                                                  "echo": True, "logprobs": 1, "temperature": 0})
        by_index = {c.get("index", i): c for i, c in enumerate(reply["choices"])}
        out = []
        for j, o in enumerate(options):
            lp = by_index[j]["logprobs"]
            offsets, values = lp["text_offset"], lp["token_logprobs"]
            first = next((t for t, off in enumerate(offsets) if off >= len(prompt)), len(offsets))
            if first > 0 and (first == len(offsets) or offsets[first] > len(prompt)):
                first -= 1
            tokens = [values[t] for t in range(first, len(offsets)) if offsets[t] < len(prompt) + len(o)]
            if not tokens or any(v is None for v in tokens):
                raise SpiderError(f"member '{self.model.name}': the server gave no log-probability for option {o!r}")
            out.append(tokens)
        return out, {"usage": _usage(reply)}

    def _logprob_item(self, prompt: str, options: Sequence[str]):
        tokens, extra = self._echoed(prompt, options)
        full = np.array([float(t[0]) for t in tokens])
        mass = float(np.logaddexp.reduce(full))
        return full - mass, mass, extra

    def _generate_item(self, prompt: str, options: Sequence[str]):
        letters = [o.strip() for o in options]
        reply = self.client.post("/chat/completions", {"model": self.model.served_model, "temperature": 0,
                                                       "max_tokens": 8,
                                                       "messages": [{"role": "user", "content": prompt}]})
        text = ((reply.get("choices") or [{}])[0].get("message") or {}).get("content") or ""
        found = next((m.group(1) for m in LETTER.finditer(text) if m.group(1) in letters), None)
        lp = np.full(len(options), np.nan)
        if found is not None:
            lp[letters.index(found)] = 0.0
        return lp, float("nan"), {"usage": _usage(reply), "generated": text[:200]}

    def _continuation_item(self, prompt: str, options: Sequence[str]):
        """Each option's tokens after the prompt, summed (the token spanning the boundary counts as the option's)."""
        tokens, extra = self._echoed(prompt, options)
        return np.array([float(sum(t)) for t in tokens]), float("nan"), extra

    def _text_item(self, prompt: str, max_new_tokens: int, stop: Sequence[str]):
        """A greedy answer: a chat turn (an instruct member, or a server without completions), else a
        plain completion of the prompt."""
        from llm_spider.tasks.answers import cut_at_stop

        body = {"model": self.model.served_model, "temperature": 0, "max_tokens": int(max_new_tokens),
                **({"stop": list(stop)[:4]} if stop else {})}
        if self.chat:
            reply = self.client.post("/chat/completions", {**body, "messages": [{"role": "user", "content": prompt}]})
            text = ((reply.get("choices") or [{}])[0].get("message") or {}).get("content") or ""
        else:
            reply = self.client.post("/completions", {**body, "prompt": prompt})
            text = (reply.get("choices") or [{}])[0].get("text") or ""
        return cut_at_stop(text, stop), {"usage": _usage(reply)}

    def _run(self, one, args: list[tuple], progress: Progress | None) -> list[tuple]:
        """``one(*a)`` for each of ``args``, ``concurrency`` at a time; a failure raises PartialBatch with
        what the others finished (their answers are paid for and are kept)."""
        done: dict[int, tuple] = {}
        error: Exception | None = None
        with ThreadPoolExecutor(max(1, min(self.concurrency, len(args)))) as pool:
            futures = {pool.submit(one, *a): i for i, a in enumerate(args)}
            for fut, i in futures.items():
                try:
                    done[i] = fut.result()
                except Exception as exc:  # the others still finish: what they paid for is kept
                    error = error or exc
        self.forward_passes += len(done)
        if progress:
            progress(len(done))
        if error is not None:
            raise PartialBatch(done, error)
        return [done[i] for i in range(len(args))]

    def option_logprobs(self, prompts: Sequence[str], options: Sequence[Sequence[str]],
                        progress: Progress | None = None) -> OptionScores:
        one = self._logprob_item if self.mode == "logprobs" else self._generate_item
        out = self._run(one, list(zip(prompts, options)), progress)
        return OptionScores([o[0] for o in out], np.array([o[1] for o in out]), [o[2] for o in out])

    def continuation_logprobs(self, prompts: Sequence[str], options: Sequence[Sequence[str]],
                              progress: Progress | None = None) -> OptionScores:
        if self.mode != "logprobs":
            raise SpiderError(f"member '{self.model.name}': its server gives no log-probabilities, which continuation "
                              "scoring reads; use --scoring generate")
        out = self._run(self._continuation_item, list(zip(prompts, options)), progress)
        return OptionScores([o[0] for o in out], np.array([o[1] for o in out]), [o[2] for o in out])

    def generate(self, prompts: Sequence[str], max_new_tokens: int, stop: Sequence[str],
                 progress: Progress | None = None) -> list[tuple[str, dict]]:
        try:
            out = self._run(self._text_item, [(p, max_new_tokens, stop) for p in prompts], progress)
        except PartialBatch as exc:  # the executor keeps (text, nan, extra) per finished item
            raise PartialBatch({i: (t, float("nan"), e) for i, (t, e) in exc.done.items()}, exc.error) from None
        return out

    def close(self) -> None:
        self.client.session.close()
