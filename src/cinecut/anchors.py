"""Story anchors from a text LLM, decided over the whole film at once.

The reference system asked a model for anchors per transcript chunk and took medians,
so its anchors collapsed toward the middle of the film. Here the model first summarises
each chunk (its dialogue, scene descriptions and measured tension), then decides the
three anchors in one answer over all the summaries, seeing the film as a whole. The
answer must satisfy 0 <= begin < escalation < climax <= duration; otherwise (after
`structure.retries` extra attempts) the heuristic's anchors are used and the output
records why. The resolution (where the trailer stops drawing clips) stays measured: it
is the heuristic's, moved past the model's climax when needed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from . import llm
from .llm import InvalidAnswer
from .models import Analysis, Dialogue, SceneDescFile, Structure
from .scenes import prompt_hash
from .story import heuristic_structure, hold_shares, shot_intensity

log = logging.getLogger(__name__)

SUMMARY_PROMPT = (
    "You are a film editor reading part {part} of {parts} of a film ({start:.0f}-{end:.0f} s). "
    "Measured tension of this part: {tension}/10.\n"
    "Dialogue:\n{dialogue}\nWhat the camera sees:\n{scenes}\n"
    "Answer as JSON: summary (what happens, one sentence), tension (0 calm to 10 most dramatic)."
)
DECIDE_PROMPT = (
    "You are a film editor finding the story structure of a whole film of {duration:.0f} seconds.\n"
    "Its parts in order:\n{parts}\n"
    "Answer as JSON with three times in seconds of the film: begin (where the story starts), "
    "escalation (where the conflict starts to rise), climax (where the decisive confrontation starts). "
    "They must increase: begin < escalation < climax."
)
MAX_CHARS = 1200  # per chunk and field: keeps the prompt inside a small context


class ChunkSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=1, max_length=160)
    tension: int = Field(ge=0, le=10)


class AnchorAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    begin: float = Field(ge=0)
    escalation: float = Field(ge=0)
    climax: float = Field(ge=0)


def prompts_hash() -> str:
    schemas = json.dumps([ChunkSummary.model_json_schema(), AnchorAnswer.model_json_schema()], sort_keys=True)
    return prompt_hash(SUMMARY_PROMPT + DECIDE_PROMPT + schemas)


def model_identity(structure: dict[str, Any], models_dir: str = "") -> str:
    backend = structure["backend"]
    if backend == "heuristic":
        return ""
    if backend == "llama_cpp":
        settings = structure["llama_cpp"]
        model = llm.model_file(settings["model"], models_dir, "structure.llama_cpp.model")
        return f"llama_cpp:{settings['chat_format'] or 'auto'}:{llm.file_fingerprint(model)}"
    return f"openai:{structure['openai']['model']}"


def open_chat(structure: dict[str, Any], models_dir: str = "", threads: int = 1) -> llm.ChatModel:
    if structure["backend"] == "llama_cpp":
        settings = structure["llama_cpp"]
        model = llm.model_file(settings["model"], models_dir, "structure.llama_cpp.model")
        identity = model_identity(structure, models_dir)
        return llm.LlamaCppChat.from_settings(model, settings, identity, threads, chat_format=settings["chat_format"])
    return llm.OpenAIChat(structure["openai"], "structure.openai")


def _ask(chat: llm.ChatModel, prompt: str, answer: type[BaseModel], retries: int) -> BaseModel:
    """A valid answer, or InvalidAnswer with the last problem after every attempt."""
    error = InvalidAnswer("no attempt")
    for attempt in range(retries + 1):
        try:
            return llm.parse_json_answer(
                chat.chat([{"role": "user", "content": prompt}], answer.model_json_schema(), attempt), answer
            )
        except InvalidAnswer as exc:
            error = exc
    raise error


def _chunk_texts(analysis: Analysis, scenes: SceneDescFile, dialogue: Dialogue, parts: int) -> list[dict[str, Any]]:
    duration = analysis.duration
    by_time = {round(f.time, 4): f for f in scenes.frames}
    chunks = []
    for i in range(parts):
        start, end = duration * i / parts, duration * (i + 1) / parts
        lines = [ln.text for ln in dialogue.lines if start <= ln.start < end]
        frames = [f for f in scenes.frames if start <= f.time < end]
        levels = []
        for shot, kf in zip(analysis.shots, analysis.shot_keyframes(), strict=True):
            if start <= (shot.start + shot.end) / 2 < end:
                frame = by_time.get(round(kf.time, 4))
                levels.append(shot_intensity(shot, frame.intensity if frame else 0.0, dialogue.lines))
        step = max(1, len(frames) // 8)
        chunks.append(
            {
                "start": start,
                "end": end,
                "dialogue": (" / ".join(lines) or "(no dialogue)")[:MAX_CHARS],
                "scenes": ("; ".join(f"{f.visual_content} ({f.mood})" for f in frames[::step]) or "(none)")[:MAX_CHARS],
                "tension": round(10 * sum(levels) / len(levels)) if levels else 0,
            }
        )
    return chunks


def find_structure(
    analysis: Analysis,
    scenes: SceneDescFile,
    dialogue: Dialogue,
    structure: dict[str, Any],
    models_dir: str = "",
    threads: int = 1,
) -> Structure:
    """Anchors from the configured backend; the heuristic's, with the reason, when the
    model's answer is unusable. A missing model or an unreachable server stops the job."""
    fallback = heuristic_structure(analysis, scenes, dialogue)
    if structure["backend"] == "heuristic":
        return fallback
    chat = open_chat(structure, models_dir, threads)
    backend, retries = structure["backend"], structure["retries"]
    try:
        chunks = _chunk_texts(analysis, scenes, dialogue, structure["chunks"])
        summaries = []
        for i, chunk in enumerate(chunks, start=1):
            prompt = SUMMARY_PROMPT.format(part=i, parts=len(chunks), **chunk)
            try:
                answer = _ask(chat, prompt, ChunkSummary, retries)
                summaries.append((answer.summary, answer.tension))
            except InvalidAnswer as exc:  # one bad summary does not sink the decision
                log.warning("part %d: %s; using its measured tension and first line", i, exc)
                summaries.append((chunk["dialogue"][:160], chunk["tension"]))
        listing = "\n".join(
            f"[{i}] {c['start']:.0f}-{c['end']:.0f} s, tension {tension}/10: {text}"
            for i, (c, (text, tension)) in enumerate(zip(chunks, summaries, strict=True), start=1)
        )
        notes = [
            f"{c['start']:.0f}-{c['end']:.0f} s ({tension}/10): {text}"
            for c, (text, tension) in zip(chunks, summaries, strict=True)
        ]
        try:
            anchors = _ask(chat, DECIDE_PROMPT.format(duration=analysis.duration, parts=listing), AnchorAnswer, retries)
            _check_order(anchors, analysis.duration)
        except InvalidAnswer as exc:
            log.warning("%s anchors unusable (%s); the heuristic's are used", backend, exc)
            return fallback.model_copy(
                update={"requested": backend, "model": chat.identity, "fallback": str(exc)[:300], "summaries": notes}
            )
    finally:
        chat.close()
    if fallback.resolution > anchors.climax:
        resolution = fallback.resolution
        why_resolution = next(
            (ln.split(": ", 1)[1] for ln in fallback.notes.splitlines() if ln.startswith("resolution ")), "measured"
        )
    else:
        resolution = analysis.duration
        why_resolution = f"the measured one ({fallback.resolution:.1f} s) is not after the model's climax: the end"
    escalation, climax, moved = hold_shares(anchors.begin, anchors.escalation, anchors.climax, resolution)
    log.info("anchors from %s: %.1f / %.1f / %.1f s", backend, anchors.begin, escalation, climax)
    decided = f"decided by {backend} over {len(chunks)} summaries of the film"
    held = {name: [m for m in moved if m.startswith(name)] for name in ("escalation", "climax")}
    return Structure(
        backend=backend,
        requested=backend,
        model=chat.identity,
        begin=round(anchors.begin, 3),
        escalation=escalation,
        climax=climax,
        resolution=round(resolution, 3),
        duration=analysis.duration,
        notes="\n".join(
            [
                f"{decided}; resolution measured",
                f"begin {anchors.begin:.1f} s: {decided}",
                f"escalation {escalation:.1f} s: " + "; ".join([decided, *held["escalation"]]),
                f"climax {climax:.1f} s: " + "; ".join([decided, *held["climax"]]),
                f"resolution {resolution:.1f} s: {why_resolution}",
            ]
        ),
        summaries=notes,
    )


def _check_order(anchors: AnchorAnswer, duration: float) -> None:
    if not 0 <= anchors.begin < anchors.escalation < anchors.climax <= duration:
        raise InvalidAnswer(
            f"anchors not in order within the film: begin {anchors.begin}, escalation {anchors.escalation}, "
            f"climax {anchors.climax}, duration {duration:.1f}"
        )
