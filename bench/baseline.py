"""Bare Presidio as documented, the anchor the benchmarks compare against."""

from __future__ import annotations

from config.settings import Settings


def bare_presidio(settings: Settings):
    """(analyzer, anonymizer): default recognizers, the full spaCy pipeline of the same model,
    the default anonymizer (every finding replaced by its type tag)."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    from security.pii.engine import default_model_path, use_bundled_suffix_list

    use_bundled_suffix_list()  # offline: Presidio's e-mail check would otherwise try to download
    model = str(settings.spacy_model_path or default_model_path())
    nlp = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}
    ).create_engine()
    return AnalyzerEngine(nlp_engine=nlp), AnonymizerEngine()
