"""Who a command-line subcommand acts as."""

from __future__ import annotations

from config.errors import ConfigError
from config.settings import Settings
from security.identity.principal import Principal


def cli_principal(settings: Settings) -> Principal:
    """With an API token (``PROMPTFORGE_TOKEN``), on either backend: its account, within the
    token's scope (``token:NAME/ID``). Otherwise, on SQLite: the operating-system user, with
    every role (whoever can run the command can read the database file anyway), recorded as
    ``os:USER``; on PostgreSQL: the PromptForge account named by ``cli_account``, with that
    account's roles (``cli:NAME``)."""
    if settings.token is not None:
        from security.identity.tokens import token_service

        return token_service(settings).authenticate(settings.token.get_secret_value())
    if settings.is_sqlite:
        return Principal.local("os", settings.actor)
    if not settings.cli_account:
        raise ConfigError(
            "On PostgreSQL the command line acts as a named PromptForge account, and none is set.",
            "Set PROMPTFORGE_TOKEN to an API token, or PROMPTFORGE_CLI_ACCOUNT to your user name "
            "(an administrator creates both: Admin page, or 'launch.py users' and 'launch.py tokens').",
        )
    from security.identity.bootstrap import account_service

    return account_service(settings).principal_for(settings.cli_account, kind="cli")
