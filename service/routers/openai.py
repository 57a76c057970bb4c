"""OpenAI-compatible chat completions, so existing chat clients and scripts can ask minutes-qa.

The last user message is the question and the earlier user messages are the history (assistant
replies and system prompts are not questions). The reply's content is the extractive answer followed
by numbered references; the structured citations and the abstention flag ride along as extra
top-level fields.

Errors under /v1 use OpenAI's shape (`{"error": {"message", "type", "param", "code"}}`) with the
same codes as the native API: `service.errors.openai_status_and_type` maps them (every invalid
request is a 400 `invalid_request_error` here, a 422 on /ask).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from indexer.tokens import count_tokens
from service.deps import ENGINE_ERRORS, EngineDep, SettingsDep
from service.errors import OPENAI_PREFIX, ApiError, ErrorCode, error_responses
from service.references import render_answer
from service.validation import HISTORY_ERRORS, QUESTION_ERRORS, check_history, check_question

MODEL_ID = "minutes-qa"
router = APIRouter(prefix=OPENAI_PREFIX, tags=["openai-compatible"])
CHAT_ERRORS = error_responses(
    ErrorCode.INVALID_JSON, ErrorCode.INVALID_REQUEST, *QUESTION_ERRORS, *HISTORY_ERRORS, *ENGINE_ERRORS, openai=True
)


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # unknown standard fields (temperature, …) are ignored
    model: str | None = None
    messages: list[Message]
    stream: bool = False


def _parse(raw_body: bytes) -> ChatRequest:
    # Parsed here rather than as a FastAPI body parameter so the request schema stays OpenAI's
    # (extra fields allowed) and the documented contract does not grow a request model.
    try:
        raw = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(ErrorCode.INVALID_JSON, "the request body is not valid JSON") from None
    try:
        return ChatRequest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ApiError(ErrorCode.INVALID_REQUEST, f"'{where}': {first['msg']}", param=where or None) from None


@router.get("/models")
def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "minutes-qa"}]}


@router.post("/chat/completions", response_model=None, responses=CHAT_ERRORS)
async def chat_completions(request: Request, engine: EngineDep, settings: SettingsDep) -> Any:
    req = _parse(await request.body())
    if not req.messages or req.messages[-1].role != "user":
        raise ApiError(
            ErrorCode.INVALID_REQUEST, "'messages' must end with a user message (the question)", param="messages"
        )
    question = check_question(req.messages[-1].text(), settings)
    history = check_history([("user", m.text()) for m in req.messages[:-1] if m.role == "user"], settings)

    result = engine.ask(question, history, top_k=settings.default_top_k)
    content = render_answer(engine, result)
    prompt_tokens = sum(count_tokens(m.text()) for m in req.messages)
    completion_tokens = count_tokens(content)
    extra = {"citations": [c.__dict__ for c in result.citations], "abstained": result.abstained, "query": result.query}
    cid, created, model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), req.model or MODEL_ID
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if not req.stream:
        return {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": usage,
            **extra,
        }

    def events() -> Iterator[str]:
        base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
        opening = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
        first = {**base, "choices": [opening]}
        yield f"data: {json.dumps(first)}\n\n"
        words = content.split(" ")
        for i in range(0, len(words), 8):
            piece = " ".join(words[i : i + 8]) + (" " if i + 8 < len(words) else "")
            chunk = {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            yield f"data: {json.dumps(chunk)}\n\n"
        last = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage, **extra}
        yield f"data: {json.dumps(last)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
