"""An OpenAI-compatible model double: every chat completion streams exactly
200 tokens at once and ends. Both servers under test call it, so the time it
takes is the same for both and can be subtracted."""
import json
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKENS = 200


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Without this, the header and body segments wait on delayed ACKs
        # (tens of milliseconds) and the double would dominate the timings.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        frames = [
            "data: " + json.dumps({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "bench",
                                   "choices": [{"index": 0, "delta": {"role": "assistant", "content": f"tok{i} "}, "finish_reason": None}]}) + "\n\n"
            for i in range(TOKENS)
        ]
        frames.append("data: " + json.dumps({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "bench",
                                             "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}) + "\n\n")
        frames.append("data: [DONE]\n\n")
        body = "".join(frames).encode()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
