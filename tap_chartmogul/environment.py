"""Settings from ``TAP_CHARTMOGUL_*`` variables and a ``.env`` file (``--config ENV``).

The SDK's own reader (``singer_sdk.configuration._dict_config.parse_environment_config``)
has three habits a user pays for, so the tap reads the environment itself and hands the
SDK a plain dict:

- it loads the first ``.env`` found walking up from *the SDK's install directory*, not
  the current one, and lets it override variables already exported: with the virtualenv
  inside a checkout, a key that ``meltano config set`` wrote there beat the one a script
  exported;
- ``int("abc")`` and ``json.loads("")`` end in tracebacks, and an empty value (as a
  copied ``.env.example`` has) is a parse error rather than "not set";
- any boolean spelling it does not know (``yes-please``) silently becomes false.

Here: ``.env`` is read from the current directory only, exported variables win over it
(as Meltano and docker compose do), an empty value means "not set", and a value that
cannot be parsed is one line naming the setting, the variable and the expected form.
"""

from __future__ import annotations

import json
import os
import typing as t
from pathlib import Path

from dotenv import dotenv_values

from tap_chartmogul.errors import SettingsError

if t.TYPE_CHECKING:
    from collections.abc import Mapping

PREFIX = "TAP_CHARTMOGUL_"
#: Variables with the tap's prefix that are not settings: the SDK's log level, and
#: Meltano's extras (``TAP_CHARTMOGUL__SELECT``, ``__STATE``... with a double underscore).
NOT_SETTINGS = frozenset({"LOGLEVEL", "LOG_LEVEL"})
TRUE_WORDS = frozenset({"true", "1", "yes", "on", "y", "t"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", "n", "f"})
#: How each JSON type is described in an error, with an example of the expected form.
EXPECTED = {
    "integer": "a whole number such as 38",
    "boolean": "true or false (also 1/0, yes/no, on/off)",
    "array": "a JSON list",
    "object": "a JSON object",
}


def json_types(prop: Mapping[str, t.Any]) -> set[str]:
    """The JSON types a setting's schema allows (``type`` or the branches of ``anyOf``)."""
    declared = prop.get("type")
    types = {declared} if isinstance(declared, str) else set(declared or ())
    for branch in prop.get("anyOf") or ():
        if isinstance(branch, dict):
            types |= json_types(branch)
    return types - {"null"}


def variable_name(setting: str) -> str:
    """The environment variable that holds ``setting``."""
    return PREFIX + setting.upper().replace("-", "_")


def setting_name(variable: str) -> str:
    """The setting a ``TAP_CHARTMOGUL_*`` variable would hold."""
    return variable.removeprefix(PREFIX).lower()


def dotenv_file(directory: Path | None = None) -> dict[str, str]:
    """The ``KEY=value`` pairs of ``.env`` in ``directory`` (the current one by default).

    Parsed with python-dotenv (quotes, ``export``, comments); a line without ``=`` has no
    value and is left out. No ``.env`` file means no values.
    """
    path = (directory or Path.cwd()) / ".env"
    if not path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def tap_variables(
    *,
    read_dotenv: bool,
    environ: Mapping[str, str] | None = None,
    directory: Path | None = None,
) -> dict[str, str]:
    """Every ``TAP_CHARTMOGUL_*`` variable of the environment and (if read) ``.env``.

    Exported variables win over ``.env``.
    """
    dotenv = dotenv_file(directory) if read_dotenv else {}
    merged = {**dotenv, **(os.environ if environ is None else environ)}
    return {name: value for name, value in merged.items() if name.startswith(PREFIX)}


def parse_text(setting: str, prop: Mapping[str, t.Any], raw: str) -> t.Any:
    """``raw`` as the value ``prop`` describes; ValueError names what was expected."""
    types = json_types(prop)
    text = raw.strip()
    if "string" in types or not types:
        return raw
    if "integer" in types:
        try:
            return int(text)
        except ValueError:
            raise ValueError(EXPECTED["integer"]) from None
    if "boolean" in types:
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise ValueError(EXPECTED["boolean"])
    kind = "array" if "array" in types else "object"
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    wanted = list if kind == "array" else dict
    if not isinstance(value, wanted):
        msg = f"{EXPECTED[kind]}{_example(setting, kind)}"
        raise ValueError(msg)  # noqa: TRY004 - a value error of the variable's text
    return value


def _example(setting: str, kind: str) -> str:
    if setting == "metrics_segments":
        return ' such as [{"name": "europe", "geo": "DE,FR"}]'
    return ' such as {"key": "value"}' if kind == "object" else " such as []"


def environment_settings(
    schema: Mapping[str, t.Any], variables: Mapping[str, str]
) -> dict[str, t.Any]:
    """The settings ``variables`` hold, parsed as ``schema`` says; empty values are unset.

    Raises:
        SettingsError: one line per variable whose value cannot be parsed; the value is
            quoted except for secrets.
    """
    settings: dict[str, t.Any] = {}
    problems: list[str] = []
    for setting, prop in (schema.get("properties") or {}).items():
        raw = variables.get(variable_name(setting))
        if raw is None or not raw.strip():
            continue
        try:
            settings[setting] = parse_text(setting, prop, raw)
        except ValueError as error:
            shown = "" if prop.get("secret") or setting == "api_key" else f", got {raw!r:.80}"
            problems.append(
                f"Setting {setting!r} (from {variable_name(setting)}) must be {error}{shown}"
            )
    if problems:
        raise SettingsError(problems)
    return settings


def text_values_parsed(
    config: Mapping[str, t.Any], schema: Mapping[str, t.Any]
) -> dict[str, t.Any]:
    """``config`` with text given for a number, boolean, list or object parsed as the env is.

    Meltano passes a value from ``.env`` or ``meltano config set`` as the text the user
    wrote (``meltano.yml`` declares every setting ``kind: string``, so that Meltano's own
    parsing, which ends a bad number in a traceback and reads an unknown boolean spelling
    as false, never runs), and a hand-written config file may say ``"max_retries": "5"``.

    Raises:
        SettingsError: one line per value that cannot be parsed.
    """
    parsed = dict(config)
    problems: list[str] = []
    for setting, prop in (schema.get("properties") or {}).items():
        raw = config.get(setting)
        if not isinstance(raw, str) or "string" in json_types(prop) or not json_types(prop):
            continue
        try:
            parsed[setting] = parse_text(setting, prop, raw)
        except ValueError as error:
            problems.append(f"Setting {setting!r} must be {error}, got {raw!r:.80}")
    if problems:
        raise SettingsError(problems)
    return parsed


def unknown_variables(schema: Mapping[str, t.Any], variables: t.Iterable[str]) -> list[str]:
    """Names of ``TAP_CHARTMOGUL_*`` variables that hold no setting the tap knows."""
    properties = schema.get("properties") or {}
    known = {variable_name(name) for name in properties}
    objects = [
        variable_name(name) for name, prop in properties.items() if "object" in json_types(prop)
    ]
    unknown = []
    for name in variables:
        rest = name.removeprefix(PREFIX)
        if name in known or rest in NOT_SETTINGS or rest.startswith("_"):
            continue
        # Meltano may also export the parts of an object setting (``..._BATCH_CONFIG_...``).
        if any(name.startswith(f"{parent}_") for parent in objects):
            continue
        unknown.append(name)
    return sorted(unknown)


def source_of(setting: str, directory: Path | None = None) -> str | None:
    """Where ``--config ENV`` would take ``setting`` from: the environment, ``.env``, or None.

    The quick start decides with this whether to sync an account or the bundled fake, so
    the decision and the key the tap then uses come from the same place.
    """
    name = variable_name(setting)
    if os.environ.get(name, "").strip():
        return "the environment"
    if dotenv_file(directory).get(name, "").strip():
        return ".env"
    return None
