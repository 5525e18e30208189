"""Scene descriptions from a vision-language model, one keyframe at a time.

Backends (config `vision.backend`):

- `heuristic`: the embedded default; words from measured image features, no model files.
- `llama_cpp`: llama-cpp-python in-process, a text GGUF plus its mmproj GGUF, through the
  chat handler named in config; the answer is constrained by VisionAnswer's JSON Schema.
- `openai`: any OpenAI-compatible chat-completions server with image input.

Every frame's answer is validated against VisionAnswer. An answer that stays invalid
after `vision.retries` extra attempts is replaced by the heuristic's, and the record
says so (outcome "fallback", the error and the raw answer). A server that cannot be
reached at all stops the job with one line instead: the frames done so far are kept in
the journal, and the next run resumes there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from . import scenes
from .errors import CinecutError
from .journal import Journal
from .models import Analysis, Keyframe
from .scenes import SceneDescFile, SceneDescription, VisionAnswer

log = logging.getLogger(__name__)

DEFAULT_PROMPT = (
    "You are helping a film editor cut a trailer. Describe this frame from the film as JSON "
    "with these keys: visual_content (what is seen, one sentence), mood (one to three words), "
    "action (what happens), setting (where), shot_scale (wide, medium or close-up), "
    "people (how many people are visible), intensity (0 calm to 1 most dramatic)."
)
ANSWER_SCHEMA = VisionAnswer.model_json_schema()

# config name -> class in llama_cpp.llama_chat_format; all of them run through libmtmd
CHAT_HANDLERS = {
    "llava-1.5": "Llava15ChatHandler",
    "llava-1.6": "Llava16ChatHandler",
    "moondream": "MoondreamChatHandler",
    "nanollava": "NanoLlavaChatHandler",
    "llama3-vision-alpha": "Llama3VisionAlphaChatHandler",
    "minicpm-v": "MiniCPMv26ChatHandler",
    "qwen2.5-vl": "Qwen25VLChatHandler",
    "mtmd": "MTMDChatHandler",  # generic: the model's own chat template
}


class InvalidAnswer(Exception):
    """The backend answered, but not with a valid VisionAnswer."""

    def __init__(self, problem: str, raw: str = ""):
        super().__init__(problem)
        self.raw = raw


class Describer(Protocol):
    backend: str
    identity: str  # what the cache is keyed on besides the film and the prompt

    def ask(self, image: Path, prompt: str, attempt: int) -> str: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------- settings and identity


def prompt_of(vision: dict[str, Any]) -> str:
    return vision.get("prompt") or DEFAULT_PROMPT


def prompt_hash(vision: dict[str, Any]) -> str:
    """The prompt and the answer schema together: a change of either re-describes."""
    return scenes.prompt_hash(prompt_of(vision) + json.dumps(ANSWER_SCHEMA, sort_keys=True))


def resolve_model_path(path: str, models_dir: str = "") -> Path:
    """A path as given, else inside `models_dir` (config) or $CINECUT_MODELS."""
    candidate = Path(path).expanduser()
    folder = models_dir or os.environ.get("CINECUT_MODELS", "")
    if not candidate.is_absolute() and not candidate.exists() and folder:
        return Path(folder).expanduser() / candidate
    return candidate


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


def llama_cpp_files(vision: dict[str, Any], models_dir: str = "") -> tuple[Path, Path]:
    settings = vision["llama_cpp"]
    for key in ("model", "mmproj"):
        if not settings.get(key):
            raise CinecutError("config.yaml", f"vision.llama_cpp.{key} is empty: name the GGUF file")
    model = resolve_model_path(settings["model"], models_dir)
    mmproj = resolve_model_path(settings["mmproj"], models_dir)
    for path in (model, mmproj):
        if not path.is_file():
            raise CinecutError(path, "model file not found (set vision.llama_cpp or models_dir)")
    return model, mmproj


def model_identity(vision: dict[str, Any], models_dir: str = "") -> str:
    """What the scenedesc target depends on besides the film and the prompt."""
    backend = vision["backend"]
    if backend == "heuristic":
        return ""
    if backend == "llama_cpp":
        model, mmproj = llama_cpp_files(vision, models_dir)
        handler = vision["llama_cpp"]["chat_handler"]
        return f"llama_cpp:{handler}:{file_fingerprint(model)}+{file_fingerprint(mmproj)}"
    return f"openai:{vision['openai']['model']}"


# ---------------------------------------------------------------- answers


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def parse_answer(raw: str) -> VisionAnswer:
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
        if key == "shot_scale" and isinstance(data[key], str):
            data[key] = data[key].lower().replace("closeup", "close-up").replace("close up", "close-up")
    try:
        return VisionAnswer.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "answer"
        raise InvalidAnswer(f"{where}: {first['msg']}", raw) from exc


def image_data_uri(image: Path) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(image.read_bytes()).decode()


def _messages(image: Path, prompt: str) -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": image_data_uri(image)}},
                {"type": "text", "text": prompt},
            ],
        }
    ]


# ---------------------------------------------------------------- backends


class HeuristicDescriber:
    backend = "heuristic"
    identity = ""

    def ask(self, image: Path, prompt: str, attempt: int) -> str:  # pragma: no cover - never asked
        raise NotImplementedError

    def close(self) -> None:
        pass


def _read_gguf_field(path: Path, key: str) -> Any:
    import gguf

    field = gguf.GGUFReader(str(path)).get_field(key)
    return None if field is None else field.contents()


def check_gguf(path: Path) -> None:
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        raise CinecutError(path, f"not a GGUF file (starts with {magic!r})")


def check_pair(model: Path, mmproj: Path) -> None:
    """The mmproj must project into the text model's embedding size (when both say)."""
    try:
        arch = _read_gguf_field(model, "general.architecture")
        n_embd = _read_gguf_field(model, f"{arch}.embedding_length")
        proj_dim = _read_gguf_field(mmproj, "clip.vision.projection_dim")
        mm_arch = _read_gguf_field(mmproj, "general.architecture")
    except ImportError:  # gguf not installed: llama.cpp's own check still applies
        return
    except (ValueError, OSError) as exc:
        raise CinecutError(model, f"unreadable GGUF ({exc})") from exc
    if mm_arch != "clip":
        raise CinecutError(mmproj, f"not an mmproj file (architecture {mm_arch!r}, expected 'clip')")
    if n_embd and proj_dim and n_embd != proj_dim:
        raise CinecutError(mmproj, f"does not match {model.name}: projects to {proj_dim}, the model embeds {n_embd}")


class LlamaCppDescriber:
    backend = "llama_cpp"

    def __init__(self, vision: dict[str, Any], models_dir: str, threads: int):
        settings = vision["llama_cpp"]
        model, mmproj = llama_cpp_files(vision, models_dir)
        check_gguf(model)
        check_gguf(mmproj)
        check_pair(model, mmproj)
        self.identity = model_identity(vision, models_dir)
        self.max_tokens = settings["max_tokens"]
        try:
            import llama_cpp
            from llama_cpp import llama_chat_format
        except ImportError as exc:
            raise CinecutError(model, "llama-cpp-python is not installed (see README: model backends)") from exc
        handler_cls = getattr(llama_chat_format, CHAT_HANDLERS[settings["chat_handler"]])
        try:
            handler = handler_cls(clip_model_path=str(mmproj), verbose=False)
            self.llm = llama_cpp.Llama(
                model_path=str(model),
                chat_handler=handler,
                n_ctx=settings["n_ctx"],
                n_gpu_layers=settings["n_gpu_layers"],
                n_threads=settings["threads"] or threads,
                seed=0,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise CinecutError(model, f"llama.cpp cannot load it with {mmproj.name}: {exc}") from exc

    def ask(self, image: Path, prompt: str, attempt: int) -> str:
        try:
            result = self.llm.create_chat_completion(
                messages=_messages(image, prompt),
                response_format={"type": "json_object", "schema": ANSWER_SCHEMA},
                temperature=0.0 if attempt == 0 else 0.7,  # a retry samples instead of repeating
                seed=attempt,
                max_tokens=self.max_tokens,
            )
        except (ValueError, RuntimeError) as exc:
            raise InvalidAnswer(f"llama.cpp failed on this frame: {exc}") from exc
        return result["choices"][0]["message"]["content"] or ""

    def close(self) -> None:
        self.llm.close()


class OpenAIDescriber:
    backend = "openai"

    def __init__(self, vision: dict[str, Any]):
        settings = vision["openai"]
        if not settings.get("model"):
            raise CinecutError("config.yaml", "vision.openai.model is empty: name the server's model")
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise CinecutError("config.yaml", "the openai package is not installed") from exc
        self._openai = openai
        self.base_url = settings["base_url"]
        self.identity = f"openai:{settings['model']}"
        self.model = settings["model"]
        self.max_tokens = settings["max_tokens"]
        self.tries = settings["retries"] + 1
        self.response_format: dict[str, Any] | None = {
            "json_schema": {
                "type": "json_schema",
                "json_schema": {"name": "scene", "schema": ANSWER_SCHEMA, "strict": True},
            },
            "json_object": {"type": "json_object", "schema": ANSWER_SCHEMA},
            "none": None,
        }[settings["response_format"]]
        self.client = openai.OpenAI(
            base_url=self.base_url,
            api_key=os.environ.get(settings["api_key_env"]) or "none",
            timeout=settings["timeout"],
            max_retries=settings["retries"],  # the client backs off exponentially between tries
        )
        self.concurrency = settings["concurrency"]

    def ask(self, image: Path, prompt: str, attempt: int) -> str:
        openai = self._openai
        extra = {"response_format": self.response_format} if self.response_format else {}
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=_messages(image, prompt),
                temperature=0.0 if attempt == 0 else 0.7,
                seed=attempt,
                max_tokens=self.max_tokens,
                **extra,
            )
        except openai.APITimeoutError as exc:
            raise CinecutError(self.base_url, f"the server did not answer in time ({self.tries} tries)") from exc
        except openai.APIConnectionError as exc:
            raise CinecutError(
                self.base_url, f"server unreachable ({exc.__cause__ or exc}; {self.tries} tries)"
            ) from exc
        except openai.AuthenticationError as exc:
            raise CinecutError(self.base_url, "the server refused the API key (vision.openai.api_key_env)") from exc
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


def open_describer(vision: dict[str, Any], models_dir: str = "", threads: int = 1) -> Describer:
    backend = vision["backend"]
    if backend == "llama_cpp":
        return LlamaCppDescriber(vision, models_dir, threads)
    if backend == "openai":
        return OpenAIDescriber(vision)
    return HeuristicDescriber()


# ---------------------------------------------------------------- the loop


def describe_frame(describer: Describer, kf: Keyframe, image: Path, prompt: str, retries: int) -> SceneDescription:
    """The model's description of one keyframe, or the heuristic's when every answer is invalid."""
    started = time.perf_counter()
    if describer.backend == "heuristic":
        desc = scenes.describe_heuristic(kf)
        return desc.model_copy(update={"seconds": round(time.perf_counter() - started, 4)})
    error, raw = "", ""
    for attempt in range(retries + 1):
        try:
            raw = describer.ask(image, prompt, attempt)
            answer = parse_answer(raw)
        except InvalidAnswer as exc:
            error, raw = str(exc), exc.raw or raw
            continue
        return SceneDescription(
            **answer.model_dump(),
            time=kf.time,
            image=kf.image,
            backend=describer.backend,
            attempts=attempt + 1,
            raw=raw[: scenes.RAW_LIMIT],
            seconds=round(time.perf_counter() - started, 4),
        )
    log.warning("frame %s at %.2f s: %s; using the heuristic", kf.image, kf.time, error)
    fallback = scenes.describe_heuristic(kf)
    return fallback.model_copy(
        update={
            "outcome": "fallback",
            "attempts": retries + 1,
            "error": error[:500],
            "raw": raw[: scenes.RAW_LIMIT],
            "seconds": round(time.perf_counter() - started, 4),
        }
    )


def frame_key(kf: Keyframe, image: Path) -> str:
    """Journal key: the keyframe's name, time and image content."""
    try:
        digest = hashlib.sha256(image.read_bytes()).hexdigest()[:16]
    except OSError:
        digest = "missing"
    return f"{kf.image}@{kf.time:.4f}:{digest}"


@dataclass
class Progress:
    """Percent done and ETA in the log: after the first frame, every few seconds, at the end."""

    total: int
    started: float
    done: int = 0
    last: float = 0.0
    every: float = 3.0

    def step(self) -> None:
        self.done += 1
        now = time.perf_counter()
        if self.done not in (1, self.total) and now - self.last < self.every:
            return
        self.last = now
        per_frame = (now - self.started) / self.done
        log.info(
            "described %d/%d (%.0f%%), %.2f s per frame, ETA %.0f s",
            self.done,
            self.total,
            100 * self.done / self.total,
            per_frame,
            per_frame * (self.total - self.done),
        )


def _describe_many(
    describer: Describer, todo: list[tuple[Keyframe, Path]], prompt: str, retries: int, workers: int
) -> Iterator[tuple[Keyframe, SceneDescription]]:
    if workers <= 1:
        for kf, image in todo:
            yield kf, describe_frame(describer, kf, image, prompt, retries)
        return
    # A bounded window of requests in flight; results come back in film order.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [(kf, pool.submit(describe_frame, describer, kf, image, prompt, retries)) for kf, image in todo]
        try:
            for kf, future in futures:
                yield kf, future.result()
        finally:
            for _, future in futures:
                future.cancel()


def describe_all(
    analysis: Analysis,
    keyframe_dir: str | Path,
    fingerprint: str,
    vision: dict[str, Any],
    journal_path: str | Path,
    models_dir: str = "",
    threads: int = 1,
) -> SceneDescFile:
    """Every keyframe described; frames already in a matching journal are not asked again."""
    keyframe_dir = Path(keyframe_dir)
    prompt = prompt_of(vision)
    describer = open_describer(vision, models_dir, threads)
    identity = {
        "schema_version": scenes.SCENEDESC_VERSION,
        "fingerprint": fingerprint,
        "backend": describer.backend,
        "model": describer.identity,
        "prompt_hash": prompt_hash(vision),
    }
    frames = [(kf, keyframe_dir / kf.image) for kf in analysis.keyframes]
    keys = [frame_key(kf, image) for kf, image in frames]
    results: dict[str, SceneDescription] = {}
    try:
        with Journal(journal_path, identity) as journal:
            for key in keys:
                try:
                    results[key] = SceneDescription.model_validate(journal.records[key])
                except (KeyError, ValidationError):
                    pass
            todo = [frame for frame, key in zip(frames, keys, strict=True) if key not in results]
            log.info(
                "scene descriptions (%s): %d frames, %d from the journal, %d to describe",
                describer.backend,
                len(frames),
                len(results),
                len(todo),
            )
            key_of = {id(kf): key for (kf, _), key in zip(frames, keys, strict=True)}
            workers = getattr(describer, "concurrency", 1)
            progress = Progress(len(todo), time.perf_counter())
            try:
                for kf, desc in _describe_many(describer, todo, prompt, vision["retries"], workers):
                    journal.add(key_of[id(kf)], desc.model_dump())
                    results[key_of[id(kf)]] = desc
                    progress.step()
            except CinecutError as exc:
                raise CinecutError(
                    exc.path, f"{exc.problem}; {len(results)} of {len(frames)} frames kept for the next run"
                ) from exc
    finally:
        describer.close()
    described = [results[key] for key in keys]
    counts = Counter(f"{d.backend} {d.outcome}" for d in described)
    log.info("scene descriptions done: %s", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    fallbacks = sum(d.outcome == "fallback" for d in described)
    if described and fallbacks == len(described):
        log.warning("every frame fell back to the heuristic: check the model or server (%s)", describer.identity)
    return SceneDescFile(
        schema_version=scenes.SCENEDESC_VERSION,
        fingerprint=fingerprint,
        backend=describer.backend,
        model=describer.identity,
        prompt_hash=identity["prompt_hash"],
        frames=described,
    )
