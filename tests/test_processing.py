"""Figures read while ChartMogul is still processing are marked provisional, and said once.

The ``data_sources`` listing (``with_processing_status=true``) is the one reading of the
processing status per run, whoever needs it: the metric streams read it through the run,
never with a request of their own, and the run says it in one WARNING and in its summary.
"""

from __future__ import annotations

import logging

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul, Fault, imports
from tap_chartmogul.processing import pending_sources
from tests.helpers import API_KEY, METRIC_STREAMS, fake_config, records, run_sync

STILL = "still processing"


@pytest.fixture
def account() -> FakeAccount:
    return FakeAccount(customers=30, seed=23)


@pytest.fixture
def server(account):
    with FakeChartMogul(account, api_key=API_KEY) as fake:
        yield fake


def sync(server, caplog, streams):
    config = fake_config(server, metrics_interval="month", start_date="2025-06-01")
    with caplog.at_level(logging.INFO, logger="tap-chartmogul"):
        messages = run_sync(config, streams=streams)
    lines = [r.getMessage() for r in caplog.records]
    return messages, lines


def test_a_run_during_an_import_says_so_once_and_marks_its_metrics(server, account, caplog):
    busy = account.data_sources[0]
    imports.start_import(account, busy["uuid"], pending=37)
    messages, lines = sync(server, caplog, ["data_sources", *METRIC_STREAMS])
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and STILL in r.getMessage()
    ]
    assert len(warnings) == 1, [w.getMessage() for w in warnings]
    assert f"{busy['name']} ({busy['uuid']}): 37 pending" in warnings[0].getMessage()
    summary = lines[next(i for i, line in enumerate(lines) if line.startswith("Run summary")) :]
    expected = (
        f"Provisional: ChartMogul was still processing 1 data source ({busy['name']} "
        f"({busy['uuid']}): 37 pending); metric rows carry provisional = true"
    )
    assert [line for line in summary if line.startswith("Provisional:")] == [expected]
    for stream in METRIC_STREAMS:
        rows = records(messages, stream)
        assert rows, stream
        assert {row["provisional"] for row in rows} == {True}, stream
    # The data sources' listing is the run's one reading of the status.
    assert server.count("/v1/data_sources") == 1


def test_a_settled_run_marks_its_metrics_final_and_says_nothing(server, caplog):
    messages, lines = sync(server, caplog, ["metrics", "metrics_mrr"])
    assert not [line for line in lines if STILL in line or line.startswith("Provisional")]
    for stream in ("metrics", "metrics_mrr"):
        assert {row["provisional"] for row in records(messages, stream)} == {False}
    # Read for the metric streams though data_sources is not selected: still once.
    assert records(messages, "data_sources") == []
    assert server.count("/v1/data_sources") == 1


def test_when_chartmogul_does_not_say_the_column_is_null(server, account, caplog):
    body = {"data_sources": account.data_sources}  # no processing_status: not asked
    server.script(r"^/v1/data_sources$", [Fault(status=200, body=body)])
    messages, lines = sync(server, caplog, ["metrics_arr"])
    assert {row["provisional"] for row in records(messages, "metrics_arr")} == {None}
    assert not [line for line in lines if STILL in line]


def test_when_the_data_sources_cannot_be_read_metrics_go_on_unmarked(server, caplog):
    server.script(r"^/v1/data_sources$", [Fault(status=403)])
    messages, lines = sync(server, caplog, ["metrics_arr"])
    assert {row["provisional"] for row in records(messages, "metrics_arr")} == {None}
    assert [line for line in lines if line.startswith("Could not read /v1/data_sources")]


def test_pending_sources_reads_every_shape():
    sources = [
        {"uuid": "ds_1", "name": "Stripe", "processing_status": {"processed": 1, "pending": 5}},
        {"uuid": "ds_2", "name": "Import", "processing_status": {"pending": 0, "failed": 3}},
        {"uuid": "ds_3", "name": "Old", "processing_status": None},
        {"uuid": "ds_4", "processing_status": {"pending": True}},
        {"uuid": "ds_5", "processing_status": {"pending": "5"}},
    ]
    assert pending_sources(sources) == (["Stripe (ds_1): 5 pending"], 2)
    assert pending_sources([]) == ([], 0)


@pytest.mark.slow
def test_a_long_listing_split_by_data_source_reads_the_same_one_listing():
    """Customers long enough to be read per data source: still one /v1/data_sources."""
    account = FakeAccount(customers=2100, seed=24)  # 11 pages of customers
    imports.start_import(account, account.data_sources[0]["uuid"], pending=1)
    with FakeChartMogul(account, api_key=API_KEY) as fake:
        streams = ["data_sources", "customers", "metrics_arr"]
        messages = run_sync(fake_config(fake, metrics_interval="month"), streams=streams)
        data_source_filters = {r.query.get("data_source_uuid") for r in fake.requests}
        assert fake.count("/v1/data_sources") == 1
    assert len(data_source_filters - {None}) >= 2, "the customers were not read per data source"
    assert len(records(messages, "customers")) == len(account.customers)
    assert {r["provisional"] for r in records(messages, "metrics_arr")} == {True}
