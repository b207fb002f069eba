"""Typed reads from a JSON document that name the entity and the field path in every `MalformedPayload`."""

from typing import Any, cast

from integrations.resilience.errors import MalformedPayload

_TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean", dict: "an object", list: "a list"}


class Payload:
    """A JSON object being read as one entity: `Payload(doc, service="spotify", entity="track", entity_id=id)`.

    Each accessor returns the value or raises `MalformedPayload` with the full dotted path, e.g.
    `album 4aawyAB9vmqN3uQ7FjRGTy: field 'tracks.items[3].duration_ms' is missing`.
    """

    def __init__(self, data: Any, *, service: str, entity: str, entity_id: str, path: str = "") -> None:
        self.service = service
        self.entity = entity
        self.entity_id = entity_id
        self.path = path
        if data is None:
            raise self.error("", "is empty, null or not JSON")
        if not isinstance(data, dict):
            raise self.error("", f"is {_describe(data)}, expected an object")
        self.data: dict[str, Any] = data

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, problem: str) -> MalformedPayload:
        field = self._at(key) if key else (self.path or "(document)")
        return MalformedPayload(
            service=self.service, entity=self.entity, entity_id=self.entity_id, field=field, problem=problem
        )

    def _get(self, key: str, kind: type, optional: bool) -> Any:
        if key not in self.data or self.data[key] is None:
            if optional:
                return None
            raise self.error(key, "is missing" if key not in self.data else "is null")
        value = self.data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(key, f"is {_describe(value)}, expected {_TYPE_NAMES.get(kind, kind.__name__)}")
        return value

    def text(self, key: str, *, optional: bool = False, allow_empty: bool = False) -> Any:
        value = self._get(key, str, optional)
        if value is not None and not allow_empty and not value.strip():
            raise self.error(key, "is empty")
        return value

    def integer(
        self, key: str, *, optional: bool = False, minimum: int | None = None, maximum: int | None = None
    ) -> Any:
        value = self._get(key, int, optional)
        if value is not None and (
            (minimum is not None and value < minimum) or (maximum is not None and value > maximum)
        ):
            raise self.error(key, f"is {value}, outside [{minimum}, {maximum}]")
        return value

    def flag(self, key: str) -> bool:
        return cast(bool, self._get(key, bool, False))  # _get checked the type

    def obj(self, key: str, *, optional: bool = False) -> "Payload | None":
        value = self._get(key, dict, optional)
        if value is None:
            return None
        return Payload(value, service=self.service, entity=self.entity, entity_id=self.entity_id, path=self._at(key))

    def array(self, key: str) -> list[Any]:
        """A list as it is (elements unchecked)."""
        return cast(list[Any], self._get(key, list, False))  # _get checked the type

    def objects(self, key: str, *, optional: bool = False) -> "list[Payload]":
        """A list of objects (an absent optional list reads as empty)."""
        values = self._get(key, list, optional) or []
        return [
            Payload(v, service=self.service, entity=self.entity, entity_id=self.entity_id, path=f"{self._at(key)}[{i}]")
            for i, v in enumerate(values)
        ]

    def texts(self, key: str, *, optional: bool = False) -> tuple[str, ...]:
        values = self._get(key, list, optional) or []
        for i, value in enumerate(values):
            if not isinstance(value, str):
                raise self.error(f"{key}[{i}]", f"is {_describe(value)}, expected a string")
        return tuple(values)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'…' if len(text) > 40 else ''}"
