"""Finding plugins: Python files in a folder named by a setting, and package entry points.

One ``PluginFolder`` per extension point (metrics, lint rules...):

- Folder: every ``*.py`` file in the folder named by ``settings.<settings_attr>`` (files
  starting with ``_`` are skipped) is imported under ``<module_prefix>.<stem>``; what it
  defines registers itself through the extension point's own call (``@register_metric``,
  ``@register_rule``). A file added or changed later is picked up on the next ``load``, so
  a new plugin appears with no code change and no restart.
- Entry points: ``group``, read once per process; an entry point may name a module
  (imported, it registers) or an object that ``register_entry`` registers (a class, say).

A plugin that fails to import does not take the app down: its error is kept and shown
(``errors``), and the other plugins stay usable.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config.settings import Settings

logger = logging.getLogger(__name__)


class PluginFolder:
    """The plugins of one extension point: a folder (from a setting) and an entry-point group.

    ``register_entry`` receives whatever an entry point loads (a module's import already
    registered its contents; a class may need registering) and registers it if it should.
    """

    def __init__(
        self,
        group: str,
        settings_attr: str,
        module_prefix: str,
        *,
        register_entry: Callable[[object], None] | None = None,
        what: str = "plugin",
    ) -> None:
        self.group = group
        self.settings_attr = settings_attr
        self.module_prefix = module_prefix
        self.what = what
        self._register_entry = register_entry
        self._lock = threading.RLock()
        self._loaded_files: dict[Path, float] = {}  # file -> mtime it was imported at
        self._errors: dict[str, str] = {}  # source (file or entry point) -> error message
        self._entry_points_done = False

    def load(self, settings: Settings | None = None) -> None:
        """Import new or changed plugin files and, once per process, the entry points."""
        with self._lock:
            folder = self.folder(settings)
            if folder is not None:
                for path in sorted(folder.glob("*.py")):
                    if not path.name.startswith("_"):
                        self._load_file(path)
            if not self._entry_points_done:
                self._entry_points_done = True
                for ep in entry_points(group=self.group):
                    self._load_entry_point(ep)

    def errors(self) -> dict[str, str]:
        """Plugins that failed to load: source (file or entry point) -> what went wrong."""
        with self._lock:
            return dict(self._errors)

    def reset(self) -> None:
        """Forget which files and entry points were imported (registries keep what they registered)."""
        with self._lock:
            self._loaded_files.clear()
            self._errors.clear()
            self._entry_points_done = False

    def folder(self, settings: Settings | None = None) -> Path | None:
        """The plugin folder the settings name, or None when unset or missing."""
        if settings is None:
            from config.settings import get_settings

            settings = get_settings()
        folder = getattr(settings, self.settings_attr)
        return folder if folder is not None and folder.is_dir() else None

    def _load_file(self, path: Path) -> None:
        path = path.resolve()
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return
        if self._loaded_files.get(path) == mtime:
            return
        self._loaded_files[path] = mtime
        name = f"{self.module_prefix}.{path.stem}"
        try:
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot import {path.name}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # dataclasses and pickling look the module up by name
            spec.loader.exec_module(module)
            self._errors.pop(str(path), None)
        except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, never fatal
            sys.modules.pop(name, None)
            self._errors[str(path)] = f"{type(exc).__name__}: {exc}"
            logger.warning("%s plugin %s failed to load: %s", self.what, path, exc)

    def _load_entry_point(self, ep: EntryPoint) -> None:
        source = f"entry point {ep.name} ({ep.value})"
        try:
            loaded = ep.load()
            if self._register_entry is not None:
                self._register_entry(loaded)
            self._errors.pop(source, None)
        except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, never fatal
            self._errors[source] = f"{type(exc).__name__}: {exc}"
            logger.warning("%s %s failed to load: %s", self.what, source, exc)
