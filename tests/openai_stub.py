"""A small OpenAI-protocol HTTP server on 127.0.0.1 for the failure cases of the `openai`
backend that a real server will not produce on demand: slow, timing out, or answering
junk. Its valid answers are derived from the image bytes, so they are deterministic and
differ per image. The real server (llama-cpp-python's) is exercised in test_vision.py.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MOODS = ["tense", "calm", "ominous", "joyful", "grim", "tender"]
SCALES = ["wide", "medium", "close-up"]


def answer_for(image: bytes) -> dict:
    h = hashlib.sha256(image).digest()
    return {
        "visual_content": f"frame {h[:4].hex()}",
        "mood": MOODS[h[4] % len(MOODS)],
        "action": f"action {h[5]}",
        "setting": f"place {h[6] % 10}",
        "shot_scale": SCALES[h[7] % 3],
        "people": h[8] % 5,
        "intensity": round(h[9] / 255, 3),
    }


class StubServer:
    """mode: "ok" (valid JSON after `delay`), "sleep" (answers after `delay`, for time-outs),
    "junk" (HTTP 200 with a body that is not JSON), "prose" (a completion without JSON)."""

    def __init__(self, mode: str = "ok", delay: float = 0.0):
        self.mode, self.delay = mode, delay
        self.requests = 0
        self.asked: collections.Counter[str] = collections.Counter()  # requests per image
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                url = body["messages"][0]["content"][0]["image_url"]["url"]
                image = base64.b64decode(url.split(",", 1)[1])
                with stub.lock:
                    stub.requests += 1
                    stub.asked[hashlib.sha256(image).hexdigest()[:16]] += 1
                time.sleep(stub.delay)
                if stub.mode == "junk":
                    return self._send(b"<html>502 upstream hiccup</html>", "text/html")
                content = "I see a frame." if stub.mode == "prose" else json.dumps(answer_for(image))
                reply = {
                    "id": "stub",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                    ],
                }
                self._send(json.dumps(reply).encode(), "application/json")

            def _send(self, data: bytes, kind: str):
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (time-out)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
