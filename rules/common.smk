# Python the DAG needs: config validation, the film list, input and params functions.
import ast
import functools
import re

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.io import IOFile
from snakemake.settings.types import RerunTrigger
from snakemake.utils import validate

from cinecut import anchors as cinecut_anchors
from cinecut import catalogue as cinecut_catalogue
from cinecut import music as cinecut_music
from cinecut import scenes as cinecut_scenes
from cinecut import source as cinecut_source
from cinecut import speech as cinecut_speech
from cinecut import vision as cinecut_vision
from cinecut import zones as cinecut_zones
from cinecut.errors import CinecutError

validate(config, schema="../schemas/config.schema.yaml", set_default=True)


def _empty_means_default(values, schema, root):
    """An empty value (`--config subtitles=` reads as None) is the key's default: "" for
    the optional strings, so that "no subtitles" is said the same way everywhere."""
    for key, prop in schema.get("properties", {}).items():
        ref = prop.get("$ref", "")
        if ref.startswith("#/definitions/"):
            prop = {**root["definitions"][ref.rsplit("/", 1)[1]], **prop}
        if key in values and values[key] is None:
            values[key] = prop.get("default", "")
        elif isinstance(values.get(key), dict):
            _empty_means_default(values[key], prop, root)


with open(workflow.source_path("../schemas/config.schema.yaml")) as fh:
    _config_schema = yaml.safe_load(fh)
_empty_means_default(config, _config_schema, _config_schema)

RESULTS = config["results"].rstrip("/")
DEMO = cinecut_catalogue.DEMO

with open(workflow.source_path("../schemas/sheet.schema.yaml")) as fh:
    try:
        FILMS, MAIN_FILM = cinecut_catalogue.read_films(config, yaml.safe_load(fh))
    except cinecut_catalogue.CatalogueError as exc:
        raise WorkflowError(str(exc))


wildcard_constraints:
    film="[^/]+",


def get_final_output():
    """Delivered trailers; delivery waits for QC and the report figures."""
    return ["trailer.mp4"] + expand("trailers/{film}.mp4", film=FILMS)


def is_rule_produced(path):
    return path == DEMO["film"]


def get_stamp_input(wildcards):
    """A film made by a rule is an ordinary input, so the DAG orders it first."""
    film = FILMS[wildcards.film].film
    return [film] if is_rule_produced(film) else []


def get_film_path(wildcards):
    return FILMS[wildcards.film].film


def get_film_signature(wildcards):
    """mtime_ns:size of the film; a change reruns the stamp and all that follows."""
    if RerunTrigger.PARAMS not in workflow.rerun_triggers:
        raise WorkflowError(
            "cinecut needs the 'params' rerun trigger to notice a changed film: "
            "drop --rerun-triggers or include 'params' in it"
        )
    film = FILMS[wildcards.film].film
    if is_rule_produced(film):
        return cinecut_source.RULE_PRODUCED
    return cinecut_source.signature(film)


def get_subtitles(wildcards):
    subtitles = FILMS[wildcards.film].subtitles
    return {"subtitles": subtitles} if subtitles else {}


def get_vibe_name(wildcards):
    return FILMS[wildcards.film].vibe


def get_title(wildcards):
    return FILMS[wildcards.film].title


def get_tagline(wildcards):
    return FILMS[wildcards.film].tagline


def get_length(wildcards):
    """Target trailer length (s): the sheet's column, else config trailer.length."""
    return FILMS[wildcards.film].length


def get_scenedesc_repair(wildcards):
    """`repair` param of the scenedesc rule: changes only when the msgpack is damaged.

    Snakemake records params when a job runs and reruns the rule when they change.
    A damaged file gives a new value ("repair:corrupt:<mtime>:<size>"); a healthy one
    repeats whatever was recorded, so it never triggers a rebuild by itself and the
    run after a repair plans nothing.
    """
    path = f"{RESULTS}/{wildcards.film}/{wildcards.film}.scenedesc.msgpack"
    damage = cinecut_scenes.damage(path)
    if damage:
        return f"repair:{damage}"
    for value in workflow.persistence.params(IOFile(path)) or []:
        if value.startswith("'repair:"):
            return ast.literal_eval(value)
    return "repair:ok"


def get_model_gpu(backend):
    """One GPU slot for in-process models; none for the heuristics or a remote server."""
    return 1 if backend == "llama_cpp" else 0


def get_model_threads(settings):
    return settings["threads"] if settings["backend"] == "llama_cpp" else 1


def get_conform_mem_mb(wildcards, threads):
    """Conform runs one ffmpeg per thread, each one or two decoders and an x264 encoder
    at the trailer's size, and builds the sound beside them (benchmarks/conform.py
    measures both): a base for Python, the join and the sound's trailer-length arrays
    (about 3 MB per second of trailer, 180 s allowed), and per worker about 150 MB per
    megapixel plus the film's decoder. An unknown size (0 x 0, the film's own) counts as
    1080p."""
    pixels = (config["trailer"]["width"] or 1920) * (
        config["trailer"]["height"] or 1080
    )
    return round(1000 + threads * (120 + 150 * pixels / 1e6))


def get_model_mem_mb(settings):
    """Room for a 7B Q4 model and its projector when one runs in-process."""
    return 8000 if settings["backend"] == "llama_cpp" else 1000


@functools.cache
def _model_identity(stage):
    """Model files (names, sizes, content hashes), read once per DAG, not once per film."""
    identity = {
        "vision": cinecut_vision.model_identity,
        "structure": cinecut_anchors.model_identity,
    }[stage]
    try:
        return identity(config[stage], config["models_dir"])
    except CinecutError as exc:
        raise WorkflowError(f"config {stage}: {exc}")


def get_vision_model(wildcards):
    """A new vision model re-describes every film (and reruns what follows)."""
    return _model_identity("vision")


def get_vision_prompt(wildcards):
    return cinecut_vision.prompt_hash(config["vision"])


@functools.cache
def _zone_meaning():
    choice = config["narrative"]["meaning"]
    return cinecut_zones.available() if choice == "auto" else choice


def get_zone_meaning(wildcards):
    """What compares clips with the zones: installing the embedding model reruns narrative."""
    return _zone_meaning()


@functools.cache
def _speech_model():
    return cinecut_speech.backend_identity(config["speech"]["backend"])


def get_speech_model(wildcards):
    """The voice activity backend and its package's version: a new model reruns speech."""
    return _speech_model()


def get_structure_model(wildcards):
    return _model_identity("structure")


def get_structure_prompt(wildcards):
    if config["structure"]["backend"] == "heuristic":
        return ""
    return cinecut_anchors.prompts_hash()


@functools.cache
def _music_signature():
    try:
        return cinecut_music.library_signature(config["music"]["folder"])
    except CinecutError as exc:
        raise WorkflowError(str(exc))


def get_music_signature(wildcards):
    """Names, sizes and mtimes of the music folder's files: a new track rescans it."""
    return _music_signature()


def get_music_library(wildcards):
    return (
        {"library": f"{RESULTS}/music_library.json"}
        if config["music"]["folder"]
        else {}
    )


# A missing music folder or model file stops the run here, in one line, before any job
# is planned (the same cached checks that the rules' params use).
_music_signature()
for _stage in ("vision", "structure"):
    if config[_stage]["backend"] == "llama_cpp":
        _model_identity(_stage)
