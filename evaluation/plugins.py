"""Finding user metrics: Python files in a folder, and package entry points.

- Folder: every ``*.py`` file in ``settings.metric_plugins_dir`` (files starting
  with ``_`` are skipped) is imported; its ``@register_metric`` classes and
  ``@metric_function`` functions register themselves. A file added or changed
  later is picked up on the next look, so a new metric appears in the UI with
  no code change and no restart.
- Entry points: group ``promptforge.metrics``; an entry point may name a module
  (imported, it registers) or a ``Metric`` subclass (registered).

A plugin that fails to import does not take the app down: its error is kept and
shown (``plugin_errors``), and the other metrics stay usable. The loading itself is
``config.plugins.PluginFolder``, shared with the lint rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from config.plugins import PluginFolder

if TYPE_CHECKING:
    from config.settings import Settings

ENTRY_POINT_GROUP = "promptforge.metrics"
_MODULE_PREFIX = "promptforge_metric_plugins"


def _register_entry(loaded: object) -> None:
    from evaluation.registry import Metric, register_metric

    if isinstance(loaded, type) and issubclass(loaded, Metric):
        register_metric(loaded)


_PLUGINS = PluginFolder(
    ENTRY_POINT_GROUP, "metric_plugins_dir", _MODULE_PREFIX, register_entry=_register_entry, what="metric"
)


def load_plugins(settings: Settings | None = None) -> None:
    """Import new or changed plugin files and, once per process, the entry points."""
    _PLUGINS.load(settings)


def plugin_errors() -> dict[str, str]:
    """Plugins that failed to load: source (file or entry point) -> what went wrong."""
    return _PLUGINS.errors()


def reset_for_tests() -> None:
    """Forget which plugin files were imported (the registry keeps their metrics)."""
    _PLUGINS.reset()
