"""The built-in libraries' embeddings, computed once and shipped beside them.

Teaching a semantic rule embeds every library example: a second with all-MiniLM-L6-v2, but
about forty with multilingual-e5-small on two cores, before the first prompt could be
screened. So the vectors of the built-in examples live in ``library/vectors-<model>.npz``,
keyed by a digest of each text. Examples without a stored vector (a team's own, or a line
edited since) are embedded when the rule is taught, as before; nothing is written at run
time. ``python -m security.injection.vectors`` rebuilds the files after the libraries change
(a test says when they are stale).
"""

from __future__ import annotations

import hashlib
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from config.models import Embedder
from security.injection import library

LIBRARIES = (
    library.ATTACKS, library.VARIED_ATTACKS, library.INJECTED_DOCUMENTS,
    library.REQUESTS, library.DOCUMENTS, library.LOOKALIKES, library.CLEAN_DOCUMENTS,
)


def key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def path_for(model: str, folder: Path = library.BUILTIN_DIR) -> Path:
    return folder / f"vectors-{model}.npz"


def builtin_texts() -> list[str]:
    return list(dict.fromkeys(e.text for name in LIBRARIES for e in library.load(name)))


class StoredVectors:
    """The shipped vectors of one model; ``encode`` embeds only what is not stored."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._rows: dict[str, np.ndarray] | None = None
        self._lock = threading.Lock()

    @property
    def rows(self) -> dict[str, np.ndarray]:
        with self._lock:
            if self._rows is None:
                self._rows = {}
                if self.path.is_file():
                    with np.load(self.path) as stored:
                        self._rows = dict(zip(stored["keys"].tolist(), stored["vectors"].astype(np.float32), strict=True))
            return self._rows

    def missing(self, texts: list[str]) -> list[str]:
        return [t for t in dict.fromkeys(texts) if key(t) not in self.rows]

    def encode(self, embedder: Embedder, texts: list[str]) -> np.ndarray:
        missing = self.missing(texts)
        fresh = dict(zip(missing, embedder.encode(missing), strict=True)) if missing else {}
        return np.stack([fresh[t] if t in fresh else self.rows[key(t)] for t in texts])


@lru_cache(maxsize=4)
def stored(model: str) -> StoredVectors:
    return StoredVectors(path_for(model))


def teaching_vectors(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """``embedder``'s vectors of ``texts``, from the shipped file where the embedder names its
    model and the file has them."""
    model = getattr(embedder, "name", None)
    return stored(model).encode(embedder, texts) if model else embedder.encode(texts)


def rebuild(model: str, embedder: Embedder, folder: Path = library.BUILTIN_DIR) -> Path:
    """Writes the vectors of every built-in example for ``model``; returns the file."""
    texts = builtin_texts()
    path = path_for(model, folder)
    vectors = StoredVectors(path).encode(embedder, texts)  # only new or edited lines are embedded
    np.savez_compressed(path, keys=np.array([key(t) for t in texts]), vectors=vectors.astype(np.float16))
    stored.cache_clear()
    return path


def main() -> int:
    from config.models import multilingual_embedder, sentence_embedder
    from config.settings import get_settings

    for embedder in (sentence_embedder(get_settings()), multilingual_embedder()):
        print(f"wrote {rebuild(embedder.name, embedder)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
