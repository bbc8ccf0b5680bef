"""The one settings object.

Sources, highest priority first:
1. keyword arguments (tests),
2. environment variables with prefix ``PROMPTFORGE_`` (nested with ``__``, e.g.
   ``PROMPTFORGE_PII__DEFAULT_ACTION=mask``),
3. ``.streamlit/secrets.toml`` (git-ignored; keys as in ``.streamlit/secrets.toml.example``),
4. an optional TOML file named by ``PROMPTFORGE_CONFIG_FILE`` (default ``promptforge.toml``),
5. the defaults below.

Secrets are ``SecretStr``: they print as ``**********`` and are never logged.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent

PIIAction = Literal["tag", "mask", "pseudonym"]
InjectionAction = Literal["allow", "flag", "block"]


class PIIPolicy(BaseModel):
    """How detected PII is replaced, per entity type."""

    default_action: PIIAction = "pseudonym"
    # e.g. {"CREDIT_CARD": "mask", "PERSON": "pseudonym"}
    actions: dict[str, PIIAction] = Field(default_factory=dict)
    # minimum detector confidence to scrub; per-entity overrides in ``thresholds``
    score_threshold: float = 0.4
    thresholds: dict[str, float] = Field(default_factory=dict)
    # entity types to scrub; empty means every type the recognizers know, but those below
    entities: list[str] = Field(default_factory=list)
    # types that are rarely personal data on their own in a prompt (a weekday, a deadline, a
    # language or nationality, a city or country): not scrubbed unless named in ``entities``.
    # A date of birth and a street address are their own recognizers' jobs (DATE_OF_BIRTH,
    # STREET_ADDRESS); a place the model labels that is shaped like a person's name ("Ana
    # Lima") is read as a name.
    not_personal_alone: list[str] = Field(default_factory=lambda: ["DATE_TIME", "NRP", "LOCATION"])
    # the small spaCy model labels many person names as organisations or places; read
    # name-shaped ORG spans ("Tomomi Nishiyama") and place spans starting with a census given
    # name ("Ana Lima") as names (fewer names leak, some product names go)
    names_from_organisations: bool = True
    # domain vocabulary that is never scrubbed (case-insensitive exact terms)
    allow_list: list[str] = Field(default_factory=list)
    # also never scrub prompt vocabulary spaCy mislabels ("Summarise", "Translate", "Dear")
    builtin_allow_list: bool = True
    mask_char: str = "*"

    def action_for(self, entity_type: str) -> PIIAction:
        return self.actions.get(entity_type, self.default_action)

    def threshold_for(self, entity_type: str) -> float:
        return self.thresholds.get(entity_type, self.score_threshold)


class InjectionPolicy(BaseModel):
    """What a screening score leads to."""

    flag_threshold: float = 0.5
    block_threshold: float = 0.85
    # the action taken when the score reaches block_threshold; "flag" keeps a
    # human in charge (the run proceeds, marked), "block" stops it
    on_block_threshold: InjectionAction = "block"
    screen_variables: bool = True
    # semantic screening with the bundled embedding models and the project's own example
    # libraries: a window of text whose mean classifier margin reaches semantic_threshold is
    # flagged, and weighs as much as a strong rule near semantic_strong. The default is the
    # margin 1% of the ordinary teaching examples reach out of fold (bench/calibration.py)
    semantic: bool = True
    semantic_threshold: float = 0.64
    semantic_strong: float = 1.5
    # the embedding models of the direct screen, each with its own classifier, their margins
    # averaged: multilingual-e5-small reads the languages customers write in one vector space;
    # all-MiniLM-L6-v2 (English) is about four times faster. One model alone also works.
    semantic_models: list[Literal["multilingual-e5-small", "all-MiniLM-L6-v2"]] = Field(
        default_factory=lambda: ["multilingual-e5-small", "all-MiniLM-L6-v2"], min_length=1
    )
    # variables whose values are untrusted content (a pasted e-mail, a web page, a retrieved
    # document): besides the rules above they meet the indirect-injection screen, which
    # flags sentences that read as requests to the assistant. Names or shell patterns; a
    # run can also name its untrusted variables itself.
    untrusted_variables: list[str] = Field(
        default_factory=lambda: [
            "email*", "e_mail*", "mail*", "document*", "doc", "docs", "context*", "page*", "web*",
            "html*", "attachment*", "ticket*", "review*", "retrieved*", "untrusted*", "pasted*",
        ]
    )
    indirect_threshold: float = 0.4
    # a folder with a team's own attacks.jsonl / assistant_requests.jsonl / document_text.jsonl,
    # read after the built-in libraries (security/injection/library)
    library_dir: Path | None = None

    def is_untrusted(self, variable: str) -> bool:
        """Whether ``variable`` holds untrusted content by the policy's names and patterns."""
        name = variable.casefold()
        return any(fnmatch.fnmatchcase(name, pattern.casefold()) for pattern in self.untrusted_variables)
    # output side: secret markers that must never appear in an answer, and what an answer
    # that repeats the system prompt or holds a canary leads to ("block" withholds it)
    canaries: list[str] = Field(default_factory=list)
    on_output_leak: InjectionAction = "block"


class AuthPolicy(BaseModel):
    """Accounts, sessions and single sign-on."""

    # a session ends after this long without activity, and after max_session_hours in any case
    idle_timeout_minutes: int = 30
    max_session_hours: int = 12
    # failed logins in a row that lock an account, and for how long
    lockout_attempts: int = 5
    lockout_minutes: int = 15
    min_password_length: int = 12
    # single sign-on (Streamlit's OpenID Connect login, configured under [auth] in
    # .streamlit/secrets.toml): the claim holding the user's groups, and group -> roles
    sso_groups_claim: str = "groups"
    sso_group_roles: dict[str, list[str]] = Field(default_factory=dict)


class _SecretsTomlSource(PydanticBaseSettingsSource):
    """Reads ``.streamlit/secrets.toml``: flat keys or a ``[promptforge]`` table."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self._data: dict[str, Any] = {}
        if path.is_file():
            with path.open("rb") as fh:
                raw = tomllib.load(fh)
            table = raw.get("promptforge", raw)
            fields = settings_cls.model_fields
            self._data = {k.lower(): v for k, v in table.items() if k.lower() in fields}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PROMPTFORGE_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    # storage
    data_dir: Path = PROJECT_ROOT / "data"
    database_url: str = ""  # default: sqlite file under data_dir (see resolved_database_url)
    sqlite_busy_timeout_ms: int = 10_000

    # providers
    default_provider: str = "offline"
    fallback_providers: list[str] = Field(default_factory=list)
    provider_timeout_s: float = 60.0
    provider_max_retries: int = 3
    provider_backoff_s: float = 1.0
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    compatible_api_key: SecretStr | None = None  # OpenAI-compatible servers rarely need one
    # the model offered first in the app when a provider's key is configured
    openai_default_model: str = "gpt-4o-mini"
    anthropic_default_model: str = "claude-3-5-haiku-latest"
    # USD per 1M tokens, "model": [input, output]; extends the built-in price table
    prices: dict[str, tuple[float, float]] = Field(default_factory=dict)
    # context windows in tokens, "model": tokens (or a full spec string); extends the built-in
    # table (execution/providers/context_windows.py) that the prompt lint's window check reads
    context_windows: dict[str, int] = Field(default_factory=dict)

    # governance
    pii: PIIPolicy = Field(default_factory=PIIPolicy)
    injection: InjectionPolicy = Field(default_factory=InjectionPolicy)
    system_prompt: str = (
        "You are a careful assistant for a bank. Placeholders such as <PERSON_1> stand for "
        "redacted personal data: keep them as they are."
    )

    # templates and inputs
    max_template_chars: int = 50_000
    max_variable_chars: int = 200_000
    max_rendered_chars: int = 200_000
    max_render_seconds: float = 2.0

    # batches
    batch_concurrency: int = 4
    # rows an uploaded dataset may hold (its size is capped at 50 MB by execution.datasets)
    max_dataset_rows: int = 10_000
    # processes that share PII analysis of large batches; None: one per CPU beyond the first, 0: none
    pii_workers: int | None = None

    # optional model files
    spacy_model_path: Path | None = None
    embeddings_model_path: Path | None = None
    # Detoxify (the "toxicity" metric; see evaluation/toxicity.py). Its weights are not bundled:
    # point these at local files. One checkpoint file and the folder holding its base model's
    # config.json and tokenizer files, for the variant named by detoxify_checkpoint_variant...
    detoxify_checkpoint: Path | None = None
    detoxify_config_dir: Path | None = None
    detoxify_checkpoint_variant: Literal["original", "unbiased", "multilingual"] = "original"
    # ...and/or per variant ("original", "unbiased", "multilingual"), which win over the pair above,
    # e.g. PROMPTFORGE_DETOXIFY_CHECKPOINTS__UNBIASED=/models/toxic_debiased-c7548aa0.ckpt
    detoxify_checkpoints: dict[str, Path] = Field(default_factory=dict)
    detoxify_config_dirs: dict[str, Path] = Field(default_factory=dict)
    # let Detoxify download the weights of a variant with no local checkpoint (needs internet
    # and HF_HUB_OFFLINE=0); off: such a variant is reported unavailable, never guessed
    allow_model_downloads: bool = False

    # evaluation
    # a folder of Python files that register extra metrics (see evaluation/plugins.py)
    metric_plugins_dir: Path | None = PROJECT_ROOT / "plugins" / "metrics"
    # a folder of Python files that register extra prompt lint rules (see prompts/lint/registry.py)
    lint_plugins_dir: Path | None = PROJECT_ROOT / "plugins" / "lint"

    # observability
    otlp_endpoint: str | None = None
    log_level: str = "INFO"

    # the actor recorded for CLI runs; default: the operating-system user
    actor: str | None = None
    # on PostgreSQL, command-line subcommands act as this PromptForge account
    cli_account: str | None = None
    # an API token: command-line subcommands act as its account, within its scope (either backend)
    token: SecretStr | None = None

    # identity and the audit trail
    auth: AuthPolicy = Field(default_factory=AuthPolicy)
    # a local session without login (--single-user); every audit event says so
    single_user: bool = False
    # HMAC key for audit hashes, kept outside the database: the key itself, or a file holding it
    audit_hmac_key: SecretStr | None = None
    audit_hmac_key_file: Path | None = None

    # compliance exports (reports.export): where the app writes them (default: data_dir/exports);
    # the HMAC key that signs their manifests, kept outside the database (unset: a key derived
    # from the audit HMAC key; neither: manifests are not signed); how deep the PII check of
    # run text goes ("patterns": every recognizer but spaCy's NER; "full": the NER as well)
    export_dir: Path | None = None
    export_hmac_key: SecretStr | None = None
    export_hmac_key_file: Path | None = None
    export_pii_scan: Literal["patterns", "full"] = "patterns"

    # public labelled data for benchmarks (never copied into the project)
    eval_data_dir: Path = PROJECT_ROOT.parent / "shared" / "eval-data"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        secrets = Path(os.environ.get("PROMPTFORGE_SECRETS_FILE", PROJECT_ROOT / ".streamlit" / "secrets.toml"))
        config_file = Path(os.environ.get("PROMPTFORGE_CONFIG_FILE", PROJECT_ROOT / "promptforge.toml"))
        return (
            init_settings,
            env_settings,
            _SecretsTomlSource(settings_cls, secrets),
            TomlConfigSettingsSource(settings_cls, toml_file=config_file),
        )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'promptforge.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def display_database_url(self) -> str:
        """The URL with any password hidden, for the UI and logs."""
        from sqlalchemy.engine import make_url

        return make_url(self.resolved_database_url).render_as_string(hide_password=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings(...)`` instead)."""
    return Settings()
