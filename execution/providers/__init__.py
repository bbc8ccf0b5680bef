"""Chat model providers: spec strings, a registry of LangChain chat models, and ``ChatProvider``.

    from execution.providers import ChatProvider
    result = ChatProvider("openai:gpt-4o-mini", settings).invoke("Summarise ...", system="...")

Specs: ``offline`` (default), ``openai:<model>``, ``anthropic:<model>``,
``compat:<model>@<base_url>``; plugins add kinds with :func:`register_provider`.
"""

from execution.providers.chat import ChatProvider
from execution.providers.health import provider_health
from execution.providers.offline import OfflineChatModel
from execution.providers.registry import register_provider, registered_kinds
from execution.providers.remote import anthropic_model, compat_model, openai_model
from execution.providers.result import ChatResult
from execution.providers.spec import ProviderSpec, parse_spec
from execution.providers.tokens import count_tokens

register_provider(
    "offline", lambda spec, settings: OfflineChatModel(model_name=spec.model), model_required=False
)
register_provider("openai", openai_model, example="openai:gpt-4o-mini")
register_provider("anthropic", anthropic_model, example="anthropic:claude-haiku-4-5")
register_provider(
    "compat", compat_model, base_url_required=True, example="compat:llama3.1:8b@http://localhost:11434/v1"
)

__all__ = [
    "ChatProvider",
    "ChatResult",
    "OfflineChatModel",
    "ProviderSpec",
    "count_tokens",
    "parse_spec",
    "provider_health",
    "register_provider",
    "registered_kinds",
]
