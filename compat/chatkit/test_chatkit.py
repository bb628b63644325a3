"""The server's /api/v1/chatkit against the openai-chatkit SDK's own models.

Every request is built through TypeAdapter(ChatKitReq); every JSON answer and SSE
event is validated against the SDK's types, and any key the SDK model does not know
fails the test. Run by compat/run, which starts the server with the echo responder.
"""

import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest
from pydantic import TypeAdapter

from chatkit.types import ChatKitReq, Page, Thread, ThreadItem, ThreadStreamEvent

BASE = os.environ["BETTER_AUTH_URL"]
BIN = os.environ["INTELLISTACK_BIN"]
PASSWORD = "Chat-Passw0rd!x"

REQ = TypeAdapter(ChatKitReq)
EVENT = TypeAdapter(ThreadStreamEvent)
THREAD = TypeAdapter(Thread)
THREAD_PAGE = TypeAdapter(Page[Thread])
ITEM_PAGE = TypeAdapter(Page[ThreadItem])


# --- helpers ------------------------------------------------------------------------


def unknown_keys(raw, dumped, path="$"):
    """Keys present in what the server sent but not in the SDK model's dump."""
    found = []
    if isinstance(raw, dict) and isinstance(dumped, dict):
        for key, value in raw.items():
            if key not in dumped:
                found.append(f"{path}.{key}")
            else:
                found += unknown_keys(value, dumped[key], f"{path}.{key}")
    elif isinstance(raw, list) and isinstance(dumped, list):
        for i, (a, b) in enumerate(zip(raw, dumped)):
            found += unknown_keys(a, b, f"{path}[{i}]")
    return found


def check(adapter, raw):
    """Validates with the SDK and fails on keys the SDK does not define."""
    obj = adapter.validate_python(raw)
    dumped = adapter.dump_python(obj, mode="json", by_alias=True)
    extra = unknown_keys(raw, dumped)
    assert not extra, f"keys the SDK does not know: {extra}"
    return obj


def http(method, path, body=None, headers=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in req.headers:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, dict(res.headers), res.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class User:
    def __init__(self, name):
        self.email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
        subprocess.run(
            [BIN, "users", "create", "--email", self.email, "--name", name, "--role", "student", "--password-stdin"],
            input=PASSWORD + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
        status, headers, _ = http("POST", "/api/auth/sign-in/email", {"email": self.email, "password": PASSWORD})
        assert status == 200
        bearer = {k.lower(): v for k, v in headers.items()}["set-auth-token"]
        status, _, body = http("GET", "/api/auth/token", headers={"Authorization": f"Bearer {bearer}"})
        assert status == 200
        self.jwt = json.loads(body)["token"]

    def post(self, request):
        """Sends a request built and serialized by the SDK."""
        obj = REQ.validate_python(request)
        payload = REQ.dump_json(obj, by_alias=True, exclude_none=True)
        return http("POST", "/api/v1/chatkit", payload, {"Authorization": f"Bearer {self.jwt}", "Content-Type": "application/json"})

    def stream(self, request):
        status, headers, body = self.post(request)
        assert status == 200, body
        assert headers.get("Content-Type", headers.get("content-type", "")).startswith("text/event-stream")
        events = []
        for frame in body.decode().split("\n\n"):
            if not frame.strip():
                continue
            assert frame.startswith("data: ") and "\n" not in frame, f"bad frame {frame!r}"
            raw = json.loads(frame[len("data: "):])
            check(EVENT, raw)
            events.append(raw)
        return events, headers

    def json(self, request, expect=200):
        status, headers, body = self.post(request)
        assert status == expect, body
        return json.loads(body), headers


def message(text):
    return {"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}


def create(user, text="What does a gyroscope measure?"):
    events, headers = user.stream({"type": "threads.create", "params": {"input": message(text)}})
    return events[0]["thread"]["id"], events, headers


def assert_stream_invariants(events):
    kinds = [e["type"] for e in events]
    assert kinds.count("stream_options") == 1
    open_items, done = set(), set()
    for e in events:
        if e["type"] == "thread.item.added":
            open_items.add(e["item"]["id"])
        elif e["type"] == "thread.item.updated":
            assert e["item_id"] in open_items, "updated before added"
        elif e["type"] == "thread.item.done":
            item_id = e["item"]["id"]
            assert item_id not in done, "done twice"
            done.add(item_id)
            open_items.discard(item_id)


def streamed_text(events):
    return "".join(
        e["update"]["delta"]
        for e in events
        if e["type"] == "thread.item.updated" and e["update"]["type"] == "assistant_message.content_part.text_delta"
    )


def final_assistant(events):
    return [e["item"] for e in events if e["type"] == "thread.item.done" and e["item"]["type"] == "assistant_message"][-1]


# --- the matrix ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def ada():
    return User("ada")


def test_create_streams_in_the_sdk_order(ada):
    thread_id, events, _ = create(ada)
    assert events[0]["type"] == "thread.created"
    assert events[1]["type"] == "thread.item.done" and events[1]["item"]["type"] == "user_message"
    assert events[2]["type"] == "stream_options"
    assert_stream_invariants(events)
    text = streamed_text(events)
    assert text, "the assistant said something"
    assert final_assistant(events)["content"][0]["text"] == text
    page, _ = ada.json({"type": "items.list", "params": {"thread_id": thread_id, "order": "asc"}})
    check(ITEM_PAGE, page)
    assert page["data"][-1]["content"][0]["text"] == text, "stored text equals streamed text"


def test_add_user_message(ada):
    thread_id, _, _ = create(ada)
    events, _ = ada.stream({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": message("And an encoder?")}})
    assert events[0]["type"] == "thread.item.done"
    assert_stream_invariants(events)
    assert final_assistant(events)["content"][0]["text"] == streamed_text(events)


def test_list_threads_pages_newest_first():
    user = User("lister")
    ids = [create(user, f"question {i}")[0] for i in range(3)]
    seen, after = [], None
    while True:
        params = {"limit": 1}
        if after:
            params["after"] = after
        page, _ = user.json({"type": "threads.list", "params": params})
        check(THREAD_PAGE, page)
        seen += [t["id"] for t in page["data"]]
        if not page["has_more"]:
            assert "after" not in page
            break
        after = page["after"]
    assert seen == list(reversed(ids))


def test_get_by_id_and_item_paging(ada):
    thread_id, _, _ = create(ada)
    ada.stream({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": message("more")}})
    thread, _ = ada.json({"type": "threads.get_by_id", "params": {"thread_id": thread_id}})
    check(THREAD, thread)
    assert len(thread["items"]["data"]) == 4
    for order in ("asc", "desc"):
        seen, after = [], None
        while True:
            params = {"thread_id": thread_id, "limit": 1, "order": order}
            if after:
                params["after"] = after
            page, _ = ada.json({"type": "items.list", "params": params})
            check(ITEM_PAGE, page)
            seen += [i["id"] for i in page["data"]]
            if not page["has_more"]:
                break
            after = page["after"]
        assert len(seen) == 4 and len(set(seen)) == 4


def test_update_title(ada):
    thread_id, _, _ = create(ada)
    thread, _ = ada.json({"type": "threads.update", "params": {"thread_id": thread_id, "title": "Renamed"}})
    check(THREAD, thread)
    assert thread["title"] == "Renamed"


def test_delete_then_404(ada):
    thread_id, _, _ = create(ada)
    body, _ = ada.json({"type": "threads.delete", "params": {"thread_id": thread_id}})
    assert body == {}
    status, _, raw = ada.post({"type": "threads.get_by_id", "params": {"thread_id": thread_id}})
    assert status == 404
    err = json.loads(raw)["error"]
    assert err["code"] and err["message"]


def test_retry_replaces_what_followed(ada):
    thread_id, events, _ = create(ada)
    user_item = events[1]["item"]["id"]
    retry, _ = ada.stream({"type": "threads.retry_after_item", "params": {"thread_id": thread_id, "item_id": user_item}})
    assert_stream_invariants(retry)
    page, _ = ada.json({"type": "items.list", "params": {"thread_id": thread_id, "order": "asc"}})
    assert [i["type"] for i in page["data"]] == ["user_message", "assistant_message"]
    assert page["data"][1]["content"][0]["text"] == streamed_text(retry)


def test_feedback(ada):
    thread_id, events, _ = create(ada)
    body, _ = ada.json({"type": "items.feedback", "params": {"thread_id": thread_id, "item_ids": [final_assistant(events)["id"]], "kind": "positive"}})
    assert body == {}


def test_malformed_and_unknown_requests_are_4xx(ada):
    auth = {"Authorization": f"Bearer {ada.jwt}", "Content-Type": "application/json"}
    status, _, body = http("POST", "/api/v1/chatkit", b"{not json", auth)
    assert status == 400 and json.loads(body)["error"]["code"]
    status, _, body = http("POST", "/api/v1/chatkit", {"type": "threads.explode", "params": {}}, auth)
    assert 400 <= status < 500 and status not in (401, 403)
    assert json.loads(body)["error"]["code"]


def test_other_users_threads_are_not_found(ada):
    thread_id, _, _ = create(ada)
    mallory = User("mallory")
    for request in (
        {"type": "threads.get_by_id", "params": {"thread_id": thread_id}},
        {"type": "threads.update", "params": {"thread_id": thread_id, "title": "mine now"}},
        {"type": "threads.delete", "params": {"thread_id": thread_id}},
    ):
        status, _, _ = mallory.post(request)
        assert status == 404, request["type"]
    thread, _ = ada.json({"type": "threads.get_by_id", "params": {"thread_id": thread_id}})
    assert thread["title"] != "mine now"


def test_rate_limit_headers_count_user_messages_only():
    user = User("counter")
    _, headers = user.json({"type": "threads.list", "params": {}})
    h = {k.lower(): v for k, v in headers.items()}
    limit, remaining = int(h["x-ratelimit-limit"]), int(h["x-ratelimit-remaining"])
    assert int(h["x-ratelimit-reset"]) > 0
    thread_id, _, headers = create(user)
    h = {k.lower(): v for k, v in headers.items()}
    assert int(h["x-ratelimit-remaining"]) == remaining - 1
    _, headers = user.json({"type": "threads.get_by_id", "params": {"thread_id": thread_id}})
    h = {k.lower(): v for k, v in headers.items()}
    assert int(h["x-ratelimit-remaining"]) == remaining - 1, "reads do not count"
    _, headers = user.stream({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": message("again")}})
    h = {k.lower(): v for k, v in headers.items()}
    assert int(h["x-ratelimit-remaining"]) == remaining - 2
    assert int(h["x-ratelimit-limit"]) == limit
