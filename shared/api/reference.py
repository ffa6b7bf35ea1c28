"""A browsable reference page of the API, rendered from its OpenAPI document (no CDN, no script)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

_TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["schema_name"] = schema_name
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, sort_keys=True)
    return env


def schema_name(schema: dict[str, Any]) -> str:
    """What a schema is, in a few words: the model's name, "array of X", or its type."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if schema.get("type") == "array":
        return f"array of {schema_name(schema.get('items', {}))}"
    if "anyOf" in schema:
        return " or ".join(schema_name(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(map(str, schema["enum"]))
    return str(schema.get("type", "any"))


def render(document: dict[str, Any]) -> str:
    operations: dict[str, list[dict[str, Any]]] = {}
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            operations.setdefault(op["tags"][0], []).append({"path": path, "method": method.upper(), **op})
    return _environment().get_template("reference.html").render(
        info=document["info"], operations=operations, schemas=document["components"]["schemas"],
        security=document["components"]["securitySchemes"])
