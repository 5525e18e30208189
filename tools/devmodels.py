"""Tiny random-weight model files for tests and benchmarks (no hub, no download).

`write_tiny_llava(folder)` writes a LLaVA-1.5-style pair: a `llama`-architecture text
GGUF with an SPM byte-fallback vocabulary, and a `clip` mmproj GGUF with a small ViT and
an MLP projector into the text model's embedding space. llama-cpp-python loads the pair
through its real chat handlers and libmtmd in milliseconds. The answers are noise; what
the pair proves is the code path: image in, tokens out, grammar applied, files checked.

Test-only, so outside the package. Needs the `gguf` package (a dev dependency).
Usage: `.venv/bin/python tools/devmodels.py DIR`.
"""

from __future__ import annotations

import socket
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TEXT_EMBD = 64
TEXT_FF = 160  # differs from the embedding size on purpose (see clip's ffn-swap check)
TEXT_LAYERS = 2
TEXT_HEADS = 4
VISION_EMBD = 32
VISION_FF = 80
VISION_LAYERS = 2
VISION_HEADS = 4
IMAGE_SIZE = 32
PATCH_SIZE = 8


@dataclass(frozen=True)
class TinyPair:
    model: Path
    mmproj: Path


def _vocab() -> tuple[list[str], list[float], list[int]]:
    """SPM vocabulary: control tokens, 256 byte-fallback tokens, printable pieces."""
    normal, unknown, control, byte = 1, 2, 3, 6
    tokens = ["<unk>", "<s>", "</s>"]
    types = [unknown, control, control]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [byte] * 256
    pieces = [c for c in string.ascii_letters + string.digits + string.punctuation]
    words = "a the dark light night man woman car city room face fire gun run calm tense quiet wide close".split()
    pieces += ["▁"] + [f"▁{w}" for w in words] + [f"▁{c}" for c in string.ascii_lowercase]
    pieces = list(dict.fromkeys(pieces))  # llama.cpp refuses a vocabulary with duplicates
    tokens += pieces
    types += [normal] * len(pieces)
    scores = [0.0] * 259 + [-float(len(p)) for p in pieces]
    return tokens, scores, types


def _normal(rng: np.random.Generator, shape: tuple[int, ...], std: float) -> np.ndarray:
    return (rng.standard_normal(shape) * std).astype(np.float32)


def llama_writer(
    path: Path,
    name: str,
    vocab: tuple[list[str], list[float], list[int]],
    *,
    context: int,
    embd: int,
    ff: int,
    layers: int,
    heads: int,
    rms_eps: float,
):
    """A GGUFWriter for a `llama`-architecture model with an SPM vocabulary (tokens 0-2:
    unknown, begin, end), its metadata written; the caller adds the tensors and
    `finish`es it."""
    import gguf

    tokens, scores, types = vocab
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(name)
    w.add_context_length(context)
    w.add_embedding_length(embd)
    w.add_feed_forward_length(ff)
    w.add_block_count(layers)
    w.add_head_count(heads)
    w.add_head_count_kv(heads)
    w.add_rope_dimension_count(embd // heads)
    w.add_layer_norm_rms_eps(rms_eps)
    w.add_file_type(0)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    return w


def write_text_model(path: Path, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    vocab = _vocab()
    n_vocab = len(vocab[0])
    w = llama_writer(
        path, "cinecut-tiny-llava-text", vocab,
        context=1024, embd=TEXT_EMBD, ff=TEXT_FF, layers=TEXT_LAYERS, heads=TEXT_HEADS, rms_eps=1e-5,
    )  # fmt: skip
    w.add_tensor("token_embd.weight", _normal(rng, (n_vocab, TEXT_EMBD), 1.0))
    w.add_tensor("output_norm.weight", np.ones(TEXT_EMBD, np.float32))
    w.add_tensor("output.weight", _normal(rng, (n_vocab, TEXT_EMBD), 0.5))
    for i in range(TEXT_LAYERS):
        p = f"blk.{i}"
        w.add_tensor(f"{p}.attn_norm.weight", np.ones(TEXT_EMBD, np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            w.add_tensor(f"{p}.{name}.weight", _normal(rng, (TEXT_EMBD, TEXT_EMBD), 0.3))
        w.add_tensor(f"{p}.ffn_norm.weight", np.ones(TEXT_EMBD, np.float32))
        w.add_tensor(f"{p}.ffn_gate.weight", _normal(rng, (TEXT_FF, TEXT_EMBD), 0.3))
        w.add_tensor(f"{p}.ffn_up.weight", _normal(rng, (TEXT_FF, TEXT_EMBD), 0.3))
        w.add_tensor(f"{p}.ffn_down.weight", _normal(rng, (TEXT_EMBD, TEXT_FF), 0.3))
    finish(w)


def write_mmproj(path: Path, seed: int = 11, projection_dim: int = TEXT_EMBD) -> None:
    """`projection_dim` other than TEXT_EMBD makes a pair that does not match."""
    import gguf

    rng = np.random.default_rng(seed)
    n_pos = (IMAGE_SIZE // PATCH_SIZE) ** 2 + 1  # patches + class token
    w = gguf.GGUFWriter(str(path), "clip")
    w.add_name("cinecut-tiny-llava-mmproj")
    w.add_file_type(0)
    w.add_bool("clip.has_vision_encoder", True)
    w.add_bool("clip.has_llava_projector", True)
    w.add_string("clip.projector_type", "mlp")
    w.add_bool("clip.use_gelu", True)
    w.add_uint32("clip.vision.image_size", IMAGE_SIZE)
    w.add_uint32("clip.vision.patch_size", PATCH_SIZE)
    w.add_uint32("clip.vision.embedding_length", VISION_EMBD)
    w.add_uint32("clip.vision.feed_forward_length", VISION_FF)
    w.add_uint32("clip.vision.projection_dim", projection_dim)
    w.add_uint32("clip.vision.block_count", VISION_LAYERS)
    w.add_uint32("clip.vision.attention.head_count", VISION_HEADS)
    w.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-5)
    w.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
    w.add_array("clip.vision.image_std", [0.5, 0.5, 0.5])
    # numpy shapes are ggml's dimensions reversed: a conv kernel is (out, in, kh, kw)
    w.add_tensor("v.patch_embd.weight", _normal(rng, (VISION_EMBD, 3, PATCH_SIZE, PATCH_SIZE), 0.3))
    w.add_tensor("v.class_embd", _normal(rng, (VISION_EMBD,), 0.3))
    w.add_tensor("v.position_embd.weight", _normal(rng, (n_pos, VISION_EMBD), 0.3))
    w.add_tensor("v.pre_ln.weight", np.ones(VISION_EMBD, np.float32))
    w.add_tensor("v.pre_ln.bias", np.zeros(VISION_EMBD, np.float32))
    for i in range(VISION_LAYERS):
        p = f"v.blk.{i}"
        for name in ("attn_q", "attn_k", "attn_v", "attn_out"):
            w.add_tensor(f"{p}.{name}.weight", _normal(rng, (VISION_EMBD, VISION_EMBD), 0.3))
            w.add_tensor(f"{p}.{name}.bias", np.zeros(VISION_EMBD, np.float32))
        for name in ("ln1", "ln2"):
            w.add_tensor(f"{p}.{name}.weight", np.ones(VISION_EMBD, np.float32))
            w.add_tensor(f"{p}.{name}.bias", np.zeros(VISION_EMBD, np.float32))
        w.add_tensor(f"{p}.ffn_up.weight", _normal(rng, (VISION_FF, VISION_EMBD), 0.3))
        w.add_tensor(f"{p}.ffn_up.bias", np.zeros(VISION_FF, np.float32))
        w.add_tensor(f"{p}.ffn_down.weight", _normal(rng, (VISION_EMBD, VISION_FF), 0.3))
        w.add_tensor(f"{p}.ffn_down.bias", np.zeros(VISION_EMBD, np.float32))
    w.add_tensor("mm.0.weight", _normal(rng, (projection_dim, VISION_EMBD), 0.5))
    w.add_tensor("mm.0.bias", np.zeros(projection_dim, np.float32))
    w.add_tensor("mm.2.weight", _normal(rng, (projection_dim, projection_dim), 1.0))
    w.add_tensor("mm.2.bias", np.zeros(projection_dim, np.float32))
    finish(w)


def finish(writer) -> None:
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def write_tiny_llava(folder: str | Path) -> TinyPair:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pair = TinyPair(folder / "tiny-llava-text.gguf", folder / "tiny-llava-mmproj.gguf")
    write_text_model(pair.model)
    write_mmproj(pair.mmproj)
    return pair


@contextmanager
def llama_server(model: Path, *args: str, timeout: float = 60) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on a free port of 127.0.0.1; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), *args]
    command += ["--n_gpu_layers", "0", "--host", "127.0.0.1", "--port", str(port), "--verbose", "False"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"llama_cpp.server exited: {proc.stderr.read().decode()[-2000:]}") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"llama_cpp.server did not listen within {timeout:.0f} s") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    written = write_tiny_llava(sys.argv[1] if len(sys.argv) > 1 else "models")
    print(written.model, written.mmproj)
