"""ChartMogul's answers in their recorded and documented shapes, 2026 fields included.

One first page (or one answer) per endpoint the tap reads, as docs/chartmogul-api.md and
the team's reference quote them: the recorded shapes of §2 (legacy keys on first pages,
``""`` for missing event values, hyphenated keys, ``.000Z`` and ``+00:00`` times, floats
where ChartMogul sends them) with the 2025-2026 fields of §8 (disabled and edited records,
notes on contacts, tasks on contacts, processing status, contacts' ``external_id``).
Values are made up; keys, nesting and types are ChartMogul's. ``tests/test_recorded.py``
serves them through the fake's scripting.
"""

from __future__ import annotations

import typing as t

Body = dict[str, t.Any]

DS = "ds_d0b59f2a-cf61-11f0-95c7-c7391c16ed34"
DS_OLD = "ds_fef05d54-47b4-431b-aed2-eb6b9e545430"
CUSTOMER = "cus_f466e33d-ff2b-4a11-8f85-417eb02157a7"
CONTACT = "con_00000000-0000-0000-0000-100000000001"
PLAN = "pl_cdb35052-ec1d-4a36-9a11-ec2a6b58b8c2"
GROUP = "plg_b53fdbfc-c5eb-4a61-a589-85146cf8d0ab"
SUMMARY = {
    "values_changed": {
        "amount_in_cents": {"original_value": 1000, "edited_value": 1200},
        "date": {
            "original_value": "2024-01-01T00:00:00.000Z",
            "edited_value": "2024-01-02T00:00:00.000Z",
        },
    },
    "latest_edit_author": "user@example.com",
    "latest_edit_performed_at": "2026-01-15T10:00:00Z",
}

ACCOUNT: Body = {
    "id": "acc_93b5d4c4-9e3a-4b82-a0e7-2a1d1c0a0a1b",
    "name": "Example Co",
    "currency": "EUR",
    "time_zone": "Europe/Berlin",
    "week_start_on": "monday",
    "churn_recognition": "churn_at_time_of_cancelation",
    "churn_when_zero_mrr": False,
    "auto_churn_subscription": True,
    "refund_handling": "refund_ignore",
    "proximate_movement_reclassification": "recurring_revenue_only",
}

HANDLING = {
    "create_subscription_when_invoice_is": "open",
    "update_subscription_when_invoice_is": "open",
    "prevent_subscription_for_invoice_voided": True,
    "prevent_subscription_for_invoice_refunded": False,
    "prevent_subscription_for_invoice_written_off": True,
}
DATA_SOURCES: Body = {
    "data_sources": [
        {  # 2025-12 recording (chartmogul-ruby), the object form of the auto-churn setting
            "uuid": DS,
            "name": "Test Data Source",
            "system": "Custom",
            "created_at": "2025-12-02T09:32:26.858Z",
            "status": "idle",
            "processing_status": {"processed": 12, "failed": 8, "pending": 37},
            "auto_churn_subscription_setting": {"enabled": True, "interval": 30},
            "invoice_handling_setting": {"manual": HANDLING, "automatic": dict(HANDLING)},
        },
        {  # the boolean form recorded in 2025-12
            "uuid": DS_OLD,
            "name": "Stripe",
            "system": "Stripe",
            "created_at": "2016-01-10T15:34:05Z",
            "status": "never_imported",
            "processing_status": {"processed": None, "pending": 0, "failed": None},
            "auto_churn_subscription_setting": False,
            "invoice_handling_setting": {"manual": HANDLING, "automatic": dict(HANDLING)},
        },
    ]
}

CUSTOMERS: Body = {
    "entries": [
        {
            "id": 25647,
            "uuid": CUSTOMER,
            "external_id": "34916129",
            "external_ids": ["34916129"],
            "data_source_uuid": DS,
            "data_source_uuids": [DS, DS],
            "name": "Example Company",
            "email": "bob@examplecompany.com",
            "company": "",
            "status": "Active",
            "customer-since": "2015-06-09T13:16:00-04:00",
            "lead_created_at": "2015-01-01T10:00:00.000Z",
            "free_trial_started_at": "2015-01-09T10:00:00.000Z",
            "country": "US",
            "state": "CA",
            "city": "",
            "zip": "90210",
            "address": {
                "country": "United States",
                "state": "California",
                "city": "Beverly Hills",
                "address_zip": "90210",
            },
            "mrr": 3000,
            "arr": 36000,
            "billing-system-url": "https://dashboard.stripe.com/customers/cus_4Z2ZpyJFuQ0XMb",
            "chartmogul-url": "https://app.chartmogul.com/#customers/25647-Example_Company",
            "billing-system-type": "Stripe",
            "currency": "USD",
            "currency-sign": "$",
            "owner": "kate@chartmogul.com",
            "website_url": "https://example.com",
            "attributes": {
                "tags": ["important", "Prio1"],
                "stripe": {"coupon": True},
                "clearbit": {},
                "custom": {"CAC": 213, "utmCampaign": "social media 1", "Trial": True},
            },
            # A 2026 recording against ChartMogul's development server.
            "lead_status": "Working Lead",
            "free_subscriber_status": None,
            "trial_subscriber_status": "converted",
            "paid_subscriber_status": "active",
            "last_seen": "2026-01-20T08:00:00.000Z",
        }
    ],
    "current_page": 1,
    "total_pages": 1,
    "has_more": False,
    "per_page": 200,
    "page": 1,
    "cursor": "MjAyMy0wNy0yOFQwODo1MzoyMS4xMTIwMDAwMDBaJjI1NjQ3",
}

SUBSCRIPTIONS: Body = {
    "entries": [
        {
            "id": 9306830,
            "uuid": "7b5e26c3-9b32-4f0e-9c8b-0d5c3c4a1e11",
            "external_id": "sub_0001",
            "subscription_set_external_id": "set_0001",
            "plan": "PRO Plan (70,000 active subscribers)",
            "quantity": 1,
            "mrr": 70800,
            "arr": 849600,
            "status": "active",
            "billing-cycle": "month",
            "billing-cycle-count": 1,
            "start-date": "2015-12-20T08:28:30+00:00",
            "end-date": "2016-03-20T08:28:30+00:00",
            "currency": "USD",
            "currency-sign": "$",
        },
        {  # 2018: fractional amounts
            "id": 9306831,
            "uuid": "7b5e26c3-9b32-4f0e-9c8b-0d5c3c4a1e12",
            "external_id": "sub_0002",
            "subscription_set_external_id": "set_0001",
            "plan": "Add-on",
            "quantity": 3,
            "mrr": 10908.61093020998,
            "arr": 130903.33116251976,
            "status": "inactive",
            "billing-cycle": "year",
            "billing-cycle-count": 1,
            "start-date": "2017-01-01T00:00:00+00:00",
            "end-date": "2018-01-01T00:00:00+00:00",
            "currency": "USD",
            "currency-sign": "$",
        },
    ],
    "has_more": False,
    "per_page": 200,
    "page": 1,
    "cursor": "c3Vic2NyaXB0aW9uc19uZXh0X3BhZ2U9Mg==",
}

ACTIVITIES: Body = {
    "entries": [
        {
            "uuid": "f1a49735-21c7-4e3f-9ddc-67927aaadcf4",
            "date": "2023-02-21T09:28:10+00:00",
            "type": "new_biz",
            "description": "purchased the Silver Monthly plan (1)",
            "activity-mrr": 2000,
            "activity-mrr-movement": 2000,
            "activity-arr": 24000,
            "currency": "USD",
            "subscription-external-id": "sub_0001",
            "subscription-set-external-id": "set_0001",  # 2025-11
            "plan-external-id": "plan_silver",
            "customer-name": "Example Company",
            "customer-uuid": CUSTOMER,
            "customer-external-id": "34916129",
            "billing-connector-uuid": DS,
        }
    ],
    "has_more": False,
    "per_page": 200,
    "cursor": None,
}

PLANS: Body = {
    "plans": [
        {
            "uuid": PLAN,
            "data_source_uuid": DS,
            "name": "Bronze Plan",
            "interval_count": 1,
            "interval_unit": "month",
            "external_id": "plan_0001",
        }
    ],
    "current_page": 1,
    "total_pages": 1,
    "cursor": "MjAyMy0xMC0zMFQwMzoxNjo1Ni4wMzUwMTcwMDBaJjUxMjM=",
    "has_more": False,
}
PLAN_GROUPS: Body = {
    "plan_groups": [{"uuid": GROUP, "name": "My plan group", "plans_count": 1}],
    "current_page": 1,
    "total_pages": 1,
    "cursor": None,
    "has_more": False,
}
PLAN_GROUP_PLANS: Body = {
    "plans": PLANS["plans"],
    "current_page": 1,
    "total_pages": 1,
    "has_more": False,
    "cursor": None,
}

LINE_ITEMS = [
    {
        "uuid": "li_d72e6843-5793-41d0-bfdf-0269514c9c56",
        "external_id": None,
        "type": "subscription",
        "subscription_uuid": "sub_e6bc5407-e258-4de0-bb43-61faaf062035",
        "subscription_external_id": "sub_0001",
        "subscription_set_external_id": "set_0001",
        "plan_uuid": PLAN,
        "plan_external_id": "plan_0001",
        "prorated": False,
        "proration_type": None,
        "service_period_start": "2015-11-01T00:00:00.000Z",
        "service_period_end": "2015-12-01T00:00:00.000Z",
        "amount_in_cents": 1200,
        "quantity": 1,
        "discount_code": "PSO86",
        "discount_amount_in_cents": 1000,
        "discount_description": "Summer sale",
        "tax_amount_in_cents": 900,
        "transaction_fees_in_cents": 200,
        "transaction_fees_currency": "USD",
        "account_code": "",
        "event_order": 5,
        "balance_transfer": None,
        "disabled": False,
        "disabled_at": None,
        "disabled_by": None,
        "errors": {},
        "edit_history_summary": SUMMARY,
    },
    {
        "uuid": "li_0cc8c112-beac-416d-af11-f35744ca4e83",
        "external_id": "li_0002",
        "type": "one_time",
        "description": "Setup Fees",
        "plan_uuid": None,
        "amount_in_cents": 2500,
        "quantity": 1,
        "discount_code": "",
        "discount_amount_in_cents": 0,
        "discount_description": None,
        "tax_amount_in_cents": 450,
        "transaction_fees_in_cents": 0,
        "transaction_fees_currency": None,
        "account_code": None,
        "event_order": None,
        "balance_transfer": False,
        "disabled": True,
        "disabled_at": "2026-04-02T08:00:00.000Z",
        "disabled_by": "finance@example.com",
        "errors": {"amount_in_cents": ["Amount is invalid"]},
        "edit_history_summary": None,
    },
]
TRANSACTIONS = [
    {
        "uuid": "tr_879d560a-1bec-41bb-986e-665e38a2f7bc",
        "external_id": None,
        "type": "payment",
        "date": "2015-11-05T00:14:23.000Z",
        "result": "successful",
        "amount_in_cents": None,
        "transaction_fees_in_cents": 300,
        "transaction_fees_currency": "USD",
        "disabled": False,
        "disabled_at": None,
        "disabled_by": None,
        "errors": None,
        "edit_history_summary": None,
    }
]
INVOICES: Body = {
    "invoices": [
        {
            "uuid": "inv_565c73b2-85b9-49c9-a25e-2b7df6a677c9",
            "customer_uuid": CUSTOMER,
            "customer_external_id": "34916129",
            "data_source_uuid": DS,
            "currency": "USD",
            "date": "2015-11-01T00:00:00.000Z",
            "due_date": "2015-11-15T00:00:00.000Z",
            "external_id": "INV0001",
            "collection_method": "automatic",
            "status": "paid",
            "user_created": False,
            "disabled": True,
            "disabled_at": "2024-01-15T10:30:00.000Z",
            "disabled_by": "user@example.com",
            "edit_history_summary": SUMMARY,
            "errors": {
                "currency": ["Currency is invalid", "Currency must be supported"],
                "date": ["Date is in the future"],
            },
            "line_items": LINE_ITEMS,
            "transactions": TRANSACTIONS,
        }
    ],
    "current_page": 1,
    "total_pages": 1,
    "cursor": "MjAyMy0xMC0zMFQwMzoxNjo1Ni4wMzUwMTcwMDBaJmludl82ODk3ZDcwMA==",
    "has_more": False,
}

SUBSCRIPTION_EVENTS: Body = {
    "subscription_events": [
        {
            "id": 73966836,
            "data_source_uuid": DS,
            "customer_external_id": "34916129",
            "subscription_set_external_id": "set_0001",
            "subscription_external_id": "sub_0001",
            "plan_external_id": "plan_0001",
            "event_date": "2022-04-09T11:17:14Z",
            "effective_date": "2022-04-09T11:17:14Z",
            "event_type": "subscription_start",
            "external_id": "evnt_026",
            "errors": {},
            "created_at": "2022-05-18T09:48:34Z",
            "updated_at": "2022-05-18T09:48:34Z",
            "quantity": 1,
            "currency": "USD",
            "amount_in_cents": 1000,
            "tax_amount_in_cents": 19,
            "retracted_event_id": None,
            "event_order": 2,
            "disabled": True,
            "disabled_at": "2026-04-10T12:00:00.000Z",
            "disabled_by": "ops@example.com",
            "edit_history_summary": SUMMARY,
        },
        {  # 2022-2023: "" for every missing value
            "id": 73966835,
            "data_source_uuid": DS,
            "customer_external_id": "34916129",
            "subscription_set_external_id": "",
            "subscription_external_id": "sub_0001",
            "plan_external_id": "",
            "event_date": "2022-04-08T11:17:14Z",
            "effective_date": "2022-04-08T11:17:14Z",
            "event_type": "subscription_cancelled",
            "external_id": None,
            "errors": {},
            "created_at": "2022-05-18T09:48:30Z",
            "updated_at": "2022-05-18T09:48:30Z",
            "quantity": "",
            "currency": "",
            "amount_in_cents": "",
            "tax_amount_in_cents": None,
            "retracted_event_id": None,
        },
    ],
    "meta": {
        "next_key": None,
        "prev_key": None,
        "before_key": "2022-05-18T09:48:34.000Z",
        "page": 1,
        "total_pages": 1,
    },
    "cursor": "MjAyMi0wNS0xOFQwOTo0ODozMC4wMDAwMDAwMDBaJjczOTY2ODM1",
    "has_more": False,
}

CONTACTS: Body = {
    "entries": [
        {
            "uuid": "con_ab1e60d4-7690-11ee-84d7-f7e55168a5df",
            "customer_uuid": CUSTOMER,
            "customer_external_id": "34916129",
            "data_source_uuid": DS,
            "position": 1,
            "first_name": "Adam",
            "last_name": "Smith",
            "title": "CEO",
            "email": "adam@example.com",
            "phone": "+1234567890",
            "linked_in": "https://linkedin.com/in/adam",
            "twitter": "https://twitter.com/adam",
            "notes": "Heading\nBody\nFooter",
            "custom": {"MyStringAttribute": "Test", "MyIntegerAttribute": 123},
            "external_id": "crm_0001",  # 2026-03
            "last_seen": "2026-02-01T10:00:00.000Z",
        },
        {  # a standalone contact (2026 development server): no customer
            "uuid": CONTACT,
            "customer_uuid": None,
            "customer_external_id": None,
            "data_source_uuid": None,
            "position": 0,
            "first_name": "Eve",
            "last_name": None,
            "title": None,
            "email": "eve@example.com",
            "phone": None,
            "linked_in": None,
            "twitter": None,
            "notes": None,
            "custom": {},
            "external_id": None,
            "last_seen": None,
        },
    ],
    "cursor": "MjAyMy0xMC0zMFQwMzoxNjo1Ni4wMzUwMTcwMDBaJmNvbl9hYjFl",
    "has_more": False,
}

NOTES: Body = {
    "entries": [
        {
            "uuid": "note_7ae3bb1a-c84e-11ee-9f8e-c7df2b3ed1ad",
            "customer_uuid": CUSTOMER,
            "associated_object": "customer",
            "associated_object_uuid": CUSTOMER,
            "type": "call",
            "text": "<p>Spoke about renewal.</p>\nWants annual pricing.",
            "call_duration": 600,
            "author": "John Doe (john@example.com)",
            "created_at": "2026-01-10T09:00:00.000Z",
            "updated_at": "2026-01-11T09:00:00.000Z",
        },
        {
            "uuid": "note_8be3bb1a-c84e-11ee-9f8e-c7df2b3ed1ae",
            "customer_uuid": None,
            "associated_object": "contact",
            "associated_object_uuid": CONTACT,
            "type": "note",
            "text": "Met at the conference",
            "call_duration": 0,
            "author": "Jane Doe (jane@example.com)",
            "created_at": "2026-01-09T09:00:00.000Z",
            "updated_at": "2026-01-09T09:00:00.000Z",
        },
        {  # the shape of /v1/customer_notes: nothing says what the note is on
            "uuid": "note_9ce3bb1a-c84e-11ee-9f8e-c7df2b3ed1af",
            "customer_uuid": CUSTOMER,
            "type": "note",
            "text": "",
            "call_duration": 0,
            "author": "John Doe (john@example.com)",
            "created_at": "2023-10-30T03:16:56.035Z",
            "updated_at": "2023-10-30T03:16:56.035Z",
        },
    ],
    "cursor": "MjAyMy0xMC0zMFQwMzoxNjo1Ni4wMzUwMTcwMDBaJm5vdGVfOWNl",
    "has_more": False,
}

TASKS: Body = {
    "entries": [
        {
            "task_uuid": "00000000-0000-0000-0000-000000000001",
            "customer_uuid": CUSTOMER,
            "assignee": "customer@example.com",
            "task_details": "Call the customer",
            "due_date": "2025-04-30T00:00:00.000Z",
            "completed_at": None,
            "created_at": "2025-04-01T12:00:00.000Z",
            "updated_at": "2025-04-01T12:00:00.000Z",
        },
        {  # a task on a contact (2026)
            "task_uuid": "00000000-0000-0000-0000-000000000002",
            "customer_uuid": None,
            "associated_object": "contact",
            "associated_object_uuid": CONTACT,
            "assignee": "sales@example.com",
            "task_details": "Send the proposal",
            "due_date": "2026-05-01T00:00:00.000Z",
            "completed_at": "2026-04-20T15:00:00.000Z",
            "created_at": "2026-04-01T12:00:00.000Z",
            "updated_at": "2026-04-20T15:00:00.000Z",
        },
        {  # the contact named as the parameter is (contact_uuid)
            "task_uuid": "00000000-0000-0000-0000-000000000003",
            "customer_uuid": None,
            "contact_uuid": CONTACT,
            "assignee": "sales@example.com",
            "task_details": "Book a demo",
            "due_date": "2026-05-02T00:00:00.000Z",
            "completed_at": None,
            "created_at": "2026-04-02T12:00:00.000Z",
            "updated_at": "2026-04-02T12:00:00.000Z",
        },
    ],
    "cursor": "MjAyNS0wNC0wMVQxMjowMDowMC4wMDAwMDAwMDBaJjAwMDAwMDAw",
    "has_more": False,
}

OPPORTUNITIES: Body = {
    "entries": [
        {
            "uuid": "00000000-0000-0000-0000-000000000010",
            "customer_uuid": CUSTOMER,
            "owner": "test1@example.org",
            "pipeline": "New business 1",
            "pipeline_stage": "Discovery",
            "estimated_close_date": "2024-03-30",
            "currency": "USD",
            "amount_in_cents": 100,
            "type": "recurring",
            "forecast_category": "pipeline",
            "win_likelihood": 3,
            "custom": {"from_campaign": True},
            "created_at": "2024-03-13T07:33:28.356Z",
            "updated_at": "2024-03-13T07:33:28.356Z",
        }
    ],
    "cursor": "MjAyNC0wMy0xM1QwNzozMzoyOC4zNTYwMDAwMDBaJjAwMDAwMDAw",
    "has_more": False,
}


def _series(metric: str, *values: t.Any) -> list[Body]:
    return [
        {"date": f"2026-0{month}-28", metric: value, "percentage-change": change}
        for month, (value, change) in enumerate(values, start=1)
    ]


#: ``/metrics/<name>`` -> its answer. ``ltv`` mixes ints and floats, as recorded.
METRICS: dict[str, Body] = {
    "all": {
        "entries": [
            {
                "date": "2026-01-31",
                "customer-churn-rate": 1.71,
                "mrr-churn-rate": -0.26,
                "ltv": 15620.0,
                "customers": 328,
                "asp": 2500,
                "arpa": 1027,
                "arr": 4044300,
                "mrr": 337025,
                "customer-churn-rate-percentage-change": 0.0,
                "mrr-churn-rate-percentage-change": -43735.29,
                "ltv-percentage-change": 0.0,
                "customers-percentage-change": 0.31,
                "asp-percentage-change": 0.0,
                "arpa-percentage-change": 0.29,
                "arr-percentage-change": 0.6,
                "mrr-percentage-change": 0.6,
            }
        ],
        "summary": {
            "current-mrr": 354026144,
            "previous-mrr": 353715871,
            "mrr-percentage-change": 0.09,
            "current-customers": 330,
            "previous-customers": 328,
            "customers-percentage-change": 0.61,
        },
    },
    "mrr": {
        "entries": [
            {
                "date": "2026-01-31",
                "mrr": 363819722,
                "percentage-change": 0.0,
                "mrr-new-business": 288938,
                "mrr-expansion": 108684,
                "mrr-contraction": -147909,
                "mrr-churn": -600866,
                "mrr-reactivation": 0,
            }
        ],
        "summary": {"current": 354026144, "previous": 353715871, "percentage-change": 0.09},
    },
    "arr": {"entries": _series("arr", (4365836664, 0.0), (4365836664, 0.0))},
    "arpa": {"entries": _series("arpa", (4729, 0.0), (4805, 1.61))},
    "asp": {"entries": _series("asp", (39000, 0.0))},
    "customer-count": {"entries": _series("customers", (3340, 0.0), (3360, 0.6))},
    "customer-churn-rate": {"entries": _series("customer-churn-rate", (1.71, 0.0))},
    "mrr-churn-rate": {"entries": _series("mrr-churn-rate", (-0.26, 0.0), (12.5, 4907.69))},
    "ltv": {"entries": _series("ltv", (0, 0.0), (15620.0, 0.0))},
}
for _body in METRICS.values():
    _body.setdefault("summary", {"current": 1, "previous": 1, "percentage-change": 0.0})
