"""Helpers the command line shares: the caller's paths, building the pipeline, loading
templates, progress.

Importing this module is cheap (the pipeline and its models load inside the functions that
need them), so ``launch.py`` can use ``caller_path`` while it builds its parser.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from config.errors import InputError, TemplateError

if TYPE_CHECKING:
    from config.settings import Settings
    from execution.pipeline import Pipeline
    from execution.prompt_ref import PromptRef
    from execution.templates import PromptTemplate

# -- paths are the caller's ------------------------------------------------------------
#
# ``python launch.py`` changes into the project folder before it runs, so a relative path
# on its command line must be resolved against the folder the user ran it from, which
# ``launch.py`` records here before it changes directory (``set_caller_cwd``).

_caller_cwd: Path | None = None


def set_caller_cwd(path: Path | str | None) -> None:
    """Remember the folder the command was run from (None: the current folder, when asked)."""
    global _caller_cwd
    _caller_cwd = Path(path).resolve() if path is not None else None


def caller_cwd() -> Path:
    """The folder the user ran the command from."""
    return _caller_cwd if _caller_cwd is not None else Path.cwd()


def caller_path(value: str | Path) -> Path:
    """An argparse ``type`` for file and folder arguments: ``~`` expanded, a relative path
    resolved against the caller's folder (not the project folder ``launch.py`` runs in)."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else caller_cwd() / path


def caller_path_or_name(value: str) -> str:
    """An argparse ``type`` for NAME-or-FILE arguments (``eval --dataset``): an existing file
    relative to the caller's folder becomes its absolute path; anything else stays as given."""
    path = caller_path(value)
    return str(path) if path.is_file() else value


# -- the pipeline and templates ----------------------------------------------------------


def build_pipeline(settings: Settings) -> Pipeline:
    from execution.pipeline import Pipeline
    from security.identity.cli import cli_principal

    return Pipeline(settings, principal=cli_principal(settings))


def load_template(
    settings: Settings, pipeline: Pipeline, prompt: str | None, template_file: Path | None
) -> tuple[PromptTemplate, PromptRef]:
    """The template and its identity, from the prompt registry or a file."""
    from execution.prompt_ref import PromptRef

    if prompt:
        from prompts.registry import PromptRegistry

        registry = PromptRegistry(pipeline.store, pipeline.principal, limits=pipeline.limits)
        version = registry.resolve(prompt)
        template = registry.template(version)
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


def progress_bar(stream: TextIO = sys.stderr, width: int = 30, unit: str = "rows"):
    """A plain-text progress callback: ``[#####-----] 120/500 rows, 85.3 rows/s``."""
    started = time.perf_counter()

    def update(done: int, total: int) -> None:
        filled = int(width * done / total) if total else width
        rate = done / max(time.perf_counter() - started, 1e-9)
        end = "\n" if done >= total else ""
        stream.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {done}/{total} {unit}, {rate:.1f} {unit}/s{end}")
        stream.flush()

    return update
