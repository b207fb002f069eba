"""The request and response bodies of `models.generateContent`, read with `Payload` so a bad body names its field.

Request: `{"contents": [{"role": "user", "parts": [{"text"}]}], "systemInstruction": {"parts": [{"text"}]},
"generationConfig": {"temperature", "maxOutputTokens", "candidateCount": 1}}`.
Response: `{"candidates": [{"content": {"parts": [{"text"}], "role": "model"}, "finishReason", "index"}],
"usageMetadata": {"promptTokenCount", "candidatesTokenCount", "totalTokenCount"}, "modelVersion", "responseId"}`;
a blocked prompt has no candidates and `promptFeedback.blockReason`.
"""

from dataclasses import dataclass
from typing import Any

from integrations.resilience.payload import Payload
from integrations.textgen.errors import SERVICE, GenerationBlocked

BLOCKED_FINISH_REASONS = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "LANGUAGE", "OTHER", "MALFORMED_FUNCTION_CALL"}
)


@dataclass(frozen=True)
class Generation:
    """The first candidate's text and what the service said about it."""

    text: str
    model: str  # the model asked for
    model_version: str | None  # the model that answered (`modelVersion`), when given
    finish_reason: str | None  # STOP, MAX_TOKENS, ...
    prompt_tokens: int | None
    output_tokens: int | None
    response_id: str | None

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "MAX_TOKENS"


def request_body(
    prompt: str,
    *,
    system_instruction: str | None = None,
    temperature: float | None = None,
    max_output_tokens: int | None = None,
) -> dict[str, Any]:
    """The JSON body of one single-turn text request."""
    body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    if system_instruction:
        body["systemInstruction"] = {"parts": [{"text": system_instruction}]}
    config: dict[str, Any] = {"candidateCount": 1}
    if temperature is not None:
        config["temperature"] = temperature
    if max_output_tokens is not None:
        config["maxOutputTokens"] = max_output_tokens
    body["generationConfig"] = config
    return body


def parse_generation(doc: Any, model: str) -> Generation:
    """The first candidate's text (its non-thought parts joined); `GenerationBlocked` when there is none."""
    root = Payload(doc, service=SERVICE, entity="generateContent", entity_id=model)
    candidates = root.objects("candidates", optional=True)
    if not candidates:
        feedback = root.obj("promptFeedback", optional=True)
        reason = feedback.text("blockReason", optional=True) if feedback is not None else None
        if reason:
            raise GenerationBlocked(f"{model}: the prompt was blocked", google_status="BLOCKED", reason=reason)
        raise root.error("candidates", "is missing or empty")
    first = candidates[0]
    finish = first.text("finishReason", optional=True)
    content = first.obj("content", optional=True)
    parts = content.objects("parts", optional=True) if content is not None else []
    texts = [p.text("text", allow_empty=True) for p in parts if "text" in p.data and not p.data.get("thought")]
    text = "".join(texts)
    if not text.strip():
        if finish in BLOCKED_FINISH_REASONS:
            raise GenerationBlocked(f"{model}: the answer was blocked", google_status="BLOCKED", reason=finish or "")
        raise first.error("content.parts[0].text", "is missing or empty")
    usage = root.obj("usageMetadata", optional=True)
    return Generation(
        text=text,
        model=model,
        model_version=root.text("modelVersion", optional=True),
        finish_reason=finish,
        prompt_tokens=usage.integer("promptTokenCount", optional=True) if usage is not None else None,
        output_tokens=usage.integer("candidatesTokenCount", optional=True) if usage is not None else None,
        response_id=root.text("responseId", optional=True),
    )
