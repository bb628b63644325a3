"""Times chat turns: POST a ChatKit threads.create and read the stream to its
end. With --model, times the model double alone (the same 200 tokens).
Prints the median and p90 in milliseconds over N turns after a warm-up."""
import json
import statistics
import sys
import time
import urllib.request


def turn(url, token, model_only):
    if model_only:
        body = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    else:
        body = {"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": "How does a PID controller correct drift?"}],
                                                               "quoted_text": None, "attachments": [], "inference_options": {}}}}
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"})
    if token:
        req.add_header("authorization", f"Bearer {token}")
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as res:
        data = res.read()
    elapsed = (time.perf_counter() - start) * 1000
    if not model_only and b"thread.item.done" not in data:
        raise SystemExit(f"{url}: the turn did not complete: {data[:300]!r}")
    return elapsed


def main():
    url, n = sys.argv[1], int(sys.argv[2])
    token = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None
    model_only = "--model" in sys.argv
    for _ in range(5):
        turn(url, token, model_only)
    times = sorted(turn(url, token, model_only) for _ in range(n))
    print(f"{statistics.median(times):.2f} {times[int(len(times) * 0.9) - 1]:.2f}")


main()
