"""The dbt project's generated files and the tools bootstrap installs for it.

The staging models are generated from the tap's schemas by ``scripts/update_models.py``, so
a schema change without a regeneration fails here, in the quick loop, not in a dbt build.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml

from tap_chartmogul.tap import STREAM_TYPES

ROOT = Path(__file__).resolve().parents[1]
STAGING = ROOT / "transform" / "models" / "staging"


def update_models():
    spec = importlib.util.spec_from_file_location(
        "update_models", ROOT / "scripts" / "update_models.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_staging_models_are_generated_from_the_current_schemas():
    files = update_models().generated()
    on_disk = {path for path in STAGING.iterdir() if path.is_file()}
    assert set(files) == on_disk, "run .venv/bin/python scripts/update_models.py"
    for path, text in files.items():
        assert path.read_text() == text, f"{path.name}: run scripts/update_models.py"


def test_every_stream_has_a_staging_model_with_every_column_typed_and_described():
    models = yaml.safe_load((STAGING / "_stg_chartmogul__models.yml").read_text())["models"]
    by_name = {model["name"]: model for model in models}
    for stream in STREAM_TYPES:
        model = by_name[f"stg_chartmogul__{stream.name}"]
        columns = [column["name"] for column in model["columns"]]
        sql = (STAGING / f"stg_chartmogul__{stream.name}.sql").read_text()
        assert re.findall(r' as "([a-z0-9_]+)"', sql) == columns, stream.name
        assert all(column["description"].strip() for column in model["columns"]), stream.name
        keyed = [c["name"] for c in model["columns"] if "not_null" in c.get("data_tests", [])]
        assert set(stream.primary_keys) <= set(keyed), stream.name
