"""A ChatKit server built with the openai-chatkit SDK, as its guides show:
an in-memory Store and a respond() that streams the model's tokens as
assistant-message events. Served by FastAPI/uvicorn at POST /chatkit."""
import os
from datetime import datetime, timezone

from chatkit.server import ChatKitServer, StreamingResult
from chatkit.store import Store
from chatkit.types import (AssistantMessageContent, AssistantMessageContentPartTextDelta, AssistantMessageItem, Page,
                           ThreadItemAddedEvent, ThreadItemDoneEvent, ThreadItemUpdatedEvent)
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from openai import AsyncOpenAI

MODEL = AsyncOpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="bench")


class MemoryStore(Store[dict]):
    def __init__(self):
        self.threads, self.items = {}, {}

    async def load_thread(self, thread_id, context):
        return self.threads[thread_id]

    async def save_thread(self, thread, context):
        self.threads[thread.id] = thread

    async def load_thread_items(self, thread_id, after, limit, order, context):
        items = list(self.items.get(thread_id, {}).values())
        if order == "desc":
            items.reverse()
        if after:
            ids = [i.id for i in items]
            items = items[ids.index(after) + 1:] if after in ids else items
        return Page(data=items[:limit], has_more=len(items) > limit, after=items[limit - 1].id if len(items) > limit else None)

    async def save_attachment(self, attachment, context):
        raise NotImplementedError

    async def load_attachment(self, attachment_id, context):
        raise NotImplementedError

    async def delete_attachment(self, attachment_id, context):
        raise NotImplementedError

    async def load_threads(self, limit, after, order, context):
        threads = list(self.threads.values())
        return Page(data=threads[:limit], has_more=len(threads) > limit)

    async def add_thread_item(self, thread_id, item, context):
        self.items.setdefault(thread_id, {})[item.id] = item

    async def save_item(self, thread_id, item, context):
        self.items.setdefault(thread_id, {})[item.id] = item

    async def load_item(self, thread_id, item_id, context):
        return self.items[thread_id][item_id]

    async def delete_thread(self, thread_id, context):
        self.threads.pop(thread_id, None)
        self.items.pop(thread_id, None)

    async def delete_thread_item(self, thread_id, item_id, context):
        self.items.get(thread_id, {}).pop(item_id, None)


class Tutor(ChatKitServer[dict]):
    async def respond(self, thread, input_user_message, context):
        text = "".join(c.text for c in input_user_message.content if hasattr(c, "text")) if input_user_message else ""
        item = AssistantMessageItem(id=self.store.generate_item_id("message", thread, context), thread_id=thread.id,
                                    created_at=datetime.now(timezone.utc), content=[AssistantMessageContent(text="")])
        yield ThreadItemAddedEvent(item=item)
        answer = []
        stream = await MODEL.chat.completions.create(model="bench", stream=True, messages=[{"role": "user", "content": text}])
        async for chunk in stream:
            delta = chunk.choices[0].delta.content if chunk.choices else None
            if delta:
                answer.append(delta)
                yield ThreadItemUpdatedEvent(item_id=item.id, update=AssistantMessageContentPartTextDelta(content_index=0, delta=delta))
        item.content = [AssistantMessageContent(text="".join(answer))]
        yield ThreadItemDoneEvent(item=item)


server = Tutor(MemoryStore())
app = FastAPI()


@app.post("/chatkit")
async def chatkit(request: Request):
    result = await server.process(await request.body(), {})
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")
