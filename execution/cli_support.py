"""Helpers the command line shares: building the pipeline, loading templates, progress."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

from config.errors import InputError, TemplateError
from config.settings import Settings
from execution.pipeline import Pipeline
from execution.prompt_ref import PromptRef
from execution.templates import PromptTemplate
from security.identity.cli import cli_principal


def build_pipeline(settings: Settings) -> Pipeline:
    return Pipeline(settings, principal=cli_principal(settings))


def load_template(
    settings: Settings, pipeline: Pipeline, prompt: str | None, template_file: Path | None
) -> tuple[PromptTemplate, PromptRef]:
    """The template and its identity, from the prompt registry or a file."""
    if prompt:
        from security.prompt_registry import PromptRegistry

        version = PromptRegistry(pipeline.store, pipeline.principal).resolve(prompt)
        template = pipeline.template(version.template)
        return template, PromptRef.registered(version.slug, version.version, version.label)
    try:
        source = Path(template_file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(f"Template file not found: {template_file}.", "Check the path.") from None
    except UnicodeDecodeError:
        raise TemplateError(f"Template file {template_file} is not UTF-8 text.", "Save it as UTF-8.") from None
    template = pipeline.template(source)
    return template, PromptRef.adhoc(template)


def parse_vars(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InputError(f"Malformed --var '{name[:40]}'.", "Write --var NAME=VALUE.")
        out[name.strip()] = value
    return out


def progress_bar(stream: TextIO = sys.stderr, width: int = 30):
    """A plain-text progress callback: ``[#####-----] 120/500 rows, 85.3 rows/s``."""
    started = time.perf_counter()

    def update(done: int, total: int) -> None:
        filled = int(width * done / total) if total else width
        rate = done / max(time.perf_counter() - started, 1e-9)
        end = "\n" if done >= total else ""
        stream.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {done}/{total} rows, {rate:.1f} rows/s{end}")
        stream.flush()

    return update
