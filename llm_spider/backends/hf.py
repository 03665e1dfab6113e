"""The transformers backend: the CPU default, loading GGUF files once into a safetensors cache.

Why a cache: transformers dequantises a GGUF file tensor by tensor in Python (25-80 s for the zoo's
models); the dequantised weights saved as safetensors reload in seconds. Why options are scored
from the last hidden state times the option tokens' output-embedding rows: a full-vocabulary logit
row is wasted work (Gemma's 262k vocabulary would cost GBs over a batch), and the option logits are
exactly those rows of the LM head. The log-sum-exp over the full vocabulary is still computed, in
chunks, so the options' share of the probability mass is known (a model that would rather say
something else is less sure than its option-normalised probabilities say).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from llm_spider.backends.base import Backend, OptionScores, Progress, option_token_id, split_continuation
from llm_spider.backends.registry import register_backend
from llm_spider.errors import SpiderError

CACHE_FORMAT = 1


def available_memory_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux); None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def quiet_transformers() -> None:
    """transformers' own tqdm bars (loading weights, dequantising) go off: our bars on stderr say
    what is loading, and a second kind of bar, unasked, clutters logs."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def convert_gguf(gguf_file: Path, out_dir: Path, dtype: str = "float32") -> Path:
    """Dequantise ``gguf_file`` into a transformers directory (safetensors) at ``out_dir``, atomically:
    an interrupted conversion leaves no half-written cache behind."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()
    tmp = out_dir.with_name(out_dir.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tok = AutoTokenizer.from_pretrained(str(gguf_file.parent), gguf_file=gguf_file.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf_file.parent), gguf_file=gguf_file.name,
                                                     dtype=getattr(torch, dtype))
        # The weights are dequantised now: saving them with the GGUF quantizer attached would fail.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(tmp), safe_serialization=True)
        tok.save_pretrained(str(tmp))
        (tmp / "llm_spider_cache.json").write_text(json.dumps(
            {"format": CACHE_FORMAT, "source": gguf_file.name, "dtype": dtype}, indent=1))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def is_converted(out_dir: Path) -> bool:
    marker = out_dir / "llm_spider_cache.json"
    try:
        return json.loads(marker.read_text()).get("format") == CACHE_FORMAT
    except (OSError, ValueError):
        return False


@register_backend("transformers")
class TransformersBackend(Backend):
    """A causal LM from a local transformers directory, run batched on the CPU (or ``device``)."""

    supports_adapters = True

    @classmethod
    def open(cls, model_dir: str | Path, batch_size: int = 8, threads: int | None = None,
             dtype: str = "float32", **options) -> TransformersBackend:
        return cls(model_dir, batch_size=batch_size, threads=threads, dtype=dtype,
                   device=options.get("device") or "cpu", device_map=options.get("device_map"),
                   max_tokens=options.get("max_length") or 2048, chat_template=bool(options.get("chat_template")),
                   trust_remote_code=bool(options.get("trust_remote_code")))

    def __init__(self, model_dir: str | Path, batch_size: int = 8, threads: int | None = None,
                 device: str = "cpu", max_tokens: int = 2048, dtype: str = "float32", device_map: str | None = None,
                 chat_template: bool = False, trust_remote_code: bool = False):
        """``device_map="auto"``: accelerate spreads a model too large for one GPU over all of them;
        ``chat_template``: prompts go through the tokenizer's chat template as a user turn, and the
        option letters are scored as the assistant's first token (an instruct model's own format)."""
        super().__init__()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(int(threads))
        self.model_dir = Path(model_dir)
        self.batch_size, self.max_tokens, self.chat = max(1, int(batch_size)), max_tokens, chat_template
        quiet_transformers()
        t0 = time.perf_counter()
        remote = {"trust_remote_code": True} if trust_remote_code else {}
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), **remote)
        if device_map:
            self.model = AutoModelForCausalLM.from_pretrained(str(self.model_dir), dtype=getattr(torch, dtype),
                                                              device_map=device_map, **remote).eval()
        else:
            self.model = AutoModelForCausalLM.from_pretrained(str(self.model_dir), dtype=getattr(torch, dtype),
                                                              **remote).to(device).eval()
        self.device = str(self.model.device)  # inputs go where the first layers are
        if self.chat and not getattr(self.tokenizer, "chat_template", None):
            raise SpiderError(f"{self.model_dir}: chat_template is set but the tokenizer has no chat template")
        self.load_seconds = time.perf_counter() - t0
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "left"
        self.head = self.model.get_output_embeddings()
        self.softcap = getattr(self.model.config, "final_logit_softcapping", None)

    # --- tokens ------------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=not self.chat)["input_ids"]

    def as_chat(self, prompts: Sequence[str], options: Sequence[Sequence[str]]):
        """Prompts as a user turn of the chat template (ready for the assistant's answer) and the
        options without their leading space: what an instruct model would write first."""
        if not self.chat:
            return prompts, options
        turns = [self.tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                                    add_generation_prompt=True) for p in prompts]
        return turns, [[o.strip() or o for o in opts] for opts in options]

    def option_token(self, prompt_ids: list[int], prompt: str, option: str) -> int:
        return option_token_id(self.encode, lambda o: self.tokenizer(o, add_special_tokens=False)["input_ids"],
                               prompt_ids, prompt, option)

    # --- forward -----------------------------------------------------------------------------
    def _last_hidden(self, batch_ids: list[list[int]]):
        import torch

        width = max(len(ids) for ids in batch_ids)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch_ids])
        attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch_ids])
        # Left padding: positions must start at 0 at each prompt's first real token, as unbatched.
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        out = self.model.get_decoder()(input_ids=input_ids.to(self.device), attention_mask=attention.to(self.device),
                                       position_ids=positions.to(self.device), use_cache=False)
        return out.last_hidden_state[:, -1, :]

    def _batches(self, ids: list[list[int]]):
        """Prompts sorted by length (less padding), in batches; yields original indices."""
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), self.batch_size):
            yield order[start:start + self.batch_size]

    def _prompt_ids(self, prompts: Sequence[str]) -> list[list[int]]:
        ids = [self.encode(p) for p in prompts]
        too_long = [i for i, x in enumerate(ids) if len(x) > self.max_tokens]
        if too_long:
            raise SpiderError(f"prompt {too_long[0]} has {len(ids[too_long[0]])} tokens, more than "
                              f"max_tokens={self.max_tokens}")
        return ids

    def _logits(self, hidden, token_ids):
        import torch

        w = self.head.weight[token_ids].float().to(hidden.device)  # scored in float32 whatever the dtype
        logits = hidden.float() @ w.T
        if getattr(self.head, "bias", None) is not None:
            logits = logits + self.head.bias[token_ids].float().to(hidden.device)
        if self.softcap:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits

    def _logsumexp_vocab(self, hidden, chunk: int = 32768):
        """log Σ_v exp(logit_v) over the whole vocabulary, chunked to bound memory."""
        import torch

        w, hidden = self.head.weight, hidden.float()
        parts = []
        for start in range(0, w.shape[0], chunk):
            part = hidden @ w[start:start + chunk].float().to(hidden.device).T
            if getattr(self.head, "bias", None) is not None:
                part = part + self.head.bias[start:start + chunk].float().to(hidden.device)
            if self.softcap:
                part = torch.tanh(part / self.softcap) * self.softcap
            parts.append(torch.logsumexp(part, dim=-1))
        return torch.logsumexp(torch.stack(parts, -1), dim=-1)

    def prompt_option_tokens(self, prompts: Sequence[str], options: Sequence[Sequence[str]]
                             ) -> tuple[list[list[int]], list[list[int]]]:
        """Token ids of each prompt and the first token of each of its options (distinct per prompt):
        what scoring reads, and what a specialist is trained on."""
        if len(prompts) != len(options):
            raise ValueError("one option list per prompt")
        ids = self._prompt_ids(prompts)
        tokens = []
        for p, pid, opts in zip(prompts, ids, options):
            toks = [self.option_token(pid, p, o) for o in opts]
            if len(set(toks)) != len(toks):
                raise SpiderError(f"options {list(opts)} share a first token for this tokenizer; "
                                  "use distinct option labels")
            tokens.append(toks)
        return ids, tokens

    def option_logprobs(self, prompts: Sequence[str], options: Sequence[Sequence[str]],
                        progress: Progress | None = None) -> OptionScores:
        import torch

        ids, tokens = self.prompt_option_tokens(*self.as_chat(prompts, options))
        out: list[np.ndarray | None] = [None] * len(prompts)
        mass = np.full(len(prompts), np.nan)
        with torch.inference_mode():
            for batch in self._batches(ids):
                hidden = self._last_hidden([ids[i] for i in batch]).float()
                lse = self._logsumexp_vocab(hidden)
                for row, i in enumerate(batch):
                    logits = self._logits(hidden[row:row + 1], tokens[i])[0].double()
                    opt_lse = torch.logsumexp(logits, 0)
                    out[i] = (logits - opt_lse).cpu().numpy()
                    mass[i] = float(opt_lse - lse[row].double())
                self.forward_passes += len(batch)
                if progress:
                    progress(len(batch))
        return OptionScores(out, mass)

    # --- continuations and generation (lm-eval's acc/acc_norm; generated answers) ---------------
    def _pairs(self, prompts: Sequence[str], options: Sequence[Sequence[str]]) -> list[tuple[int, int, list[int]]]:
        """(item, option, the tokens run) per option, and each one's continuation length in ``self._cont``."""
        prompts, options = self.as_chat(prompts, options)
        prefix = self.tokenizer.bos_token_id if self.tokenizer.bos_token_id is not None else self.tokenizer.eos_token_id
        bare = lambda t: self.tokenizer(t, add_special_tokens=False)["input_ids"]  # noqa: E731
        pairs = []
        for i, (p, opts) in enumerate(zip(prompts, options)):
            for j, o in enumerate(opts):
                ctx, cont = split_continuation(self.encode, prefix, p, o, bare)
                if not cont:
                    raise SpiderError(f"option {o!r} has no tokens after its prompt")
                if len(ctx) + len(cont) - 1 > self.max_tokens:
                    raise SpiderError(f"prompt {i} with option {j} has {len(ctx) + len(cont)} tokens, more than "
                                      f"max_tokens={self.max_tokens}")
                pairs.append((i, j, ctx + cont, len(cont)))
        return pairs

    def continuation_logprobs(self, prompts: Sequence[str], options: Sequence[Sequence[str]],
                              progress: Progress | None = None) -> OptionScores:
        """Each option's tokens scored after the prompt over the full vocabulary (float32 log-softmax),
        one sequence per option, in batches; ``logprobs`` are the sums."""
        import torch

        pairs = self._pairs(prompts, options)
        sums = [np.zeros(len(o)) for o in options]
        left = [len(o) for o in options]
        pad = self.tokenizer.pad_token_id
        with torch.inference_mode():
            for start in range(0, len(pairs), self.batch_size):
                batch = pairs[start:start + self.batch_size]
                inputs = [seq[:-1] for _, _, seq, _ in batch]
                width = max(len(x) for x in inputs)
                ids = torch.tensor([[pad] * (width - len(x)) + x for x in inputs])
                attention = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in inputs])
                positions = (attention.cumsum(-1) - 1).clamp(min=0)
                hidden = self.model.get_decoder()(input_ids=ids.to(self.device), attention_mask=attention.to(self.device),
                                                  position_ids=positions.to(self.device), use_cache=False).last_hidden_state
                rows, targets = [], []
                for b, (_, _, seq, n) in enumerate(batch):
                    rows.append(hidden[b, width - n:width])  # the positions that predict the option's tokens
                    targets.append(seq[-n:])
                flat = torch.cat(rows).float()
                lse = self._logsumexp_vocab(flat)
                target = torch.tensor([t for ts in targets for t in ts], device=flat.device)
                w = self.head.weight[target].float().to(flat.device)
                logits = (flat * w).sum(-1)
                if getattr(self.head, "bias", None) is not None:
                    logits = logits + self.head.bias[target].float().to(flat.device)
                if self.softcap:
                    logits = torch.tanh(logits / self.softcap) * self.softcap
                token_lp = (logits - lse).double().cpu().numpy()
                at = 0
                finished = 0
                for (i, j, _, n) in batch:
                    sums[i][j] = float(token_lp[at:at + n].sum())
                    at += n
                    left[i] -= 1
                    finished += left[i] == 0
                self.forward_passes += len(batch)
                if progress and finished:
                    progress(finished)
        return OptionScores(sums, np.full(len(prompts), np.nan))

    def generate(self, prompts: Sequence[str], max_new_tokens: int, stop: Sequence[str],
                 progress: Progress | None = None) -> list[tuple[str, dict]]:
        """Greedy decoding in left-padded batches, stopped at a stop sequence (or EOS)."""
        import torch

        from llm_spider.tasks.answers import cut_at_stop

        turns, _ = self.as_chat(prompts, [[] for _ in prompts])
        ids = self._prompt_ids(turns)
        out: list[tuple[str, dict] | None] = [None] * len(prompts)
        pad = self.tokenizer.pad_token_id
        stops = [s for s in stop if s] or None
        with torch.inference_mode():
            for batch in self._batches(ids):
                width = max(len(ids[i]) for i in batch)
                input_ids = torch.tensor([[pad] * (width - len(ids[i])) + ids[i] for i in batch])
                attention = torch.tensor([[0] * (width - len(ids[i])) + [1] * len(ids[i]) for i in batch])
                gen = self.model.generate(input_ids=input_ids.to(self.device), attention_mask=attention.to(self.device),
                                          max_new_tokens=int(max_new_tokens), do_sample=False, temperature=None,
                                          top_p=None, top_k=None, pad_token_id=pad, stop_strings=stops,
                                          tokenizer=self.tokenizer if stops else None)
                for row, i in enumerate(batch):
                    new = [t for t in gen[row, width:].tolist() if t != pad]
                    text = self.tokenizer.decode(new, skip_special_tokens=True)
                    out[i] = (cut_at_stop(text, stop), {"new_tokens": len(new)})
                self.forward_passes += len(batch)
                if progress:
                    progress(len(batch))
        return out

    def close(self) -> None:
        del self.model
        import gc

        gc.collect()
