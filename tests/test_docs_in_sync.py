"""The docs describe the code: settings in --about, meltano.yml, .env.example and README
agree, the README's streams table matches discovery, every schema column is described and
docs/data-dictionary.md lists them as generated, and CI runs the README's test command."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import yaml

from tap_chartmogul.tap import SETTINGS, STREAM_TYPES, TapChartMogul
from tests.cli import run_cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
OWN_SETTINGS = list(SETTINGS.to_dict()["properties"])
SCHEMA_FILES = sorted((ROOT / "tap_chartmogul" / "schemas").glob("*.json"))
DATA_DICTIONARY = ROOT / "docs" / "data-dictionary.md"
#: Ways to nest a schema that the walk below does not follow; none may appear.
UNWALKED = ("anyOf", "oneOf", "allOf", "not", "patternProperties", "prefixItems", "$ref")


def about() -> dict:
    result = run_cli(["--about", "--format=json"])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def meltano_extractor() -> dict:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    return next(e for e in project["plugins"]["extractors"] if e["name"] == "tap-chartmogul")


def test_meltano_settings_match_about():
    properties = about()["settings"]["properties"]
    settings = {s["name"]: s for s in meltano_extractor()["settings"]}
    assert list(settings) == OWN_SETTINGS
    for name, setting in settings.items():
        prop = properties[name]
        assert setting.get("sensitive", False) == prop.get("secret", False), name
        assert setting["description"] == prop["description"], name
        if "default" in prop:
            assert setting.get("value") == prop["default"], name


def test_meltano_capabilities_match_about():
    declared = set(meltano_extractor()["capabilities"])
    advertised = set(about()["capabilities"])
    assert declared <= advertised
    assert {"catalog", "discover", "state", "about", "stream-maps", "schema-flattening"} <= declared


def test_env_example_lists_every_setting():
    text = (ROOT / ".env.example").read_text()
    names = re.findall(r"^(?:# )?TAP_CHARTMOGUL_([A-Z_]+)=", text, flags=re.MULTILINE)
    assert [n.lower() for n in names] == OWN_SETTINGS
    # Only the key is set (to be filled in): every other line is "not set" for every reader.
    assert re.findall(r"^TAP_CHARTMOGUL_([A-Z_]+)=", text, flags=re.MULTILINE) == ["API_KEY"]


def test_readme_settings_table_matches_about():
    result = run_cli(["--about", "--format=markdown"])
    assert result.returncode == 0, result.stderr
    markdown = result.stdout
    rows = [
        line
        for line in markdown.splitlines()
        if line.startswith("| ") and line.split("|")[1].strip() in OWN_SETTINGS
    ]
    assert len(rows) == len(OWN_SETTINGS)
    for row in rows:
        assert row in README, f"README settings table is out of date: {row}"


def test_readme_streams_table_matches_discovery():
    tap = TapChartMogul(config={"api_key": "x"}, parse_env_config=False, validate_config=False)
    for name, stream in tap.streams.items():
        keys = ", ".join(f"`{k}`" for k in stream.primary_keys)
        replication = (
            f"incremental on `{stream.replication_key}`" if stream.replication_key else "full table"
        )
        pattern = rf"^\| `{name}` \| [^|]+ \| {re.escape(keys)} \| {re.escape(replication)}"
        assert re.search(pattern, README, flags=re.MULTILINE), f"README streams table: {name}"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in README
    assert "bash scripts/quickstart.sh" in README
    assert "bash scripts/test.sh" in ci


def columns(node: dict, path: str = ""):
    """(dotted path, schema) of every property and array element below ``node``."""
    assert not set(UNWALKED) & set(node), path
    assert isinstance(node.get("additionalProperties", True), bool), path
    for name, prop in node.get("properties", {}).items():
        yield f"{path}{name}", prop
        yield from columns(prop, f"{path}{name}.")
    if isinstance(node.get("items"), dict):
        yield f"{path.rstrip('.')}[]", node["items"]
        yield from columns(node["items"], f"{path.rstrip('.')}[].")


def load_update_docs():
    spec = importlib.util.spec_from_file_location(
        "update_docs", ROOT / "scripts" / "update_docs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_schema_column_has_a_description():
    assert [path.stem for path in SCHEMA_FILES] == sorted(s.name for s in STREAM_TYPES)
    walked = {}
    undescribed = []
    for path in SCHEMA_FILES:
        for column, prop in columns(json.loads(path.read_text())):
            walked[f"{path.stem}:{column}"] = prop
            description = prop.get("description")
            if not isinstance(description, str) or not description.strip():
                undescribed.append(f"{path.stem}:{column}")
    # The walk reaches nested objects, arrays and the properties of array elements.
    assert {
        "customers:address.country",
        "customers:attributes.tags[]",
        "data_sources:invoice_handling_setting.manual.create_subscription_when_invoice_is",
        "invoices:line_items[].amount_in_cents",
    } <= set(walked)
    assert undescribed == [], f"schema columns without a description: {undescribed}"


def test_data_dictionary_is_generated_from_the_code():
    expected = load_update_docs().data_dictionary()
    assert DATA_DICTIONARY.read_text() == expected, "run: .venv/bin/python scripts/update_docs.py"


def test_data_dictionary_lists_every_column_of_every_stream():
    sections = DATA_DICTIONARY.read_text().split("\n## `")[1:]
    listed = {}
    for section in sections:
        name, _, body = section.partition("`")
        listed[name] = re.findall(r"^\| `([^`]+)` \|", body, flags=re.MULTILINE)
    expected = {
        path.stem: [column for column, _ in columns(json.loads(path.read_text()))]
        for path in SCHEMA_FILES
    }
    assert listed == expected


def test_meltano_hub_definition_is_generated_from_the_code():
    """meltano-hub.yml is what the generator writes now, and agrees with meltano.yml."""
    text = (ROOT / "meltano-hub.yml").read_text()
    assert text == load_update_docs().hub_definition()
    hub = yaml.safe_load(text)
    extractor = meltano_extractor()
    assert [s["name"] for s in hub["settings"]] == OWN_SETTINGS
    assert hub["settings"] == extractor["settings"]
    assert set(extractor["capabilities"]) <= set(hub["capabilities"])
    assert {"name", "variant", "namespace", "pip_url", "repo", "capabilities"} <= set(hub)
    assert next(s for s in hub["settings"] if s["name"] == "api_key").get("sensitive") is True


def test_meltano_yml_requires_meltano_4_4():
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    assert project["requires_meltano"] == ">=4.4,<5"


def test_readme_lists_the_measured_targets_with_what_loses_data():
    """The targets a user will try, with the verdicts measured (tap-chartmogul issue 15)."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Targets", 1)[1].split("\n## ", 1)[0]
    rows = {
        re.search(r"`([\w-]+)`", line).group(1): line  # type: ignore[union-attr]
        for line in table.splitlines()
        if line.startswith("| `")
    }
    assert set(rows) >= {
        "target-jsonl",
        "meltanolabs-target-postgres",
        "meltanolabs-target-csv",
        "target-duckdb",
        "target-csv",
        "target-sqlite",
    }
    assert "loses data" in rows["target-duckdb"]
    assert "crashes" in rows["target-csv"]
    assert "crashes" in rows["target-sqlite"]


def test_readme_layout_matches_the_tree():
    """Every module of the package is in the README's layout, and every entry exists."""
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("Layout (", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    listed: set[str] = set()
    parents: list[str] = []  # the folder of each depth above the current line
    for line in layout.splitlines():
        name = line.split()[0]
        depth = (len(line) - len(line.lstrip())) // 2
        parents = parents[:depth]
        path = "".join(parents) + name
        if name.endswith("/"):
            parents.append(name)
        listed.add(path.rstrip("/"))
        assert (ROOT / path).exists(), f"the README's layout lists {path}, which does not exist"
    package = ROOT / "tap_chartmogul"
    modules = {
        str(path.relative_to(ROOT))
        for path in package.rglob("*.py")
        if path.name not in {"__init__.py", "__main__.py"} and "schemas" not in path.parts
    }
    assert modules <= listed, f"missing from the README's layout: {sorted(modules - listed)}"
