"""Client of a Gemini-style text-generation API (`models.generateContent`), used only when generation is enabled."""

from integrations.textgen.client import API_VERSION, DEFAULT_BASE_URL, TextGenClient
from integrations.textgen.errors import (
    SERVICE,
    GenerationBlocked,
    InvalidApiKey,
    ModelNotFound,
    RateLimited,
    Refused,
    TextGenError,
    Unavailable,
)
from integrations.textgen.models import Generation

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "SERVICE",
    "Generation",
    "GenerationBlocked",
    "InvalidApiKey",
    "ModelNotFound",
    "RateLimited",
    "Refused",
    "TextGenClient",
    "TextGenError",
    "Unavailable",
]
