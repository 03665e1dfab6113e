"""A small OpenAI-compatible server for the faults a real one cannot be made to produce on demand
(429, 500, a dropped connection, a slow reply). Everything else is tested against vLLM's own server
(tests/live/test_vllm_server.py).

Its "model" scores an option letter by a hash of the prompt, so answers are fixed per item; it
counts every prompt it answered, so a test can tell whether an item was paid for twice.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def letter_logprob(prompt: str) -> float:
    """The stub's log-probability of the text's last token (an option such as " B")."""
    return -0.5 - int(hashlib.sha256(prompt.encode()).hexdigest()[:4], 16) / 65535 * 4


class Stub:
    def __init__(self, key: str | None = None, chat_reply=lambda prompt: "B"):
        self.key, self.chat_reply = key, chat_reply
        self.faults: list[str] = []  # for the next requests, in order: "429", "500", "drop", "slow", "404"
        self.always: str | None = None  # a fault for every request from now on
        self.answered: Counter = Counter()  # prompt -> times answered with 200
        self.requests = 0
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status: int, body: dict, headers: dict | None = None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if stub.key and self.headers.get("Authorization") != f"Bearer {stub.key}":
                    self._send(401, {"error": {"message": "bad key"}})
                    return False
                return True

            def do_GET(self):
                if self._authorised():
                    self._send(200, {"object": "list", "data": [{"id": "stub-model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if not self._authorised():
                    return
                with stub.lock:
                    stub.requests += 1
                    fault = stub.faults.pop(0) if stub.faults else stub.always
                if fault == "429":
                    return self._send(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
                if fault == "500":
                    return self._send(500, {"error": {"message": "boom"}})
                if fault == "404":
                    return self._send(404, {"error": {"message": "no such route"}})
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fault == "slow":
                    time.sleep(1.5)
                if self.path.endswith("/completions") and "chat" not in self.path:
                    prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
                    choices = []
                    for i, p in enumerate(prompts):
                        head, last = p[:-2], p[-2:]
                        choices.append({"index": i, "text": "\n", "logprobs": {
                            "tokens": [head, last, "\n"], "token_logprobs": [None, letter_logprob(p), -0.1],
                            "text_offset": [0, len(head), len(p)]}})
                    with stub.lock:
                        stub.answered.update(prompts)
                    return self._send(200, {"choices": choices, "usage": {"prompt_tokens": 10 * len(prompts),
                                                                          "completion_tokens": len(prompts)}})
                prompt = body["messages"][-1]["content"]
                with stub.lock:
                    stub.answered[prompt] += 1
                return self._send(200, {"choices": [{"message": {"role": "assistant",
                                                                 "content": stub.chat_reply(prompt)}}],
                                        "usage": {"prompt_tokens": 12, "completion_tokens": 3}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
