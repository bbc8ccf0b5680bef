"""The compliance PDF on PostgreSQL: the same data as on SQLite gives the same figures (the SQL
of ``storage.compliance`` runs on both)."""

from __future__ import annotations

import pytest

from reports.pdf_report import SECTIONS, write_pdf_report
from storage.run_filter import RunFilter
from tests.reports.test_pdf_report import END, PII_EXPECTED, START, VERDICTS_EXPECTED, _text, build_world

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def pg_world(tmp_path):
    """``build_world`` on a database of its own (the session's shared one holds other tests' runs,
    which would fall into the period), dropped afterwards."""
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    from config.settings import Settings
    from storage.trulens_store import close_all_stores
    from tests.conftest import PG_SERVER, _pg_unavailable

    server = make_url(PG_SERVER)
    try:
        admin = psycopg.connect(
            server.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True, connect_timeout=3
        )
    except psycopg.OperationalError as exc:
        _pg_unavailable(str(exc).splitlines()[0])
    name = f"pf_test_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        url = server.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
        settings = Settings(data_dir=tmp_path, database_url=url)
        store = None
        try:
            store = build_world(settings)
            yield settings, store
        finally:
            if store is not None:
                store.close()
            close_all_stores()
            from storage.engine import make_engine

            make_engine(settings).dispose()
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_same_figures_on_postgresql(pg_world, tmp_path):
    settings, store = pg_world
    path = tmp_path / "report.pdf"
    summary = write_pdf_report(
        store.engine, RunFilter(start=START, end=END), path, generated_by="aud", settings=settings, appendix=True
    )
    text = _text(path)
    counts = summary["counts"]
    assert counts["runs"] == 10 and counts["statuses"] == {"ok": 7, "blocked": 2, "error": 1}
    assert counts["pii_by_type"] == {k: {"in": v[0], "out": v[2]} for k, v in PII_EXPECTED.items()}
    assert counts["injection"] == VERDICTS_EXPECTED
    assert counts["metrics"]["answer_length"]["p50"] == 40.0
    assert counts["queues"]["faq-review"]["reviews"] == 6
    assert counts["audit_chain"]["ok"] is True and counts["label_moves"] == 1
    assert "Breaches bank policy? no: 6" in text  # yes/no answers read the same as on SQLite
    assert "postgresql+psycopg://" in text or "postgresql://" in text
    for heading in SECTIONS:
        assert heading in text
    assert summary["appendix"]["runs"] == 10
