"""The analyzer: model folder, slim pipeline, offline suffix list, recognizer registry."""

from __future__ import annotations

import socket

import pytest
from presidio_analyzer import Pattern, PatternRecognizer

from config.errors import ConfigError
from config.settings import Settings
from security.pii import engine, get_analyzer, get_scrubber
from security.pii.recognizers import register_recognizer, registered_recognizers, registry


def test_default_model_path_is_the_packaged_model_folder():
    assert (engine.default_model_path() / "config.cfg").is_file()


def test_a_model_path_without_config_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="config.cfg"):
        engine.build_analyzer(tmp_path)


@pytest.mark.slow
def test_analyzer_is_built_once_without_parser(analyzer):
    assert get_analyzer(Settings()) is analyzer
    nlp = analyzer.nlp_engine.nlp["en"]
    assert "parser" not in nlp.pipe_names and "ner" in nlp.pipe_names
    names = {r.name for r in analyzer.registry.recognizers}
    assert {"PhoneNumberRecognizer", "CardNumberRecognizer", "SsnRecognizer", "NerRecognizer"} <= names
    assert not names & {"PhoneRecognizer", "CreditCardRecognizer", "UsSsnRecognizer", "SpacyRecognizer"}


@pytest.mark.slow
def test_context_words_reach_the_enhancer(analyzer):
    # spaCy lists "call" as a stop word; Presidio would never see it as context
    assert not analyzer.nlp_engine.is_stopword("call", "en")
    artifacts = analyzer.nlp_engine.process_text("Calls to the Phones", "en")
    assert {"calls", "phones"} <= set(artifacts.keywords)


@pytest.mark.slow
def test_email_validation_uses_the_bundled_suffix_list_without_network(analyzer, monkeypatch):
    import tldextract
    import tldextract.tldextract as module

    def refuse(*args, **kwargs):
        raise AssertionError("network attempted")

    monkeypatch.setattr(module, "TLD_EXTRACTOR", tldextract.TLDExtract())  # the downloading default
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    engine.use_bundled_suffix_list()
    assert module.TLD_EXTRACTOR.suffix_list_urls == ()
    results = analyzer.analyze("write to ana@example.co.uk", language="en", entities=["EMAIL_ADDRESS"])
    assert [r.entity_type for r in results] == ["EMAIL_ADDRESS"]


@pytest.mark.slow
def test_get_scrubber_is_cached_per_policy():
    settings = Settings()
    assert get_scrubber(settings) is get_scrubber(Settings())
    other = get_scrubber(Settings(pii={"default_action": "tag"}))
    assert other is not get_scrubber(settings) and other.analyzer is get_scrubber(settings).analyzer


def test_plugins_register_like_builtins(monkeypatch):
    monkeypatch.setattr(registry, "_recognizers", dict(registry._recognizers))

    @register_recognizer
    class EmployeeIdRecognizer(PatternRecognizer):
        def __init__(self):
            super().__init__("EMPLOYEE_ID", patterns=[Pattern("emp", r"\bEMP-\d{6}\b", 0.8)])

    assert registered_recognizers()[-1] is EmployeeIdRecognizer
    with pytest.raises(TypeError):
        register_recognizer(object)


@pytest.mark.slow
def test_a_registered_plugin_is_used_by_a_new_analyzer(monkeypatch):
    monkeypatch.setattr(registry, "_recognizers", dict(registry._recognizers))

    @register_recognizer
    class EmployeeIdRecognizer(PatternRecognizer):
        def __init__(self):
            super().__init__("EMPLOYEE_ID", patterns=[Pattern("emp", r"\bEMP-\d{6}\b", 0.8)])

    fresh = engine.build_analyzer(engine.default_model_path())
    results = fresh.analyze("badge EMP-123456", language="en", entities=["EMPLOYEE_ID"])
    assert [r.entity_type for r in results] == ["EMPLOYEE_ID"]
