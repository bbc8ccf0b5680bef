"""Settings and the user-facing error family: the only module every package may import."""

from config.errors import PromptForgeError
from config.settings import Settings, get_settings

__all__ = ["PromptForgeError", "Settings", "get_settings"]
