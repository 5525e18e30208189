"""Chat models shared by the vision and story stages, with JSON-Schema-constrained answers.

- `LlamaCppChat`: llama-cpp-python in-process (text GGUF; plus a vision chat handler for
  image input). The schema becomes a grammar (`json_grammar`), so the answer is JSON of
  that shape, and within the schema's bounds: every answer the grammar admits validates.
- `OpenAIChat`: any OpenAI-compatible chat-completions server. Transport failures are
  retried with exponential back-off by the client; if the server still cannot be reached
  the stage stops with one line (CinecutError naming the server).

A reply that is not usable as an answer raises InvalidAnswer; callers retry, then fall
back to their heuristic and record that they did.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from .errors import CinecutError


class InvalidAnswer(Exception):
    """The model answered, but not with a valid answer."""

    def __init__(self, problem: str, raw: str = ""):
        super().__init__(problem)
        self.raw = raw


class ChatModel(Protocol):
    identity: str
    concurrency: int

    def chat(self, messages: list[dict[str, Any]], schema: dict[str, Any], attempt: int) -> str: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------- files


def resolve_model_path(path: str, models_dir: str = "") -> Path:
    """A path as given, else inside `models_dir` (config) or $CINECUT_MODELS."""
    candidate = Path(path).expanduser()
    folder = models_dir or os.environ.get("CINECUT_MODELS", "")
    if not candidate.is_absolute() and not candidate.exists() and folder:
        return Path(folder).expanduser() / candidate
    return candidate


def model_file(path: str, models_dir: str, setting: str) -> Path:
    if not path:
        raise CinecutError("config.yaml", f"{setting} is empty: name the GGUF file")
    resolved = resolve_model_path(path, models_dir)
    if not resolved.is_file():
        raise CinecutError(resolved, f"model file not found (set {setting} or models_dir)")
    return resolved


def file_fingerprint(path: Path) -> str:
    """name:size:hash of the first and last MiB; cheap for 5 GB models, yet content-bound."""
    try:
        size = path.stat().st_size
        digest = hashlib.sha256(str(size).encode())
        with open(path, "rb") as fh:
            digest.update(fh.read(1 << 20))
            fh.seek(max(0, size - (1 << 20)))
            digest.update(fh.read(1 << 20))
    except OSError as exc:
        raise CinecutError(path, f"cannot read the model file ({exc.strerror or exc})") from exc
    return f"{path.name}:{size}:{digest.hexdigest()[:16]}"


def check_gguf(path: Path) -> None:
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        raise CinecutError(path, f"not a GGUF file (starts with {magic!r})")


def gguf_field(path: Path, key: str) -> Any:
    import gguf

    try:
        field = gguf.GGUFReader(str(path)).get_field(key)
    except (ValueError, OSError) as exc:
        raise CinecutError(path, f"unreadable GGUF ({exc})") from exc
    return None if field is None else field.contents()


# ---------------------------------------------------------------- answers

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def parse_json_answer(raw: str, model: type[BaseModel]) -> BaseModel:
    """The first JSON object in the text, validated; strings cleaned of control characters."""
    start, end = raw.find("{"), raw.rfind("}")
    if start < 0:
        raise InvalidAnswer("no JSON object in the answer", raw)
    if end <= start:
        raise InvalidAnswer("the JSON object is cut off (max_tokens too small?)", raw)
    try:
        data = json.loads(raw[start : end + 1], strict=False)  # grammar output may hold raw newlines
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"not JSON ({exc.msg} at {exc.pos})", raw) from exc
    if not isinstance(data, dict):
        raise InvalidAnswer("the JSON is not an object", raw)
    for key, value in data.items():
        if isinstance(value, str):
            data[key] = " ".join(_CONTROL.sub(" ", value).split())
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "answer"
        raise InvalidAnswer(f"{where}: {first['msg']}", raw) from exc


# ---------------------------------------------------------------- grammars

# Strings are printable ASCII without the quote and the backslash (so no escapes), and do
# not start with a space (an answer of spaces would collapse to ""). Descriptions are
# English words; one token holds at least one character, so an answer's length in tokens
# is bounded by its length in characters, and max_tokens can be chosen to fit any answer.
_TEXT_RULES = {"text-first": r"[!#-\[\]-~]", "text-char": r"[ !#-\[\]-~]"}


def integer_range(low: int, high: int) -> str:
    """GBNF alternatives for the whole numbers low..high (0 <= low <= high) as JSON writes
    them: digit patterns such as `[1-9] [0-9]`, a few per digit count, not one literal per
    value (llama.cpp checks every token of the vocabulary against every alternative)."""
    alternatives = []
    for digits in range(len(str(low)), len(str(high)) + 1):
        start = max(low, 10 ** (digits - 1) if digits > 1 else 0)
        last = min(high, 10**digits - 1)
        while start <= last:
            # the widest block [start, end] of the form: a prefix, one digit range, k free digits
            k = 0
            while start % 10 ** (k + 1) == 0 and start + 10 ** (k + 1) - 1 <= last:
                k += 1
            size, end = 10**k, start + 10**k - 1
            while end + size <= last and (end + 1) // (10 * size) == start // (10 * size):
                end += size
            pattern = []
            for a, b in zip(str(start), str(end), strict=True):
                pattern.append(f'"{a}"' if a == b else f"[{a}-{b}]")
            alternatives.append(" ".join(pattern))
            start = end + 1
    return " | ".join(alternatives)


def json_grammar(schema: dict[str, Any]) -> str:
    """GBNF for answers of `schema`: llama.cpp's JSON-Schema conversion, tightened where the
    conversion is loose, so that an answer it admits passes `parse_json_answer`: strings
    keep to their minLength/maxLength without control characters (the 0.3.36 conversion
    lets them in), and integers and numbers to their minimum/maximum (it ignores those;
    bounds must be whole numbers >= 0)."""
    from llama_cpp import llama_grammar

    def repeat(item: str, low: int, high: int | None) -> str:
        return llama_grammar._build_repetition(item, low, high)

    class Converter(llama_grammar.SchemaConverter):
        def visit(self, schema: dict[str, Any], name: str) -> str:
            kind = schema.get("type")
            rule = name + "-" if name in llama_grammar.RESERVED_NAMES else name or "root"
            if {"enum", "const", "$ref", "anyOf", "oneOf", "allOf"} & set(schema):
                return super().visit(schema, name)
            if kind == "string" and not {"pattern", "format"} & set(schema):
                self._rules.update(_TEXT_RULES)
                low, high = schema.get("minLength", 0), schema.get("maxLength")
                text = "text-first " + repeat("text-char", max(low - 1, 0), None if high is None else high - 1)
                body = f"({text})" if low > 0 else f"({text})?"
                return self._add_rule(rule, rf'"\"" {body} "\"" space')
            if kind in ("integer", "number") and schema.get("minimum", -1) >= 0:
                return self._add_rule(rule, self._bounded(kind, schema["minimum"], schema.get("maximum")))
            return super().visit(schema, name)

        def _bounded(self, kind: str, low: float, high: float | None) -> str:
            """A non-negative number of at most 15 digits and 6 decimals; between whole
            bounds exactly (other bounds are left to validation)."""
            self._rules["num-digits"] = repeat("[0-9]", 1, 6)
            self._rules["num-natural"] = '"0" | [1-9] ' + repeat("[0-9]", 0, 14)
            fraction = ' ("." num-digits)?' if kind == "number" else ""
            if not (float(low).is_integer() and high is not None and float(high).is_integer()):
                return f"num-natural{fraction} space"
            low, high = int(low), int(high)
            if kind == "integer":
                return f"({integer_range(low, high)}) space"
            top = f'"{high}" ("." ' + repeat('"0"', 1, 6) + ")?"
            return f"(({integer_range(low, high - 1)}){fraction} | {top}) space" if high > low else f"({top}) space"

    converter = Converter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    converter.visit(converter.resolve_refs(json.loads(json.dumps(schema)), "schema"), "")
    return converter.format_grammar()


# ---------------------------------------------------------------- backends


class LlamaCppChat:
    """One GGUF in-process; `chat_handler` for image input, `chat_format` to name a template."""

    concurrency = 1

    def __init__(
        self,
        model: Path,
        *,
        identity: str,
        n_ctx: int,
        n_gpu_layers: int,
        threads: int,
        max_tokens: int,
        chat_handler: Any = None,
        chat_format: str | None = None,
    ):
        check_gguf(model)
        self.identity = identity
        self.max_tokens = max_tokens
        self._grammars: dict[str, str] = {}  # schema -> GBNF
        try:
            import llama_cpp
        except ImportError as exc:
            raise CinecutError(model, "llama-cpp-python is not installed (make models; see docs/models.md)") from exc
        try:
            self.llm = llama_cpp.Llama(
                model_path=str(model),
                chat_handler=chat_handler,
                chat_format=chat_format or None,
                n_ctx=n_ctx,
                n_gpu_layers=n_gpu_layers,
                n_threads=threads,
                n_threads_batch=threads,  # the rule's threads for the prompt too (default: every CPU)
                seed=0,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise CinecutError(model, f"llama.cpp cannot load it: {exc}") from exc

    @classmethod
    def from_settings(
        cls, model: Path, settings: dict[str, Any], identity: str, threads: int, **kw: Any
    ) -> LlamaCppChat:
        """From a config section (n_ctx, n_gpu_layers, threads: 0 = the rule's, max_tokens)."""
        return cls(
            model,
            identity=identity,
            n_ctx=settings["n_ctx"],
            n_gpu_layers=settings["n_gpu_layers"],
            threads=settings["threads"] or threads,
            max_tokens=settings["max_tokens"],
            **kw,
        )

    def chat(self, messages: list[dict[str, Any]], schema: dict[str, Any], attempt: int) -> str:
        from llama_cpp import LlamaGrammar

        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            self._grammars[key] = json_grammar(schema)
        try:
            result = self.llm.create_chat_completion(
                messages=messages,
                grammar=LlamaGrammar.from_string(self._grammars[key], verbose=False),
                temperature=0.0 if attempt == 0 else 0.7,  # a retry samples instead of repeating
                seed=attempt,
                max_tokens=self.max_tokens,
            )
        except (ValueError, RuntimeError) as exc:
            raise InvalidAnswer(f"llama.cpp failed: {exc}") from exc
        return result["choices"][0]["message"]["content"] or ""

    def close(self) -> None:
        self.llm.close()


class OpenAIChat:
    """An OpenAI-compatible server; `settings` is a config section (base_url, model, ...)."""

    def __init__(self, settings: dict[str, Any], setting: str):
        if not settings.get("model"):
            raise CinecutError("config.yaml", f"{setting}.model is empty: name the server's model")
        import openai

        self._openai = openai
        self.base_url = settings["base_url"]
        self.model = settings["model"]
        self.identity = f"openai:{self.model}"
        self.max_tokens = settings["max_tokens"]
        self.tries = settings["retries"] + 1
        self.format = settings["response_format"]
        self.concurrency = settings.get("concurrency", 1)
        self.client = openai.OpenAI(
            base_url=self.base_url,
            api_key=os.environ.get(settings["api_key_env"]) or "none",
            timeout=settings["timeout"],
            max_retries=settings["retries"],  # the client backs off exponentially between tries
        )

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.format == "json_schema":
            return {"response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}}
        if self.format == "json_object":
            return {"response_format": {"type": "json_object", "schema": schema}}
        return {}

    def chat(self, messages: list[dict[str, Any]], schema: dict[str, Any], attempt: int) -> str:
        openai = self._openai
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=0.0 if attempt == 0 else 0.7,
                seed=attempt,
                max_tokens=self.max_tokens,
                **self._response_format(schema),
            )
        except openai.APITimeoutError as exc:
            raise CinecutError(self.base_url, f"the server did not answer in time ({self.tries} tries)") from exc
        except openai.APIConnectionError as exc:
            raise CinecutError(
                self.base_url, f"server unreachable ({exc.__cause__ or exc}; {self.tries} tries)"
            ) from exc
        except openai.AuthenticationError as exc:
            raise CinecutError(self.base_url, "the server refused the API key (api_key_env)") from exc
        except openai.NotFoundError as exc:
            raise CinecutError(self.base_url, f"no such model or endpoint ({self.model!r})") from exc
        except openai.APIError as exc:  # other HTTP errors, bodies that are not JSON
            raise InvalidAnswer(f"server error: {exc}") from exc
        try:
            return response.choices[0].message.content or ""
        except (AttributeError, IndexError, TypeError) as exc:
            raise InvalidAnswer(f"not a chat completion: {str(response)[:200]}") from exc

    def close(self) -> None:
        self.client.close()
