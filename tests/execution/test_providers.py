"""Providers: spec parsing, the offline model, and the real LangChain/SDK clients
against the local fake server (retries, timeouts, fallbacks, usage, cost)."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest

from config.errors import MissingCredentialsError, ProviderError
from config.settings import Settings
from execution.providers import (
    ChatProvider,
    OfflineChatModel,
    ProviderSpec,
    count_tokens,
    parse_spec,
    provider_health,
    register_provider,
    registered_kinds,
    registry,
)
from execution.providers.pricing import price_for
from execution.providers.retry import call_with_retries
from tests.fakes.llm_server import FakeLLMServer, RecordedRequest

OPENAI_KEY = "sk-test-openai-0123456789"
ANTHROPIC_KEY = "sk-ant-test-0123456789"


@pytest.fixture
def remote_settings(make_settings, llm_server):
    """Keys for OpenAI and Anthropic, both pointed at the fake server."""

    def make(**overrides) -> Settings:
        wired = {
            "openai_api_key": OPENAI_KEY,
            "openai_base_url": llm_server.openai_base_url,
            "anthropic_api_key": ANTHROPIC_KEY,
            "anthropic_base_url": llm_server.base_url,
        }
        return make_settings(**{**wired, **overrides})

    return make


def sent_key(request: RecordedRequest) -> str | None:
    """The API key a request carried (Bearer token or Anthropic's x-api-key)."""
    auth = request.headers.get("authorization", "")
    return auth.removeprefix("Bearer ") if auth else request.headers.get("x-api-key")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- spec parsing --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("offline", ProviderSpec("offline", "offline")),
        (" openai:gpt-4o-mini ", ProviderSpec("openai", "gpt-4o-mini")),
        ("anthropic:claude-haiku-4-5", ProviderSpec("anthropic", "claude-haiku-4-5")),
        (
            "compat:llama3.1:8b@http://localhost:11434/v1",
            ProviderSpec("compat", "llama3.1:8b", "http://localhost:11434/v1"),
        ),
        ("compat:m@http://u:p@host/v1", ProviderSpec("compat", "m", "http://u:p@host/v1")),
        (
            "openai:gpt-4o@https://proxy.bank.local/v1",
            ProviderSpec("openai", "gpt-4o", "https://proxy.bank.local/v1"),
        ),
    ],
)
def test_parse_valid_specs(text, expected):
    spec = parse_spec(text)
    assert spec == expected
    assert parse_spec(str(spec)) == spec  # round trip


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "No provider spec"),
        ("gemini:pro", "Unknown provider kind 'gemini'"),
        ("openai", "expected openai:<model>"),
        ("openai:", "expected openai:<model>"),
        ("compat:llama3", "expected compat:<model>@<base_url>"),
        ("compat:llama3@", "expected compat:<model>@<base_url>"),
        ("compat:llama3@localhost:11434", "not an http(s) URL"),
    ],
)
def test_parse_invalid_specs(text, fragment):
    with pytest.raises(ProviderError) as err:
        parse_spec(text)
    assert fragment in str(err.value)


def test_unknown_kind_lists_every_valid_form():
    with pytest.raises(ProviderError) as err:
        parse_spec("bard:x")
    message = str(err.value)
    for form in ("offline", "openai:<model>", "anthropic:<model>", "compat:<model>@<base_url>"):
        assert form in message


def test_plugin_registers_like_a_builtin(make_settings, monkeypatch):
    monkeypatch.setattr(registry, "_KINDS", dict(registry._KINDS))  # undo after the test
    seen = []

    def factory(spec, settings):
        seen.append(spec)
        return OfflineChatModel(model_name=spec.model)

    register_provider("echo", factory, example="echo:any-name")
    assert registered_kinds()[:4] == ["offline", "openai", "anthropic", "compat"]
    assert "echo" in registered_kinds()
    result = ChatProvider("echo:parrot", make_settings()).invoke("Say hi.")
    assert seen == [ProviderSpec("echo", "parrot")]
    assert result.provider == "echo:parrot" and result.model == "parrot"
    with pytest.raises(ProviderError, match="echo:<model>"):
        parse_spec("nope:x")


# -- offline -------------------------------------------------------------------

PII_PROMPT = "Summarise the complaint of <PERSON_1>. Reply to <EMAIL_ADDRESS> within two days.\nBe polite."


def test_the_token_encoding_loads_with_the_provider_not_in_its_first_call(make_settings):
    """The first call's latency is recorded as the model's: it must not carry tiktoken's load."""
    from execution.providers import tokens

    tokens._encoding.cache_clear()
    provider = ChatProvider("offline", make_settings())
    assert tokens._encoding.cache_info().currsize == 1
    misses = tokens._encoding.cache_info().misses
    provider.invoke("How do I freeze my card?")
    assert tokens._encoding.cache_info().misses == misses  # nothing loaded during the call


def test_offline_is_deterministic_and_labelled(make_settings):
    provider = ChatProvider("offline", make_settings())
    first = provider.invoke(PII_PROMPT, system="You are careful.")
    again = provider.invoke(PII_PROMPT, system="You are careful.")
    other = provider.invoke("A different task.")
    assert first.text == again.text != other.text
    assert first.text.startswith("[offline simulation]")
    assert "Task: Summarise the complaint of <PERSON_1>." in first.text
    assert "Placeholders seen: <PERSON_1>, <EMAIL_ADDRESS>" in first.text
    assert f"{len(PII_PROMPT.split())} words" in first.text
    assert first.simulated and first.provider == "offline" and first.model == "offline"
    assert first.attempts == 1 and first.fallbacks_tried == []


def test_offline_usage_is_counted_with_tiktoken_and_free(make_settings):
    result = ChatProvider("offline", make_settings()).invoke(PII_PROMPT, system="You are careful.")
    assert result.usage_source == "tiktoken"
    assert result.input_tokens == count_tokens(PII_PROMPT) + count_tokens("You are careful.")
    assert result.output_tokens == count_tokens(result.text) > 0
    assert result.cost_usd == 0.0
    assert json.loads(json.dumps(result.to_dict()))["simulated"] is True


def test_offline_is_fast(make_settings):
    provider = ChatProvider("offline", make_settings())
    provider.invoke("warm up")
    started = time.perf_counter()
    for i in range(50):
        provider.invoke(f"Task number {i}. Details follow.")
    assert (time.perf_counter() - started) / 50 < 0.005


def test_count_tokens_uses_the_offline_encoding():
    assert count_tokens("") == 0
    assert count_tokens("hello world") == 2
    assert count_tokens("<|endoftext|>") > 1  # special tokens in user text are plain text


# -- OpenAI and Anthropic over HTTP --------------------------------------------


def test_openai_success_uses_provider_usage(remote_settings, llm_server):
    llm_server.enqueue(text="Paris.", usage={"input_tokens": 21, "output_tokens": 2})
    result = ChatProvider("openai:gpt-4o-mini", remote_settings()).invoke(
        "Capital of France?", system="Be terse."
    )
    assert result.text == "Paris."
    assert (result.input_tokens, result.output_tokens, result.usage_source) == (21, 2, "provider")
    assert result.cost_usd == pytest.approx((21 * 0.15 + 2 * 0.60) / 1e6)
    assert not result.simulated and result.attempts == 1 and result.latency_s > 0
    (request,) = llm_server.requests
    assert request.path == "/v1/chat/completions"
    assert sent_key(request) == OPENAI_KEY
    assert request.body["model"] == "gpt-4o-mini"
    assert request.body["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert OPENAI_KEY not in json.dumps(result.to_dict()) + repr(result)


def test_anthropic_success(remote_settings, llm_server):
    llm_server.enqueue(text="Bonjour.", usage={"input_tokens": 9, "output_tokens": 3})
    result = ChatProvider("anthropic:claude-haiku-4-5", remote_settings()).invoke(
        "Greet me.", system="French."
    )
    assert result.text == "Bonjour."
    assert (result.input_tokens, result.output_tokens, result.usage_source) == (9, 3, "provider")
    assert result.cost_usd == pytest.approx((9 * 1.0 + 3 * 5.0) / 1e6)
    (request,) = llm_server.requests
    assert request.path == "/v1/messages"
    assert sent_key(request) == ANTHROPIC_KEY
    assert request.body["system"] == "French."
    assert request.body["messages"] == [{"role": "user", "content": "Greet me."}]


@pytest.mark.parametrize("spec", ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"])
def test_rate_limit_then_success_counts_attempts(remote_settings, llm_server, spec):
    # backoff of 5 s would blow the test's time: Retry-After: 0 must win over it
    llm_server.enqueue(status=429, headers={"retry-after": "0"})
    llm_server.enqueue(text="ok")
    result = ChatProvider(spec, remote_settings(provider_backoff_s=5.0)).invoke("hi")
    assert result.latency_s < 2.0  # time spent calling, backoff included
    assert result.text == "ok" and result.attempts == 2 and result.fallbacks_tried == []
    assert len(llm_server.requests) == 2
    # the SDK's own retries are off: each request is a first try
    assert {r.headers.get("x-stainless-retry-count") for r in llm_server.requests} <= {"0", None}


def test_backoff_is_exponential_and_honours_retry_after():
    class Limited(Exception):
        status_code = 429

        def __init__(self, headers):
            super().__init__("429")
            self.response = type("Response", (), {"headers": headers})()

    errors = [Limited({}), Limited({}), Limited({"retry-after-ms": "250"}), Limited({})]
    waits: list[float] = []

    def call():
        if errors:
            raise errors.pop(0)
        return "done"

    value, attempts = call_with_retries(call, max_retries=5, backoff_s=0.1, label="t", sleep=waits.append)
    assert (value, attempts) == ("done", 5)
    assert waits == pytest.approx([0.1, 0.2, 0.25, 0.8])


def test_timeout_raises_provider_error(remote_settings, llm_server):
    llm_server.enqueue(delay_s=5)
    settings = remote_settings(provider_timeout_s=0.5, provider_max_retries=0)
    provider = ChatProvider("openai:gpt-4o-mini", settings)
    provider.model_for(provider.primary)  # build (and import) outside the timed part
    started = time.perf_counter()
    with pytest.raises(ProviderError) as err:
        provider.invoke("slow please")
    assert time.perf_counter() - started < 3.0
    assert "openai:gpt-4o-mini timed out after 0.5 s" in str(err.value)
    assert "provider_timeout_s" in str(err.value)


def test_server_errors_exhaust_retries_then_fall_back_to_offline(remote_settings, llm_server):
    for _ in range(3):
        llm_server.enqueue(status=500)
    result = ChatProvider(["openai:gpt-4o-mini", "offline"], remote_settings(provider_max_retries=2)).invoke(
        "hi"
    )
    assert result.provider == "offline" and result.simulated
    assert result.fallbacks_tried == ["openai:gpt-4o-mini"]
    assert result.attempts == 4  # 3 to the failing server, 1 offline
    assert len(llm_server.requests) == 3


def test_fallback_to_a_second_server_from_settings(make_settings, llm_server):
    with FakeLLMServer(default_text="from the backup") as backup:
        primary = f"compat:m1@{llm_server.openai_base_url}"
        secondary = f"compat:m2@{backup.openai_base_url}"
        llm_server.enqueue(status=503)
        llm_server.enqueue(status=502)
        settings = make_settings(provider_max_retries=1, fallback_providers=[secondary])
        result = ChatProvider(primary, settings).invoke("hi")
    assert result.text == "from the backup" and result.provider == secondary
    assert result.fallbacks_tried == [primary] and result.attempts == 3


def test_server_errors_without_fallback_raise(remote_settings, llm_server):
    for _ in range(2):
        llm_server.enqueue(status=500)
    with pytest.raises(ProviderError, match=r"server error \(HTTP 500, after 2 attempts\)"):
        ChatProvider("openai:gpt-4o-mini", remote_settings(provider_max_retries=1)).invoke("hi")


def test_every_provider_failing_names_each(remote_settings, llm_server):
    llm_server.enqueue(status=500)
    chain = ["openai:gpt-4o-mini", f"compat:m@http://127.0.0.1:{free_port()}/v1"]
    with pytest.raises(ProviderError) as err:
        ChatProvider(chain, remote_settings(provider_max_retries=0)).invoke("hi")
    assert "No provider answered" in str(err.value)
    assert "openai:gpt-4o-mini had a server error" in str(err.value)
    assert "is unreachable" in str(err.value)


@pytest.mark.parametrize(
    ("spec", "env_var", "secrets_line"),
    [
        ("openai:gpt-4o-mini", "PROMPTFORGE_OPENAI_API_KEY", 'openai_api_key = "..."'),
        ("anthropic:claude-haiku-4-5", "PROMPTFORGE_ANTHROPIC_API_KEY", 'anthropic_api_key = "..."'),
    ],
)
def test_missing_key_says_how_to_set_it(make_settings, monkeypatch, spec, env_var, secrets_line):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-sdk-env")  # only our settings count
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-the-sdk-env")
    with pytest.raises(MissingCredentialsError) as err:
        ChatProvider([spec, "offline"], make_settings()).invoke("hi")
    message = str(err.value)
    assert spec in message and env_var in message
    assert secrets_line in message and ".streamlit/secrets.toml" in message


def test_rejected_key_is_not_retried_nor_fallen_back_and_not_leaked(remote_settings, llm_server):
    llm_server.enqueue(status=401)
    with pytest.raises(ProviderError) as err:
        ChatProvider(["openai:gpt-4o-mini", "offline"], remote_settings()).invoke("hi")
    assert "rejected the API key (HTTP 401)" in str(err.value)
    assert "PROMPTFORGE_OPENAI_API_KEY" in str(err.value)
    assert OPENAI_KEY not in str(err.value)
    assert err.value.__cause__ is None  # the SDK's message may quote part of the key
    assert len(llm_server.requests) == 1


def test_bad_request_is_not_retried(remote_settings, llm_server):
    llm_server.enqueue(status=400)
    with pytest.raises(ProviderError, match=r"rejected the request \(HTTP 400\)"):
        ChatProvider("anthropic:claude-haiku-4-5", remote_settings()).invoke("hi")
    assert len(llm_server.requests) == 1


def test_passwords_in_urls_stay_out_of_messages_and_results(make_settings, llm_server):
    host = llm_server.openai_base_url.removeprefix("http://")
    result = ChatProvider(f"compat:m@http://user:s3cret@{host}", make_settings()).invoke("x")
    assert result.provider == f"compat:m@http://user:***@{host}"
    dead = f"compat:m@http://user:s3cret@127.0.0.1:{free_port()}/v1"
    with pytest.raises(ProviderError) as err:
        ChatProvider(dead, make_settings(provider_max_retries=0)).invoke("x")
    assert "s3cret" not in str(err.value) and "user:***@" in str(err.value)
    with pytest.raises(ProviderError) as err:
        parse_spec("compat:m@ftp://user:s3cret@host")
    assert "s3cret" not in str(err.value)


def test_unreachable_server_raises_provider_error(make_settings):
    spec = f"compat:llama3.1:8b@http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ProviderError) as err:
        ChatProvider(spec, make_settings(provider_max_retries=1)).invoke("hi")
    assert f"Provider {spec} is unreachable (after 2 attempts)" in str(err.value)
    assert "Check the base URL" in str(err.value)


# -- OpenAI-compatible servers, usage and prices -------------------------------


def test_compat_spec_talks_to_the_server_and_has_no_invented_price(make_settings, llm_server):
    spec = f"compat:llama3.1:8b@{llm_server.openai_base_url}"
    result = ChatProvider(spec, make_settings()).invoke("Hello there")
    (request,) = llm_server.requests
    assert request.body["model"] == "llama3.1:8b" and sent_key(request) == "not-needed"
    assert result.provider == spec and result.model == "llama3.1:8b"
    assert result.cost_usd is None  # unknown price: say so


def test_compat_uses_the_configured_key(make_settings, llm_server):
    ChatProvider(
        f"compat:m@{llm_server.openai_base_url}", make_settings(compatible_api_key="vllm-key")
    ).invoke("x")
    assert sent_key(llm_server.requests[0]) == "vllm-key"


@pytest.mark.parametrize("spec", ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"])
def test_tiktoken_counts_when_the_response_has_no_usage(remote_settings, llm_server, spec):
    llm_server.enqueue(text="An answer of several tokens.", usage=None)
    result = ChatProvider(spec, remote_settings()).invoke("Count me.", system="System words.")
    assert result.usage_source == "tiktoken"
    assert result.input_tokens == count_tokens("Count me.") + count_tokens("System words.")
    assert result.output_tokens == count_tokens("An answer of several tokens.")


def test_prices_from_settings_override_and_extend(make_settings, remote_settings, llm_server):
    llm_server.enqueue(usage={"input_tokens": 1000, "output_tokens": 500})
    settings = remote_settings(prices={"gpt-4o-mini": (1.0, 2.0)})
    assert ChatProvider("openai:gpt-4o-mini", settings).invoke("x").cost_usd == pytest.approx(0.002)

    llm_server.enqueue(usage={"input_tokens": 2_000_000, "output_tokens": 0})
    spec = f"compat:llama3.1:8b@{llm_server.openai_base_url}"
    settings = make_settings(prices={"llama3.1:8b": (0.05, 0.05)})
    assert ChatProvider(spec, settings).invoke("x").cost_usd == pytest.approx(0.10)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (("openai:gpt-4o-mini", "gpt-4o-mini"), (0.15, 0.60)),
        (("x", "gpt-4o-mini-2024-07-18"), (0.15, 0.60)),  # dated snapshot: family price
        (("x", "claude-3-5-haiku-latest"), (0.80, 4.00)),
        (("x", "gpt-4o-audio-preview"), None),  # never guessed from a prefix
        (("compat:m@http://h/v1", "m"), None),
    ],
)
def test_price_lookup(names, expected):
    assert price_for(*names) == expected


# -- health, async, result -----------------------------------------------------


def test_health_reports_configuration_without_network(make_settings, llm_server):
    compat = f"compat:m@{llm_server.openai_base_url}"
    bare = {row["spec"]: row for row in provider_health(make_settings())}
    assert bare["offline"]["available"] is True
    assert bare["openai"]["available"] is False and "PROMPTFORGE_OPENAI_API_KEY" in bare["openai"]["reason"]
    assert bare["anthropic"]["available"] is False

    rows = provider_health(make_settings(openai_api_key=OPENAI_KEY, fallback_providers=[compat, "bogus:x"]))
    keyed = {row["spec"]: row for row in rows}
    assert keyed["openai"]["available"] is True and OPENAI_KEY not in json.dumps(rows)
    assert keyed[compat]["available"] is True
    assert llm_server.requests == []  # nothing was contacted


def test_ainvoke_matches_invoke(make_settings):
    provider = ChatProvider("offline", make_settings())
    assert asyncio.run(provider.ainvoke("Same task.")).text == provider.invoke("Same task.").text


def test_default_chain_comes_from_settings(make_settings):
    provider = ChatProvider(None, make_settings(default_provider="offline", fallback_providers=["offline"]))
    assert [str(s) for s in provider.chain] == ["offline"]
    with pytest.raises(ProviderError, match="Unknown provider kind"):
        ChatProvider("offline", make_settings(fallback_providers=["nonsense:x"]))
