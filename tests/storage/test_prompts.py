"""The prompt registry on TruLens's prompt tables (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from config.errors import InputError, NotFoundError, TemplateError
from storage.prompts import PromptStore


@pytest.fixture
def prompts(store):
    return PromptStore(store)


def test_create_version_label_and_resolve(prompts, store, unique):
    slug = f"loan-summary-{unique}"
    v1 = prompts.create(slug, "Summarise the loan of {{ customer }}.", description="Loan summary")
    assert (v1.version, v1.label, v1.variables, v1.description) == (1, "latest", ["customer"], "Loan summary")

    v2 = prompts.add_version(slug, "Summarise {{customer}}'s loan of {{amount}}.", message="add amount")
    assert (v2.version, v2.variables, v2.change_note) == (2, ["customer", "amount"], "add amount")
    assert prompts.add_version(slug, v1.template).version == 1  # same content: same version

    prompts.set_label(slug, 2, "production")
    prompts.set_label(slug, "v1", "staging")
    assert prompts.resolve(f"{slug}@production").template == v2.template
    assert prompts.resolve(f"{slug}@production").label == "production"
    assert prompts.resolve(f"{slug}@staging").version == 1
    assert prompts.resolve(f"{slug}@v2").version == 2
    assert prompts.resolve(f"{slug}@1").template == v1.template
    assert prompts.resolve(slug).version == 1  # `latest` moved back to v1 by the re-add

    # the native TruLens registry holds the same data
    history = store.session.get_prompt_label_history(slug, label="production")
    assert len(history) == 1
    (summary,) = [p for p in prompts.list_prompts() if p.slug == slug]
    assert summary.versions == 2 and summary.labels == {"latest": 1, "production": 2, "staging": 1}


def test_unknown_references_list_what_exists(prompts, unique):
    slug = f"known-{unique}"
    prompts.create(slug, "Hello {{ name }}")
    prompts.set_label(slug, 1, "production")
    with pytest.raises(NotFoundError, match=slug):  # lists the available prompts
        prompts.resolve(f"missing-{unique}")
    with pytest.raises(NotFoundError, match="latest, production"):
        prompts.resolve(f"{slug}@nope")
    with pytest.raises(NotFoundError, match="v1..v1"):
        prompts.resolve(f"{slug}@v7")
    with pytest.raises(NotFoundError):
        prompts.add_version(f"missing-{unique}", "x")


def test_invalid_input_is_refused(prompts, unique):
    slug = f"dup-{unique}"
    prompts.create(slug, "Hi {{ name }}")
    with pytest.raises(InputError, match="already exists"):
        prompts.create(slug, "Hi again")
    with pytest.raises(InputError):
        prompts.create("Bad Slug!", "x")
    with pytest.raises(InputError):
        prompts.set_label(slug, 1, "v2")
    with pytest.raises(TemplateError, match="Statement tags"):
        prompts.add_version(slug, "{% if x %}yes{% endif %}")
