"""A user's first day, in one checkout: every command after the one before, state kept.

The quick start, then the README's Meltano commands as written (this is their test), then
``meltano run`` once more, then ``.env.example`` copied to ``.env`` for ``tap-chartmogul
--config ENV`` and Meltano. Each other command alone is tested elsewhere; here they share
one checkout (its ``.meltano/``, ``.env`` and ``output/``) as they do for a user, so a command
that leaves something behind for the next shows. The second Meltano run must start from its
own first run's state: a bookmark left by anything else (a test, the quick start) would make
it skip history silently.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest

from fake_chartmogul import FakeAccount, FakeChartMogul
from tests.checkout import make_checkout
from tests.helpers import API_KEY, UNTHROTTLED
from tests.test_readme import MELTANO, blocks, meltano_env, run

if TYPE_CHECKING:
    import subprocess
    from pathlib import Path

pytestmark = pytest.mark.slow

STATE_ID = "dev:tap-chartmogul-to-target-jsonl"
BOOKMARK = re.compile(r"Starting incremental sync of 'activities' with bookmark value: ([^\s(]+)")


def readme_meltano_block(checkout: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The README's Meltano commands as written; its ``meltano run`` is returned, unchecked."""
    *setup, first_run = [line.replace("<your key>", API_KEY) for line in blocks()["meltano"]]
    assert setup[0] == "meltano install"
    assert first_run == "meltano run tap-chartmogul target-jsonl"
    for line in setup:
        result = run(line, checkout, env, timeout=600)
        assert result.returncode == 0, f"{line}\n{result.stderr[-2000:]}"
        assert API_KEY not in result.stdout + result.stderr
        if line.startswith("meltano config test"):
            assert "plugin configuration is valid" in (result.stdout + result.stderr).lower()
    assert f"TAP_CHARTMOGUL_API_KEY='{API_KEY}'" in (checkout / ".env").read_text()
    assert API_KEY not in (checkout / "meltano.yml").read_text()
    return run(first_run, checkout, env, timeout=600)


def test_a_first_day_in_one_checkout(tmp_path):
    assert MELTANO.exists(), "Meltano is missing: run `bash scripts/bootstrap.sh meltano`"
    checkout = make_checkout(tmp_path / "checkout")
    account = FakeAccount(customers=60, seed=23)
    quick = run("bash scripts/quickstart.sh", checkout, meltano_env(FAKE_CUSTOMERS="60"))
    assert quick.returncode == 0, quick.stderr[-3000:]
    assert (checkout / "output" / "chartmogul.duckdb").exists()

    with FakeChartMogul(account, api_key=API_KEY) as fake:
        env = meltano_env(
            TAP_CHARTMOGUL_API_URL=fake.base_url,
            TAP_CHARTMOGUL_REQUESTS_PER_SECOND=str(UNTHROTTLED["requests_per_second"]),
        )
        first = readme_meltano_block(checkout, env)
        assert first.returncode == 0, first.stderr[-3000:]
        found = BOOKMARK.search(first.stderr)
        assert found is not None, first.stderr[-3000:]
        assert found.group(1) == "None", found.group(0)  # a first run: no bookmark from anywhere
        output = checkout / "output" / "meltano"  # target-jsonl's destination_path, meltano.yml
        written = {path.stem for path in output.glob("*.jsonl")}
        assert {"customers", "customer_subscriptions", "activities"} <= written
        assert not any(name.startswith("metrics") for name in written), written  # --exclude
        assert len((output / "customers.jsonl").read_text().splitlines()) == len(account.customers)
        activities = (output / "activities.jsonl").read_text().splitlines()
        assert len(activities) == len(account.activities)
        state = run(f"meltano state get {STATE_ID}", checkout, env)
        assert state.returncode == 0, state.stderr[-2000:]
        stored = json.loads(state.stdout)["singer_state"]["bookmarks"]["activities"]
        fake.reset_log()

        second = run("meltano run tap-chartmogul target-jsonl", checkout, env, timeout=600)
        assert second.returncode == 0, second.stderr[-3000:]
        found = BOOKMARK.search(second.stderr)
        assert found is not None, second.stderr[-3000:]
        assert found.group(1) == stored["replication_key_value"]
        starts = {r.query.get("start-date") for r in fake.requests if r.path == "/v1/activities"}
        assert len(starts) == 1
        assert next(iter(starts)) < stored["replication_key_value"]  # minus the lookback

        # .env.example, copied over Meltano's .env and filled in, serves both readers.
        text = (checkout / ".env.example").read_text()
        text = text.replace("TAP_CHARTMOGUL_API_KEY=\n", f"TAP_CHARTMOGUL_API_KEY={API_KEY}\n")
        (checkout / ".env").write_text(text)
        tap = run("tap-chartmogul --config ENV --test", checkout, env)
        assert tap.returncode == 0, tap.stderr[-2000:]
        warned = [w for w in tap.stderr.splitlines() if "WARNING" in w]
        assert [w for w in warned if "requests_per_second=5000" not in w] == []  # ours, unthrottled
        meltano = run("meltano config test tap-chartmogul", checkout, env)
        assert meltano.returncode == 0, meltano.stdout[-2000:] + meltano.stderr[-2000:]
    assert API_KEY not in quick.stdout + quick.stderr + first.stderr + second.stderr
