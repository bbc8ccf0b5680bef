"""The shipped library vectors: written once, reused, and only new lines embedded."""

from __future__ import annotations

import numpy as np

from security.injection.vectors import StoredVectors, builtin_texts, key, path_for, rebuild, teaching_vectors


class CountingEmbedder:
    """Deterministic vectors from the text's digest; remembers how many texts it embedded."""

    name = "counting"

    def __init__(self) -> None:
        self.embedded = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.embedded += len(texts)
        rows = [np.frombuffer(bytes.fromhex(key(t)), dtype=np.uint8)[:8].astype(np.float32) for t in texts]
        return np.stack([r / np.linalg.norm(r) for r in rows]) if rows else np.zeros((0, 8), np.float32)


def test_rebuilding_embeds_only_what_is_not_stored(tmp_path):
    embedder = CountingEmbedder()
    path = rebuild("counting", embedder, tmp_path)
    texts = builtin_texts()
    assert path == path_for("counting", tmp_path) and embedder.embedded == len(texts)
    again = CountingEmbedder()
    rebuild("counting", again, tmp_path)
    assert again.embedded == 0  # every line was stored


def test_stored_vectors_stand_in_for_the_model_and_new_texts_are_embedded(tmp_path):
    rebuild("counting", CountingEmbedder(), tmp_path)
    stored = StoredVectors(path_for("counting", tmp_path))
    texts = builtin_texts()[:3] + ["a line a team added"]
    assert stored.missing(texts) == ["a line a team added"]
    live = CountingEmbedder()
    vectors = stored.encode(live, texts)
    assert live.embedded == 1 and vectors.shape == (4, 8)
    assert np.allclose(vectors, CountingEmbedder().encode(texts), atol=1e-3)  # stored as float16


def test_an_embedder_without_a_name_embeds_everything():
    class Anonymous(CountingEmbedder):
        name = None

    embedder = Anonymous()
    teaching_vectors(embedder, ["one", "two"])
    assert embedder.embedded == 2
