"""Prompts as YAML files: pull writes them, push imports them without ever rewriting history."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from config.errors import InputError, NotFoundError
from config.settings import Settings
from evaluation import MetricSet
from execution.metric_sets import MetricSets
from prompts.label_moves import LabelMoves
from prompts.registry import PromptRegistry
from prompts.spec import Message, ModelDefaults, PromptSpec, VariableSpec
from prompts.yaml_sync import Pusher, dump_yaml, file_name, load_yaml, pull, read_file
from security.identity import Principal, Role
from storage.audit import audit_log
from storage.trulens_store import open_store

AUTHOR = Principal("ann", frozenset({Role.ANALYST}))
APPROVER = Principal("pat", frozenset({Role.APPROVER}))
IMPORTER = Principal.local("os", "importer")  # every role: the command line on SQLite
ANALYST_ONLY = Principal("ian", frozenset({Role.ANALYST}))

VARS = (VariableSpec("customer", "short_text", "who wrote"), VariableSpec("issue", "long_text"))


@pytest.fixture
def databases(tmp_path):
    """``open_db(name) -> (settings, store)``; opening one closes the previous one
    (TruLens allows one session per process)."""
    opened = []

    def open_db(name: str):
        for store in opened:
            store.close()
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        settings = Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'pf.db'}")
        store = open_store(settings)
        opened.append(store)
        return settings, store

    yield open_db
    for store in opened:
        store.close()


def _services(settings, store, principal=IMPORTER):
    audit = audit_log(settings)
    registry = PromptRegistry(store, principal, audit, settings=settings)
    return registry, MetricSets(store, principal, audit), audit


def _pusher(settings, store, principal=IMPORTER) -> Pusher:
    registry, metric_sets, _ = _services(settings, store, principal)
    return Pusher(registry, metric_sets)


def seed(settings, store) -> None:
    """A fragment (2 versions), a template prompt (3 versions; v2 pins the fragment's v1, v3 its
    v2), a chat prompt, labels staging + production (through an approved request), metric sets."""
    audit = audit_log(settings)
    ann = PromptRegistry(store, AUTHOR, audit, settings=settings)
    ann.create_prompt("fragment:tone", PromptSpec(template="Be kind."), description="house tone")
    ann.create_prompt(
        "card-dispute", PromptSpec(template="Reply to {{ customer }} about {{ issue }}.", variables=VARS),
        description="Card disputes", tags=["Cards", "support"],
    )
    ann.save(
        "card-dispute",
        PromptSpec(
            template='{% include "fragment:tone" %}\nReply to {{ customer }} about {{ issue }}.\n',
            variables=VARS, defaults=ModelDefaults("offline", 0.2),
        ),
        "add the house tone", base_version=1,
    )
    ann.save("fragment:tone", PromptSpec(template="Be very kind."), "kinder", base_version=1)
    ann.save(
        "card-dispute",
        PromptSpec(
            template='{% include "fragment:tone" %}\n  Reply politely to {{ customer }}:\n\t{{ issue }}  \n',
            variables=VARS, defaults=ModelDefaults("offline", 0.2, 300),
            response_format={"type": "object", "properties": {"reply": {"type": "string"}}},
        ),
        "politely, as JSON", base_version=2,
    )
    ann.create_prompt(
        "support-chat",
        PromptSpec(messages=(Message("system", "You help with cards. Ünïcödé — ok: yes # no"),
                             Message("user", "{{ question }}")),
                   variables=(VariableSpec("question", "untrusted"),)),
        description="chat: multi-line\ndescription",
    )
    ann.set_label("card-dispute", 3, "staging")
    request = LabelMoves(ann, audit).request("card-dispute", 2, "passes the golden set")
    LabelMoves(PromptRegistry(store, APPROVER, audit, settings=settings), audit).approve(request.id)
    metric_sets = MetricSets(store, AUTHOR, audit)
    metric_sets.save("card-dispute", 0, MetricSet.from_list([{"metric": "total_tokens", "max_mean": 500}]))
    metric_sets.save("card-dispute", 3, MetricSet.from_list([{"metric": "latency_s", "flag_above": 2}]))


def snapshot(settings, store) -> dict:
    """Everything a push must reproduce: versions (number, digest, note, spec), labels, metric sets."""
    registry, metric_sets, _ = _services(settings, store)
    out = {}
    for summary in registry.list_prompts(fragments=None):
        description, tags, _ = registry.details(summary.slug)
        out[summary.slug] = {
            "description": description,
            "tags": sorted(tags),
            "versions": [(v.version, v.digest, v.change_note, v.spec) for v in registry.versions(summary.slug)],
            "labels": registry.labels(summary.slug),
            "metric_sets": {s.version: s.metrics for s in metric_sets.table.for_prompt(summary.slug)},
        }
    return out


def _without_provenance(folder: Path) -> dict:
    """The pulled files, minus who created each version and when (a push records the importer)."""
    out = {}
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for v in data["versions"]:
            v.pop("author"), v.pop("created")
        out[path.name] = data
    return out


def test_round_trip_into_an_empty_database_keeps_versions_digests_labels_and_metric_sets(databases, tmp_path):
    settings, store = databases("source")
    seed(settings, store)
    before = snapshot(settings, store)
    registry, metric_sets, _ = _services(settings, store)
    pulled = pull(registry, metric_sets, None, tmp_path / "files")
    assert sorted(p.path.name for p in pulled) == ["card-dispute.yaml", "fragment-tone.yaml", "support-chat.yaml"]
    assert {p.slug: p.versions for p in pulled} == {"card-dispute": 3, "fragment:tone": 2, "support-chat": 1}

    settings2, store2 = databases("target")  # an empty database
    result = _pusher(settings2, store2).push([tmp_path / "files"])
    assert result.ok, [f.error for f in result.files]
    assert [f.slug for f in result.files][0] == "fragment:tone"  # fragments first, whatever the file order
    assert all(not f.refused for f in result.files)
    after = snapshot(settings2, store2)
    assert after == before  # numbers, digests (fragment pins included), notes, labels, metric sets

    registry2, metric_sets2, audit2 = _services(settings2, store2)
    assert registry2.resolve("card-dispute@production").version == 2
    assert registry2.get("card-dispute", 2).spec["fragments"] == {"fragment:tone": 1}  # pinned, not re-resolved
    created = [e for e in audit2.list(limit=100) if e.action == "prompt_version_created"]
    assert len(created) == 6 and {e.actor for e in created} == {"os:importer"}
    [production] = [e for e in audit2.list(limit=100) if e.action == "label_moved" and e.details["label"] == "production"]
    assert production.details["via"] == "prompts push"

    again = _pusher(settings2, store2).push([tmp_path / "files"])  # idempotent
    assert again.ok and not any(f.changed for f in again.files)
    assert sum(f.skipped for f in again.files) == 6
    assert snapshot(settings2, store2) == before
    assert len([e for e in audit2.list(limit=200) if e.action == "prompt_version_created"]) == 6

    pull(registry2, metric_sets2, None, tmp_path / "files2")
    assert _without_provenance(tmp_path / "files2") == _without_provenance(tmp_path / "files")


def test_pull_is_deterministic_and_readable(sqlite_store, tmp_settings, tmp_path):
    seed(tmp_settings, sqlite_store)
    registry, metric_sets, _ = _services(tmp_settings, sqlite_store)
    first = pull(registry, metric_sets, ["card-dispute", "fragment:tone"], tmp_path)
    assert all(p.changed for p in first)
    texts = {p.path: p.path.read_text(encoding="utf-8") for p in first}
    second = pull(registry, metric_sets, ["card-dispute", "fragment:tone"], tmp_path)
    assert not any(p.changed for p in second)
    assert {p.path: p.path.read_text(encoding="utf-8") for p in second} == texts

    text = (tmp_path / "card-dispute.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert text.startswith("schema: 1\nslug: card-dispute\nkind: template\n")
    assert data["labels"] == {"latest": 3, "production": 2, "staging": 3}
    assert data["tags"] == ["cards", "support"]
    assert data["metric_sets"] == {
        "all": [{"metric": "total_tokens", "max_mean": 500.0}], "v3": [{"metric": "latency_s", "flag_above": 2.0}]
    }
    v1, v2, v3 = data["versions"]
    assert v1["spec"] == {"template": "Reply to {{ customer }} about {{ issue }}.",
                          "variables": [{"name": "customer", "type": "short_text", "description": "who wrote"},
                                        {"name": "issue", "type": "long_text"}]}  # no schema, kind or empty parts
    assert v2["spec"]["fragments"] == {"fragment:tone": 1} and v3["spec"]["fragments"] == {"fragment:tone": 2}
    assert "template: |\n        {% include" in text  # multi-line text as a literal block
    assert v1["sha256"] == registry.get("card-dispute", 1).digest and v1["author"] == "user:ann"
    assert v3["note"] == "politely, as JSON"

    with pytest.raises(NotFoundError, match="No prompt named .nope."):
        pull(registry, metric_sets, ["card-dispute", "nope"], tmp_path / "other")
    assert not (tmp_path / "other").exists()  # nothing written when one slug is unknown


@pytest.mark.parametrize(
    "text",
    ["plain", "two\nlines", "trailing newline\n", "trailing spaces  \nand\ttabs\n", "  leading", "a: b # c",
     "---\n...\n", "'quoted' \"both\"", "Ünïcödé ✓\n", "\n\nblank first\n\n\n", "{{ x }}", "- dash", "123", "yes",
     "null", "", "\r\nwindows\r\n", "x\u2028y"],
)
def test_dumped_strings_load_back_exactly(text):
    assert load_yaml(dump_yaml({"s": text, "l": [text]})) == {"s": text, "l": [text]}


def test_file_names_of_fragments():
    assert file_name("faq") == "faq.yaml" and file_name("fragment:tone") == "fragment-tone.yaml"


def _pulled(settings, store, folder: Path) -> Path:
    seed(settings, store)
    registry, metric_sets, _ = _services(settings, store)
    pull(registry, metric_sets, None, folder)
    return folder


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(dump_yaml(data), encoding="utf-8")


def _audit_count(settings) -> int:
    return len(audit_log(settings).list(limit=10_000))


def test_a_changed_version_is_an_error_naming_it_and_nothing_of_the_file_is_written(sqlite_store, tmp_settings, tmp_path):
    folder = _pulled(tmp_settings, sqlite_store, tmp_path / "files")
    path = folder / "card-dispute.yaml"

    def rewrite_v2(data):
        v2 = data["versions"][1]
        v2["spec"]["template"] = v2["spec"]["template"].replace("Reply", "Answer")
        del v2["sha256"]  # so the database comparison has to catch it
        data["labels"]["staging"] = 1  # would move, but the file is refused whole
        data["metric_sets"]["all"] = [{"metric": "latency_s"}]
        new = dict(data["versions"][2], version=4, note="a new one")
        new["spec"] = dict(new["spec"], template="Brand new {{ customer }} {{ issue }}")
        del new["sha256"]
        data["versions"].append(new)

    _edit(path, rewrite_v2)
    before, events = snapshot(tmp_settings, sqlite_store), _audit_count(tmp_settings)
    result = _pusher(tmp_settings, sqlite_store).push([path])
    [plan] = result.files
    assert not result.ok and "v2 differs from v2 in the database" in plan.error
    assert snapshot(tmp_settings, sqlite_store) == before and _audit_count(tmp_settings) == events

    _edit(path, lambda data: data["versions"][1].update(sha256="0" * 64))  # edited but the digest kept
    [plan] = _pusher(tmp_settings, sqlite_store).push([path]).files
    assert "v2's sha256 does not match its spec" in plan.error
    assert snapshot(tmp_settings, sqlite_store) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("schema: 1\nslug: faq\nversions:\n  - version: 1\n   note: bad indent\n", "not valid YAML at line 5"),
        ("schema: 1\nslug: faq\nslug: again\nversions: []\n", "not valid YAML at line 3: the key 'slug' is given twice"),
        ("schema: 2\nslug: faq\nversions: []\n", "Unknown prompt file schema 2"),
        ("slug: faq\nversions: []\n", "has no 'schema'"),
        ("schema: 1\nslug: faq\nowner: me\nversions: []\n", "Unknown field in the file: owner"),
        ("schema: 1\nslug: Not A Slug\nversions: []\n", "Invalid prompt slug 'Not A Slug'"),
        ("schema: 1\nslug: faq\nversions: []\n", "has no versions"),
        ("schema: 1\nslug: faq\nversions:\n  - {version: 1, spec: {template: hi}, colour: red}\n",
         "Unknown field in versions entry 1: colour"),
        ("schema: 1\nslug: faq\nversions:\n  - {version: 2, spec: {template: hi}}\n", "numbered v2"),
        ("schema: 1\nslug: faq\nversions:\n  - {version: 1, spec: {template: hi, tone: warm}}\n",
         "v1: Unknown field in prompt spec: tone"),
        ("schema: 1\nslug: faq\nlabels: {staging: 3}\nversions:\n  - {version: 1, spec: {template: hi}}\n",
         "Label 'staging' points at 3"),
        ("schema: 1\nslug: faq\nmetric_sets: {v9: []}\nversions:\n  - {version: 1, spec: {template: hi}}\n",
         "Metric set key 'v9'"),
        ("- just\n- a list\n", "not a prompt file"),
    ],
)
def test_a_bad_file_is_one_clear_error_and_nothing_is_written(sqlite_store, tmp_settings, tmp_path, content, message):
    good = tmp_path / "fragment-ok.yaml"
    good.write_text("schema: 1\nslug: fragment:ok\nversions:\n  - {version: 1, note: first, spec: {template: Fine.}}\n")
    bad = tmp_path / "faq.yaml"
    bad.write_text(content, encoding="utf-8")
    result = _pusher(tmp_settings, sqlite_store).push([tmp_path])
    errors = {f.path.name: f.error for f in result.files}
    assert message in errors["faq.yaml"] and "\n" not in errors["faq.yaml"]
    assert errors["fragment-ok.yaml"] is None  # other files still go in
    registry, _, _ = _services(tmp_settings, sqlite_store)
    assert [p.slug for p in registry.list_prompts(fragments=None)] == ["fragment:ok"]


def test_a_lint_error_in_any_new_version_blocks_the_whole_file(sqlite_store, tmp_settings, tmp_path):
    path = tmp_path / "faq.yaml"
    path.write_text(
        "schema: 1\nslug: faq\nversions:\n"
        "  - {version: 1, note: first, spec: {template: 'Hi {{ name }}', variables: [{name: name}]}}\n"
        "  - {version: 2, note: second, spec: {template: 'Hi {{ name }} {{ typo }}', variables: [{name: name}]}}\n"
    )
    [plan] = _pusher(tmp_settings, sqlite_store).push([path]).files
    assert "v2: lint found 1 error; PF001" in plan.error
    registry, _, _ = _services(tmp_settings, sqlite_store)
    assert registry.list_prompts() == []  # not even v1


def test_production_is_never_moved_by_a_push_and_other_labels_are(sqlite_store, tmp_settings, tmp_path):
    folder = _pulled(tmp_settings, sqlite_store, tmp_path / "files")
    path = folder / "card-dispute.yaml"
    _edit(path, lambda data: data["labels"].update(production=3, staging=1, latest=1, qa=2))
    result = _pusher(tmp_settings, sqlite_store).push([path])  # IMPORTER is an approver too: still refused
    [plan] = result.files
    assert result.ok and plan.changed
    [refusal] = plan.refused
    assert "production -> v3: production is v2 in the database" in refusal
    assert "prompts label card-dispute 3 production" in refusal
    registry, _, _ = _services(tmp_settings, sqlite_store)
    assert registry.labels("card-dispute") == {"latest": 3, "production": 2, "staging": 1, "qa": 2}

    again = _pusher(tmp_settings, sqlite_store).push([path])
    assert not again.files[0].changed and again.files[0].refused  # refused again, nothing else to do


def test_on_a_new_prompt_production_needs_an_approver(databases, tmp_path):
    settings, store = databases("source")
    seed(settings, store)
    registry, metric_sets, _ = _services(settings, store)
    pull(registry, metric_sets, ["fragment:tone", "card-dispute"], tmp_path / "files")

    settings2, store2 = databases("target")
    result = _pusher(settings2, store2, ANALYST_ONLY).push([tmp_path / "files"])
    assert result.ok
    plan = next(f for f in result.files if f.slug == "card-dispute")
    assert plan.refused and "needs an approver" in plan.refused[0]
    registry2, _, _ = _services(settings2, store2)
    labels = registry2.labels("card-dispute")
    assert "production" not in labels and labels["staging"] == 3


def test_new_versions_are_appended_in_order_through_the_registry(sqlite_store, tmp_settings, tmp_path):
    folder = _pulled(tmp_settings, sqlite_store, tmp_path / "files")
    path = folder / "card-dispute.yaml"

    def add_two(data):
        for number, text in ((4, "Reply briefly to {{ customer }} about {{ issue }}."),
                             (5, 'Reply briefly to {{ customer }} about {{ issue }}. {% include "fragment:tone" %}')):
            spec = {"template": text, "variables": data["versions"][0]["spec"]["variables"]}
            if "include" in text:
                spec["fragments"] = {"fragment:tone": 1}  # pinned to the older fragment version on purpose
            data["versions"].append({"version": number, "note": f"v{number} by hand", "spec": spec})
        data["labels"]["staging"] = 5
        data["metric_sets"]["v5"] = [{"metric": "latency_s"}]

    _edit(path, add_two)
    dry = _pusher(tmp_settings, sqlite_store).push([path], dry_run=True)
    assert [c.text for c in dry.files[0].changes if c.kind != "warning"] == [
        "add v4: v4 by hand", "add v5: v5 by hand", "move staging to v5 (was v3)", "save metric set (v5)"
    ]
    registry, metric_sets, audit = _services(tmp_settings, sqlite_store)
    assert len(registry.versions("card-dispute")) == 3  # a dry run writes nothing

    result = _pusher(tmp_settings, sqlite_store).push([path])
    assert result.ok, result.files[0].error
    versions = registry.versions("card-dispute")
    assert [(v.version, v.change_note, v.created_by) for v in versions[3:]] == [
        (4, "v4 by hand", "os:importer"), (5, "v5 by hand", "os:importer")
    ]
    assert versions[4].spec["fragments"] == {"fragment:tone": 1}
    assert registry.labels("card-dispute")["staging"] == 5
    assert metric_sets.stored("card-dispute", 5).to_list() == [{"metric": "latency_s"}]
    assert {e.details["version"] for e in audit.list(limit=50) if e.action == "prompt_version_created"} >= {4, 5}


def test_a_missing_fragment_version_and_unknown_metrics_are_errors(sqlite_store, tmp_settings, tmp_path):
    path = tmp_path / "faq.yaml"
    path.write_text(
        "schema: 1\nslug: faq\nversions:\n"
        "  - {version: 1, note: first, spec: {template: '{% include \"fragment:gone\" %}', fragments: {'fragment:gone': 1}}}\n"
    )
    [plan] = _pusher(tmp_settings, sqlite_store).push([path]).files
    assert "pins fragment:gone to v1, which does not exist" in plan.error

    path.write_text(
        "schema: 1\nslug: faq\nmetric_sets: {all: [{metric: no_such_metric}]}\n"
        "versions:\n  - {version: 1, note: first, spec: {template: Hello.}}\n"
    )
    [plan] = _pusher(tmp_settings, sqlite_store).push([path]).files
    assert "Unknown metric(s): no_such_metric" in plan.error
    registry, _, _ = _services(tmp_settings, sqlite_store)
    assert registry.list_prompts() == []


def test_read_file_reports_a_file_that_is_not_there_or_not_utf8(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_file(tmp_path / "absent.yaml")
    (tmp_path / "latin.yaml").write_bytes("slug: caf\xe9".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_file(tmp_path / "latin.yaml")
