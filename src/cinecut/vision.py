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

The journal stays after the job: it holds every answer given for this film, model and
prompt, keyed by keyframe time and image content. A rerun (new subtitles add keyframes, a
repaired msgpack, `--forcerun`) asks the model only for frames it has not answered well.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from . import llm, scenes
from .errors import CinecutError
from .journal import Journal
from .llm import InvalidAnswer
from .models import Analysis, Keyframe, SceneDescFile, SceneDescription, VisionAnswer

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


class Describer(Protocol):
    backend: str
    identity: str  # what the cache is keyed on besides the film and the prompt
    concurrency: int  # frames asked at once

    def ask(self, image: Path, prompt: str, attempt: int) -> str: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------- settings and identity


def prompt_of(vision: dict[str, Any]) -> str:
    return vision.get("prompt") or DEFAULT_PROMPT


def prompt_hash(vision: dict[str, Any]) -> str:
    """The prompt and the answer schema together: a change of either re-describes."""
    return scenes.prompt_hash(prompt_of(vision) + json.dumps(ANSWER_SCHEMA, sort_keys=True))


def llama_cpp_files(vision: dict[str, Any], models_dir: str = "") -> tuple[Path, Path]:
    settings = vision["llama_cpp"]
    model = llm.model_file(settings["model"], models_dir, "vision.llama_cpp.model")
    mmproj = llm.model_file(settings["mmproj"], models_dir, "vision.llama_cpp.mmproj")
    return model, mmproj


def model_identity(vision: dict[str, Any], models_dir: str = "") -> str:
    """What the scenedesc target depends on besides the film and the prompt."""
    backend = vision["backend"]
    if backend == "heuristic":
        return ""
    if backend == "llama_cpp":
        model, mmproj = llama_cpp_files(vision, models_dir)
        handler = vision["llama_cpp"]["chat_handler"]
        return f"llama_cpp:{handler}:{llm.file_fingerprint(model)}+{llm.file_fingerprint(mmproj)}"
    return f"openai:{vision['openai']['model']}"


# ---------------------------------------------------------------- answers


def parse_answer(raw: str) -> VisionAnswer:
    answer = llm.parse_json_answer(raw, VisionAnswer)
    assert isinstance(answer, VisionAnswer)
    return answer


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
    concurrency = 1

    def ask(self, image: Path, prompt: str, attempt: int) -> str:  # pragma: no cover - never asked
        raise NotImplementedError

    def close(self) -> None:
        pass


def check_pair(model: Path, mmproj: Path) -> None:
    """The mmproj must be a projector into the text model's embedding size (when both say)."""
    mm_arch = llm.gguf_field(mmproj, "general.architecture")
    if mm_arch != "clip":
        raise CinecutError(mmproj, f"not an mmproj file (architecture {mm_arch!r}, expected 'clip')")
    arch = llm.gguf_field(model, "general.architecture")
    n_embd = llm.gguf_field(model, f"{arch}.embedding_length")
    proj_dim = llm.gguf_field(mmproj, "clip.vision.projection_dim")
    if n_embd and proj_dim and n_embd != proj_dim:
        raise CinecutError(mmproj, f"does not match {model.name}: projects to {proj_dim}, the model embeds {n_embd}")


class ModelDescriber:
    """A chat model asked about one image at a time."""

    def __init__(self, backend: str, chat: llm.ChatModel):
        self.backend = backend
        self.chat = chat
        self.identity = chat.identity
        self.concurrency = chat.concurrency

    def ask(self, image: Path, prompt: str, attempt: int) -> str:
        return self.chat.chat(_messages(image, prompt), ANSWER_SCHEMA, attempt)

    def close(self) -> None:
        self.chat.close()


def _llama_cpp_chat(vision: dict[str, Any], models_dir: str, threads: int) -> llm.LlamaCppChat:
    settings = vision["llama_cpp"]
    model, mmproj = llama_cpp_files(vision, models_dir)
    llm.check_gguf(model)
    llm.check_gguf(mmproj)
    check_pair(model, mmproj)
    try:
        from llama_cpp import llama_chat_format
    except ImportError as exc:
        raise CinecutError(model, "llama-cpp-python is not installed (make models; see docs/models.md)") from exc
    handler_cls = getattr(llama_chat_format, CHAT_HANDLERS[settings["chat_handler"]])
    try:
        handler = handler_cls(clip_model_path=str(mmproj), verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise CinecutError(mmproj, f"llama.cpp cannot load it: {exc}") from exc
    return llm.LlamaCppChat.from_settings(
        model, settings, model_identity(vision, models_dir), threads, chat_handler=handler
    )


def open_describer(vision: dict[str, Any], models_dir: str = "", threads: int = 1) -> Describer:
    backend = vision["backend"]
    if backend == "llama_cpp":
        return ModelDescriber(backend, _llama_cpp_chat(vision, models_dir, threads))
    if backend == "openai":
        return ModelDescriber(backend, llm.OpenAIChat(vision["openai"], "vision.openai"))
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
    """Journal key: the keyframe's time and image content (not its name, a running number
    that shifts when keyframes are added before it)."""
    try:
        digest = hashlib.sha256(image.read_bytes()).hexdigest()[:16]
    except OSError:
        digest = "missing"
    return f"{kf.time:.4f}:{digest}"


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
    """Every keyframe described; frames answered well in a matching journal are not asked
    again (a fallback is: the model may answer this time)."""
    keyframe_dir = Path(keyframe_dir)
    prompt = prompt_of(vision)
    describer = open_describer(vision, models_dir, threads)
    identity = {
        "schema_version": SceneDescFile.VERSION,
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
            for (kf, _), key in zip(frames, keys, strict=True):
                record = journal.records.get(key)
                if record is None or record.get("outcome") != "ok":
                    continue
                try:
                    results[key] = SceneDescription.model_validate({**record, "image": kf.image})
                except ValidationError:
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
            workers = describer.concurrency
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
        schema_version=SceneDescFile.VERSION,
        fingerprint=fingerprint,
        backend=describer.backend,
        model=describer.identity,
        prompt_hash=identity["prompt_hash"],
        frames=described,
    )
