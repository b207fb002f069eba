"""A local server speaking the Gemini API's `models.generateContent` (v1beta) for tests and the demo.

- `POST /v1beta/models/{model}:generateContent` with the key in `x-goog-api-key` (or `?key=`), body
  `{"contents": [{"parts": [{"text"}]}], ...}` → `{"candidates": [{"content": {"parts": [{"text"}], "role":
  "model"}, "finishReason": "STOP", "index": 0}], "usageMetadata": {...}, "modelVersion", "responseId"}`.
- Errors in Google's JSON (`{"error": {"code", "message", "status", "details"}}`): no key → 403
  PERMISSION_DENIED; a wrong key → 400 INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID; an unknown model
  → 404 NOT_FOUND; a body without contents → 400 INVALID_ARGUMENT; `plan.fail_next(GENERATE, n, 429,
  retry_after=s)` → 429 RESOURCE_EXHAUSTED with a RetryInfo `retryDelay` (no Retry-After header, as Google
  sends it); 500 INTERNAL, 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED likewise.
- A prompt containing one of `blocked_words` gets no candidates and `promptFeedback.blockReason: SAFETY`;
  `finish_reason` (STOP) is what every candidate reports (MAX_TOKENS for a cut answer).

What the model writes comes from `reply(prompt) -> str`; the default returns the frame the prompt carries
between `FRAME_START` and `FRAME_END` lines (the template rendered for the prospect), so the demo is readable
and deterministic. Every request's prompt is kept in `prompts`.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from backbeat.demo.standins._http import FakeServer, FaultPlan, Response, json_response
from backbeat.outreach.generation import FRAME_END, FRAME_START

GENERATE = "generateContent"
DEFAULT_MODELS = ("gemini-2.5-flash", "gemini-2.5-pro")
_PATH = re.compile(r"^/v1beta/models/([^/:]+):(\w+)$")
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_MESSAGES = {
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}


def google_error(code: int, message: str, *, details: list[dict[str, Any]] | None = None) -> Response:
    """Google's error envelope."""
    error: dict[str, Any] = {"code": code, "message": message, "status": _STATUS_NAMES.get(code, "UNKNOWN")}
    if details:
        error["details"] = details
    return json_response(code, {"error": error})


def frame_of(prompt: str) -> str:
    """The text between the frame markers of a prompt ('' when there is none)."""
    start, end = prompt.find(FRAME_START), prompt.find(FRAME_END)
    if start < 0 or end < start:
        return ""
    return prompt[start + len(FRAME_START) : end].strip("\n")


def echo_frame(prompt: str) -> str:
    """The default model: answers with the frame it was given."""
    return frame_of(prompt) or "Subject: Hello\n\nHello, a new track for you."


class FakeTextGen(FakeServer):
    """Serves `generateContent` for `api_keys` and `models`; `reply` writes the answers."""

    def __init__(
        self,
        *,
        api_keys: Iterable[str] = ("test-key",),
        models: Iterable[str] = DEFAULT_MODELS,
        reply: Callable[[str], str] = echo_frame,
        blocked_words: Iterable[str] = (),
        finish_reason: str = "STOP",
        plan: FaultPlan | None = None,
        latency: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        super().__init__(latency=latency)
        self.api_keys = frozenset(api_keys)
        self.models = frozenset(models)
        self.reply = reply
        self.blocked_words = tuple(w.lower() for w in blocked_words)
        self.finish_reason = finish_reason  # e.g. MAX_TOKENS: the answer was cut at the token limit
        self.plan = plan or FaultPlan()
        self._lock = threading.Lock()
        self._prompts: list[str] = []

    @property
    def prompts(self) -> list[str]:
        with self._lock:
            return list(self._prompts)

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[str, Response]:
        match = _PATH.match(path)
        if method != "POST" or not match or match.group(2) != GENERATE:
            return "unknown", google_error(404, f"Method not found: {method} {path}")
        model = match.group(1)
        key = headers.get("x-goog-api-key") or (query.get("key") or [""])[0]
        if not key:
            return GENERATE, google_error(
                403,
                "Method doesn't allow unregistered callers (callers without established identity). Please use API "
                "Key or other form of API consumer identity to call this API.",
            )
        if key not in self.api_keys:
            info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
            info["domain"] = "googleapis.com"
            return GENERATE, google_error(400, "API key not valid. Please pass a valid API key.", details=[info])
        burst = self.plan.take_failure(GENERATE)
        if burst is not None:
            return GENERATE, self._failure(burst.status, burst.retry_after, burst.body)
        if model not in self.models:
            return GENERATE, google_error(
                404,
                f"models/{model} is not found for API version v1beta, or is not supported for generateContent. "
                "Call ListModels to see the list of available models and their supported methods.",
            )
        try:
            doc = json.loads(body or b"null")
            prompt = "".join(part["text"] for content in doc["contents"] for part in content["parts"])
        except (ValueError, KeyError, TypeError):
            return GENERATE, google_error(400, "* GenerateContentRequest.contents: contents is not specified")
        with self._lock:
            self._prompts.append(prompt)
        response_id = hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:20]
        if any(word in prompt.lower() for word in self.blocked_words):
            usage = {"promptTokenCount": len(prompt.split()), "totalTokenCount": len(prompt.split())}
            return GENERATE, json_response(
                200,
                {
                    "promptFeedback": {"blockReason": "SAFETY"},
                    "usageMetadata": usage,
                    "modelVersion": model,
                    "responseId": response_id,
                },
            )
        text = self.reply(prompt)
        prompt_tokens, output_tokens = len(prompt.split()), len(text.split())
        return GENERATE, json_response(
            200,
            {
                "candidates": [
                    {
                        "content": {"parts": [{"text": text}], "role": "model"},
                        "finishReason": self.finish_reason,
                        "index": 0,
                    }
                ],
                "usageMetadata": {
                    "promptTokenCount": prompt_tokens,
                    "candidatesTokenCount": output_tokens,
                    "totalTokenCount": prompt_tokens + output_tokens,
                },
                "modelVersion": model,
                "responseId": response_id,
            },
        )

    @staticmethod
    def _failure(status: int, retry_after: float | None, raw: str | None) -> Response:
        if raw is not None:
            return Response(status, raw.encode("utf-8"), {"Content-Type": "application/json; charset=utf-8"})
        details = None
        if status == 429 and retry_after is not None:
            details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after:g}s"}]
        return google_error(status, _MESSAGES.get(status, f"HTTP {status}"), details=details)
