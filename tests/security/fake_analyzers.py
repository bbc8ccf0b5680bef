"""Small stand-ins for the Presidio analyzer, importable by analysis worker processes."""

from __future__ import annotations

from presidio_analyzer import RecognizerResult


class _Engine:
    @staticmethod
    def process_batch(texts, **kwargs):
        return ((text, None) for text in texts)


class NoPII:
    """Finds nothing."""

    nlp_engine = _Engine

    def analyze(self, text, **kwargs):
        return []


class FirstWord(NoPII):
    """Reports the first word of every text as a PERSON."""

    def analyze(self, text, **kwargs):
        end = text.find(" ") if " " in text else len(text)
        return [
            RecognizerResult("PERSON", 0, end, 0.9, recognition_metadata={"recognizer_name": "first_word"})
        ]


class ExplodesOnSecret(NoPII):
    """Fails, quoting the text, on any text that holds SECRET."""

    def analyze(self, text, **kwargs):
        if "SECRET" in text:
            raise RuntimeError(f"boom while reading {text}")
        return []


class DiesOnSecret(NoPII):
    """Kills its own process on any text that holds SECRET (a crash in native code)."""

    def analyze(self, text, **kwargs):
        if "SECRET" in text:
            import os

            os._exit(1)
        return []


def cannot_load():
    raise RuntimeError("no model here")
