"""A governed OpenAI-compatible endpoint: ``POST /v1/chat/completions`` and ``GET /v1/models``.

An application points its OpenAI client at PromptForge (``base_url=.../v1``, ``api_key=`` an API
token with the ``run`` scope). Every request goes through the governed pipeline as a chat prompt
whose messages are the client's: each message is scrubbed (one pseudonym map per request), the
conversation is screened, sent to the provider, the answer scrubbed and screened, evaluated and
recorded as a run of the app the request names:

- ``model="prompt:SLUG@LABEL"`` (or ``SLUG@vN``, or ``SLUG``): a registered prompt; the run is
  recorded under that prompt and version, and sent to the version's default provider (else the
  configured one);
- any other model (``offline``, ``openai:gpt-4o-mini``, ``compat:MODEL@URL``): that provider, the
  run recorded under the app ``gateway`` (or the ``X-PromptForge-App: NAME@VERSION`` header's).

The message contents are values, never template code: ``{{ ... }}`` in a message is sent as written.
A blocked request is answered in OpenAI's error shape (400, ``content_policy_violation``), so
clients handle it as they handle a provider's content filter; a provider that failed (after the
configured fallbacks) is a 502 ``api_error``. Streaming is not offered.
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.auth import caller
from api.errors import headers_of, status_of
from api.routes import registry_for
from config.errors import InputError, PromptForgeError
from execution.prompt_ref import PromptRef
from security.identity import Permission
from security.identity.principal import Principal

router = APIRouter(prefix="/v1", tags=["gateway"])
PROMPT_MODEL = "prompt:"
GATEWAY_APP = "gateway"
_APP = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}(?:@[A-Za-z0-9._-]{1,40})?$")


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # OpenAI's other fields are accepted and not used
    model: str
    messages: list[Message] = Field(min_length=1)
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stream: bool = False


def openai_error(exc: PromptForgeError, code: str | None = None, status: int | None = None, **extra: Any) -> JSONResponse:
    """``{"error": {"message", "type", "param", "code"}}`` as OpenAI answers, with the hint."""
    status = status or status_of(exc)
    kind = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
            429: "rate_limit_error"}.get(status, "api_error")
    body = {"error": {"message": str(exc), "type": kind, "param": None, "code": code or type(exc).__name__, **extra}}
    return JSONResponse(body, status_code=status, headers=headers_of(exc))


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for part in content:
        if part.get("type") != "text":
            raise InputError("Only text message parts are accepted.", "Send images and files another way.")
        parts.append(str(part.get("text", "")))
    return "\n".join(parts)


def _target(model: str, app_header: str | None, request: Request, who: Principal) -> tuple[PromptRef, str | None]:
    """(the run's app identity, the provider spec: None for the version's or the configured default)."""
    if model.startswith(PROMPT_MODEL):
        registry = registry_for(request, who)
        version = registry.resolve(model.removeprefix(PROMPT_MODEL))
        provider = registry.template(version).run.provider
        return PromptRef.registered(version.slug, version.version, version.label), provider
    if app_header:
        if not _APP.match(app_header.strip()):
            raise InputError("X-PromptForge-App must be NAME or NAME@VERSION (lowercase name).", "For example support-bot@2.1.")
        name, _, version = app_header.strip().partition("@")
        return PromptRef(name, version or "unversioned"), model
    return PromptRef(GATEWAY_APP, model), model


@router.post("/chat/completions", summary="OpenAI chat completions, governed and recorded")
def chat_completions(
    body: ChatRequest,
    request: Request,
    who: Annotated[Principal, Depends(caller)],
    x_promptforge_app: Annotated[str | None, Header()] = None,
):
    from execution.chat_template import ChatTemplate
    from execution.templates import RunSettings

    if body.stream:
        return openai_error(InputError("Streaming is not offered by the PromptForge gateway.", "Send stream=false."),
                            code="stream_not_supported", status=400)
    who.require(Permission.RUN_PROMPTS, "run prompts through the gateway")
    prompt, provider = _target(body.model, x_promptforge_app, request, who)
    # each message's content is a variable: sent as written, never rendered as template code
    messages = [("system" if m.role == "developer" else m.role, f"{{{{ m{i} }}}}") for i, m in enumerate(body.messages)]
    variables = {f"m{i}": _text(m.content) for i, m in enumerate(body.messages)}
    pipeline = request.app.state.pipeline.acting_as(who)
    run = RunSettings(temperature=body.temperature, max_tokens=body.max_completion_tokens or body.max_tokens)
    template = ChatTemplate(messages, pipeline.limits, run=run)
    result = pipeline.run(template, variables, prompt=prompt, provider=provider)
    governance = {
        "record_id": result.record_id, "status": result.status, "app": prompt.label_text,
        "injection": result.injection, "pii_in": result.pii_in, "pii_out": result.pii_out,
    }
    if result.status == "blocked":
        reasons = "; ".join(result.injection.get("reasons", [])[:3]) if isinstance(result.injection, dict) else ""
        return openai_error(
            InputError(f"PromptForge blocked the request before the model: {reasons or 'the injection policy'}.",
                       f"The run is recorded as {result.record_id}; rephrase the request or ask a reviewer."),
            code="content_policy_violation", status=400, promptforge=governance,
        )
    if result.status != "ok":
        return openai_error(
            PromptForgeError(f"The model call failed: {result.error}", f"The run is recorded as {result.record_id}."),
            code="provider_error", status=502, promptforge=governance,
        )
    return {
        "id": f"chatcmpl-{result.record_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": result.output}, "finish_reason": "stop",
                     "logprobs": None}],
        "usage": {"prompt_tokens": result.input_tokens, "completion_tokens": result.output_tokens,
                  "total_tokens": result.input_tokens + result.output_tokens},
        "promptforge": {**governance, "provider": result.provider, "model": result.model, "cost_usd": result.cost_usd},
    }


@router.get("/models", summary="What the gateway accepts as model: registered prompts and the configured provider")
def models(request: Request, who: Annotated[Principal, Depends(caller)]) -> dict[str, Any]:
    created = int(time.time())
    ids = [request.app.state.pipeline.settings.default_provider]
    for p in registry_for(request, who).list_prompts():
        ids += [f"{PROMPT_MODEL}{p.slug}"] + [f"{PROMPT_MODEL}{p.slug}@{label}" for label in sorted(p.labels)]
    return {"object": "list", "data": [{"id": i, "object": "model", "created": created, "owned_by": "promptforge"} for i in ids]}
