"""The base stream's HTTP policy, proved against the fake ChartMogul over real HTTP."""

from __future__ import annotations

import base64
import json

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul, Fault
from tap_chartmogul.client import PAGE_SIZE
from tap_chartmogul.errors import ChartMogulAPIError, ChartMogulAuthError, ChartMogulGaveUpError
from tap_chartmogul.responses import decode_json
from tap_chartmogul.tap import TapChartMogul
from tests.helpers import API_KEY, records, run_sync


def served(fake, path):
    return [r for r in fake.requests if r.path == path]


def test_customers_are_paged_by_cursor_each_exactly_once(fake, config, small_account):
    messages = run_sync(config, streams=["customers"])
    uuids = [r["uuid"] for r in records(messages, "customers")]
    assert len(uuids) == len(small_account.customers) == 450
    assert sorted(uuids) == sorted(c["uuid"] for c in small_account.customers)
    assert len(set(uuids)) == len(uuids)

    calls = served(fake, "/v1/customers")
    # 450 customers at 200 per page: three pages, and the final page's non-null
    # cursor is not followed (has_more is false).
    assert len(calls) == 3
    assert all(call.query["per_page"] == str(PAGE_SIZE) for call in calls)
    assert "cursor" not in calls[0].query
    assert all(call.query.get("cursor") for call in calls[1:])
    assert len({call.query.get("cursor") for call in calls}) == 3


def test_every_core_stream_emits_what_the_fake_holds(fake, config, small_account):
    messages = run_sync(
        config, streams=["account", "data_sources", "customers", "plans", "invoices"]
    )
    expected = {
        "account": 1,
        "data_sources": len(small_account.data_sources),
        "customers": len(small_account.customers),
        "plans": len(small_account.plans),
        "invoices": len(small_account.invoices),
    }
    for stream, count in expected.items():
        assert len(records(messages, stream)) == count, stream
    assert {r["uuid"] for r in records(messages, "invoices")} == {
        i["uuid"] for i in small_account.invoices
    }
    assert {r["uuid"] for r in records(messages, "plans")} == {
        p["uuid"] for p in small_account.plans
    }


def test_unpaginated_endpoints_make_exactly_one_request(fake, config):
    run_sync(config, streams=["account", "data_sources", "metrics"])
    for path in ("/v1/account", "/v1/data_sources", "/v1/metrics/all"):
        calls = served(fake, path)
        assert len(calls) == 1, path
        assert "per_page" not in calls[0].query
        assert "cursor" not in calls[0].query


def test_basic_auth_header_is_key_with_empty_password(fake, config):
    run_sync(config, streams=["account"])
    expected = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
    assert {r.authorization for r in fake.requests} == {expected}


def test_https_default_and_version_prefix():
    tap = TapChartMogul(config={"api_key": API_KEY}, parse_env_config=False)
    assert tap.streams["customers"].url_base == "https://api.chartmogul.com/v1"


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_fails_at_once_without_retry(fake, config, status, retry_waits):
    if status == 401:
        config = {**config, "api_key": "cm_wrong_key_0000"}
    else:
        fake.script(
            r"^/v1/account$",
            [Fault(status=403, body='{"code":403,"message":"Forbidden","param":null}')],
        )
    with pytest.raises(ChartMogulAuthError) as caught:
        run_sync(config, streams=["account", "customers"])
    assert retry_waits == []
    assert len(fake.requests) == 1
    message = str(caught.value)
    assert f"HTTP {status}" in message
    assert "check api_key" in message
    assert API_KEY not in message
    assert "cm_wrong_key_0000" not in message


def test_401_body_is_quoted(fake, config):
    with pytest.raises(ChartMogulAuthError, match="No valid API key provided"):
        run_sync({**config, "api_key": "nope"}, streams=["account"])


def test_429_with_retry_after_is_honoured_then_succeeds(fake, config, retry_waits):
    fake.script(r"^/v1/plans$", [Fault(status=429, headers={"Retry-After": "1"})])
    messages = run_sync(config, streams=["plans"])
    assert retry_waits == [1.0]  # exactly the header's wait: no jitter, no exponential curve
    assert [r.status for r in served(fake, "/v1/plans")][:2] == [429, 200]
    assert len(records(messages, "plans")) > 0


def test_5xx_then_success_loses_nothing(fake, config, small_account, retry_waits):
    fake.script(r"^/v1/customers$", [503, Fault(kind="502"), 200, Fault(kind="500")])
    messages = run_sync(config, streams=["customers"])
    uuids = [r["uuid"] for r in records(messages, "customers")]
    assert len(uuids) == len(set(uuids)) == len(small_account.customers)
    statuses = [r.status for r in served(fake, "/v1/customers")]
    assert statuses.count(200) == 3
    assert sorted(set(statuses)) == [200, 500, 502, 503]
    assert len(retry_waits) == 3


def test_truncated_json_is_retried(fake, config, small_account, retry_waits):
    fake.script(r"^/v1/plans$", [Fault(kind="truncated")])
    messages = run_sync(config, streams=["plans"])
    assert len(records(messages, "plans")) == len(small_account.plans)
    assert len(served(fake, "/v1/plans")) >= 2


def test_a_body_cut_inside_a_number_is_retried(fake, config, retry_waits):
    """msgspec calls ``{"...": 1.`` malformed, not truncated: it is a cut body all the same.

    A run of every stream failed on one such cut (CI, test_faults truncated-json).
    """
    cut = b'{"entries":[{"date":"2025-01-01","customer-churn-rate":1.'  # ends inside a number
    fake.script(
        r"^/v1/metrics/customer-churn-rate$",
        [Fault(status=200, body=cut, content_type="application/json")],
    )
    messages = run_sync(config, streams=["metrics_customer_churn_rate"])
    assert records(messages, "metrics_customer_churn_rate")
    assert len(served(fake, "/v1/metrics/customer-churn-rate")) >= 2
    assert len(retry_waits) == 1


def test_every_cut_of_a_body_is_truncated_and_a_bad_number_is_not():
    whole = json.dumps(
        {"entries": [{"mrr": -1234.5e3, "rate": 1.25, "ok": True, "x": None, "s": "\u00e9"}]}
    ).encode()
    for end in range(len(whole)):
        with pytest.raises(ValueError, match="truncated"):
            decode_json(whole[:end])
    for complete in (b'{"a":1.}', b'{"a":1e}', b'{"a":01}'):
        with pytest.raises(ValueError, match="invalid number"):
            decode_json(complete)


def test_gives_up_after_max_tries_naming_endpoint_and_status(fake, config, retry_waits):
    fake.script(r"^/v1/plans$", [500] * 10)
    with pytest.raises(ChartMogulGaveUpError) as caught:
        run_sync({**config, "max_retries": 2}, streams=["plans"])
    assert len(served(fake, "/v1/plans")) == 3
    assert len(retry_waits) == 2
    message = str(caught.value)
    assert "/v1/plans" in message
    assert "3 attempts" in message
    assert "HTTP 500" in message
    assert "per_page" not in message


def test_connection_refused_gives_up_with_clear_error(retry_waits):
    config = {"api_key": API_KEY, "api_url": "http://127.0.0.1:9", "max_retries": 1}
    with pytest.raises(ChartMogulGaveUpError, match="connection failed"):
        run_sync(config, streams=["account"])
    assert len(retry_waits) == 1


def test_html_200_is_a_clear_error_not_a_retry(fake, config):
    fake.script(r"^/v1/account$", [Fault(kind="html")])
    with pytest.raises(ChartMogulAPIError) as caught:
        run_sync(config, streams=["account"])
    assert "text/html" in str(caught.value)
    assert "api_url" in str(caught.value)
    assert len(fake.requests) == 1


def test_other_4xx_is_fatal_with_the_apis_message(fake, config):
    fake.script(
        r"^/v1/invoices$",
        [Fault(status=400, body='{"code":400,"message":"Invalid cursor","param":"cursor"}')],
    )
    with pytest.raises(ChartMogulAPIError, match=r"HTTP 400 for /v1/invoices: Invalid cursor"):
        run_sync(config, streams=["invoices"])
    assert len(fake.requests) == 1


def test_empty_account_syncs_cleanly():
    with FakeChartMogul(FakeAccount(customers=0, seed=5), api_key=API_KEY) as server:
        messages = run_sync(
            {"api_key": API_KEY, "api_url": server.base_url}, streams=["customers", "invoices"]
        )
        assert records(messages, "customers") == []
        assert records(messages, "invoices") == []
        assert server.count("/v1/customers") == 1
        assert server.count("/v1/invoices") == 1


def test_api_drift_new_fields_and_blank_numbers_do_not_crash(fake, config):
    body = (
        '{"plans":[{"uuid":"pl_new","name":"Gold","interval_count":"","interval_unit":"month",'
        '"external_id":"g","data_source_uuid":"ds_1","brand-new-field":{"x":1}}],'
        '"has_more":false,"cursor":null,"current_page":1,"total_pages":1}'
    )
    fake.script(r"^/v1/plans$", [Fault(status=200, body=body, content_type="application/json")])
    messages = run_sync(config, streams=["plans"])
    assert records(messages, "plans") == [
        {
            "uuid": "pl_new",
            "name": "Gold",
            "interval_count": None,
            "interval_unit": "month",
            "external_id": "g",
            "data_source_uuid": "ds_1",
        }
    ]
