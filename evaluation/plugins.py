"""Finding user metrics: Python files in a folder, and package entry points.

- Folder: every ``*.py`` file in ``settings.metric_plugins_dir`` (files starting
  with ``_`` are skipped) is imported; its ``@register_metric`` classes and
  ``@metric_function`` functions register themselves. A file added or changed
  later is picked up on the next look, so a new metric appears in the UI with
  no code change and no restart.
- Entry points: group ``promptforge.metrics``; an entry point may name a module
  (imported, it registers) or a ``Metric`` subclass (registered).

A plugin that fails to import does not take the app down: its error is kept and
shown (``plugin_errors``), and the other metrics stay usable.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config.settings import Settings

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "promptforge.metrics"
_MODULE_PREFIX = "promptforge_metric_plugins"

_lock = threading.RLock()
_loaded_files: dict[Path, float] = {}  # file -> mtime it was imported at
_errors: dict[str, str] = {}  # source -> error message
_entry_points_done = False


def load_plugins(settings: Settings | None = None) -> None:
    """Import new or changed plugin files and, once per process, the entry points."""
    global _entry_points_done
    with _lock:
        folder = _folder(settings)
        if folder is not None:
            for path in sorted(folder.glob("*.py")):
                if not path.name.startswith("_"):
                    _load_file(path)
        if not _entry_points_done:
            _entry_points_done = True
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                _load_entry_point(ep)


def plugin_errors() -> dict[str, str]:
    """Plugins that failed to load: source (file or entry point) -> what went wrong."""
    with _lock:
        return dict(_errors)


def _folder(settings: Settings | None) -> Path | None:
    if settings is None:
        from config.settings import get_settings

        settings = get_settings()
    folder = settings.metric_plugins_dir
    return folder if folder is not None and folder.is_dir() else None


def _load_file(path: Path) -> None:
    path = path.resolve()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return
    if _loaded_files.get(path) == mtime:
        return
    _loaded_files[path] = mtime
    name = f"{_MODULE_PREFIX}.{path.stem}"
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and pickling look the module up by name
        spec.loader.exec_module(module)
        _errors.pop(str(path), None)
    except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, never fatal
        sys.modules.pop(name, None)
        _errors[str(path)] = f"{type(exc).__name__}: {exc}"
        logger.warning("metric plugin %s failed to load: %s", path, exc)


def _load_entry_point(ep) -> None:
    from evaluation.registry import Metric, register_metric

    source = f"entry point {ep.name} ({ep.value})"
    try:
        loaded = ep.load()
        if isinstance(loaded, type) and issubclass(loaded, Metric):
            register_metric(loaded)
        _errors.pop(source, None)
    except Exception as exc:  # noqa: BLE001
        _errors[source] = f"{type(exc).__name__}: {exc}"
        logger.warning("metric %s failed to load: %s", source, exc)


def reset_for_tests() -> None:
    """Forget which plugin files were imported (the registry keeps their metrics)."""
    global _entry_points_done
    with _lock:
        _loaded_files.clear()
        _errors.clear()
        _entry_points_done = False
