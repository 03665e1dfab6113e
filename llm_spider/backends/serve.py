"""vLLM's own OpenAI-compatible server, started from the Python environment vLLM lives in (it pins its
own torch and transformers, so it is rarely this one): what the endpoint tests and benchmark run
against, and a way to serve a zoo member's converted folder on a GPU box.

    with VLLMServer("/opt/vllm-env/bin/python", folder, "smol") as server:
        ...  # server.url is the endpoint a zoo file names
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from llm_spider.errors import SpiderError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VLLMServer:
    """``python``: the interpreter of vLLM's environment; ``folder``: a Hugging Face layout model;
    ``name``: the model name it serves. CPU build settings by default (eager, 1 GiB KV cache)."""

    def __init__(self, python: str | Path, folder: str | Path, name: str, port: int | None = None,
                 dtype: str = "float32", log: str | Path | None = None, extra: list[str] | None = None):
        self.python, self.folder, self.name = str(python), str(folder), name
        self.port = port or free_port()
        self.dtype, self.extra = dtype, list(extra or [])
        self.log = Path(log) if log else None
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 600.0) -> VLLMServer:
        import requests

        env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [self.python, "-m", "vllm.entrypoints.openai.api_server", "--model", self.folder,
             "--served-model-name", self.name, "--host", "127.0.0.1", "--port", str(self.port), "--dtype", self.dtype,
             "--max-model-len", "2048", "--enforce-eager", *self.extra],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SpiderError(f"vLLM's server exited with {self.proc.returncode} while starting"
                                  + (f"; see {self.log}" if self.log else ""))
            try:
                if requests.get(self.url + "/models", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(1.0)
        self.stop()
        raise SpiderError(f"vLLM's server did not answer within {timeout:.0f} s")

    def stop(self, kill: bool = False) -> None:
        """Stop it (``kill``: at once, as a crash would) and wait for it to end."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def __enter__(self) -> VLLMServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
