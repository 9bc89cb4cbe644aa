"""The TOML configuration file: its keys, its precedence, and the errors it gives."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

import charter.settings as settings_module
from charter.cli.local import local_settings
from charter.cli.main import app
from charter.errors import InvalidInput
from charter.reviews.campaigns import PastRecertification
from charter.settings import SETTINGS, Settings, read_env
from charter.settings_file import read_config_file

runner = CliRunner()

FULL = """\
# Every kind of value, flat and in tables.
data_dir = "data"
database_url = "sqlite:///elsewhere.db"
port = 9443
max_body_bytes = 2048
checkpoint_interval = "5m"
replay_retention = 0
webhook_allow_private_targets = true
ssl_certfile = "/etc/charter/cert.pem"

[posture]
dormant_after = "45d"
rubber_stamp_min_votes = 3

[recertify]
overdue = "suspend"

[agent]
token_max_ttl = "12h"
"""


def _write(tmp_path: Path, text: str, name: str = "charter.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(InvalidInput) as caught:
        read_config_file(path)
    assert caught.value.code in ("invalid_setting", "invalid_duration")
    return caught.value.message


def test_a_file_sets_every_kind_of_value(tmp_path: Path) -> None:
    path = _write(tmp_path, FULL)
    settings = Settings.layered(read_config_file(path))
    assert settings.data_dir == tmp_path / "data"  # relative to the file
    assert settings.database_url == "sqlite:///elsewhere.db"
    assert settings.port == 9443
    assert settings.max_body_bytes == 2048
    assert settings.checkpoint_interval == timedelta(minutes=5)
    assert settings.replay_retention == timedelta(0)
    assert settings.webhook_allow_private_targets is True
    assert settings.ssl_certfile == Path("/etc/charter/cert.pem")
    assert settings.posture.dormant_after == timedelta(days=45)
    assert settings.posture.rubber_stamp_min_votes == 3
    assert settings.posture.window == timedelta(days=30)  # the rest keep their defaults
    assert settings.reviews.past_recertification is PastRecertification.SUSPEND
    assert settings.token_lifetimes.agent_max == timedelta(hours=12)
    assert settings.token_lifetimes.agent_default == timedelta(hours=12)  # lowered to the cap


def test_flat_and_table_spellings_are_the_same_setting(tmp_path: Path) -> None:
    flat = _write(tmp_path, 'posture_window = "7d"\n', "flat.toml")
    table = _write(tmp_path, '[posture]\nwindow = "7d"\n', "table.toml")
    dotted = _write(tmp_path, 'posture.window = "7d"\n', "dotted.toml")
    assert read_config_file(flat) == read_config_file(table) == read_config_file(dotted)
    both = _write(tmp_path, 'posture_window = "7d"\n[posture]\nwindow = "8d"\n', "both.toml")
    assert "again" in _error(both)


def test_every_setting_has_a_key_and_the_file_reads_them_all(tmp_path: Path) -> None:
    """The loader knows no setting by name: each row of the table is a key of the file."""
    keys = [setting.key for setting in SETTINGS]
    assert len(keys) == len(set(keys))
    documented = set(re.findall(r"``(CHARTER_[A-Z_]+)``", settings_module.__doc__ or ""))
    assert {setting.env for setting in SETTINGS} == documented
    samples = {str: '"1d"', int: "2048", bool: "false"}
    choices = {
        "metrics": '"public"',
        "metrics_token": '"' + "t" * 32 + '"',
        "tracing": '"off"',
        "log_format": '"json"',
    }
    lines = []
    for setting in SETTINGS:
        value = samples[setting.toml[0]]
        if setting.key in choices:
            value = choices[setting.key]
        elif setting.key.endswith("overdue"):
            value = '"warn"' if "recertify" in setting.key else '"keep"'
        elif setting.target in ("data_dir", "database_url", "host") or "ssl" in setting.key:
            value = '"x"'
        elif setting.key == "signing_key":
            value = '"key.pem"'
        lines.append(f"{setting.key} = {value}")
    values = read_config_file(_write(tmp_path, "\n".join(lines) + "\n"))
    assert set(values) == {setting.target for setting in SETTINGS}
    Settings.layered(values)


def test_precedence_options_then_environment_then_file_then_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, 'host = "0.0.0.0"\nport = 9000\nstore_timeout = "9s"\n')
    env = {"CHARTER_PORT": "9100", "CHARTER_STORE_TIMEOUT": "7s"}
    settings = Settings.layered(read_config_file(path), read_env(env), port=9200)
    assert settings.port == 9200  # the option
    assert settings.store_timeout == timedelta(seconds=7)  # the environment
    assert settings.host == "0.0.0.0"  # the file
    assert settings.inference_max_age == timedelta(hours=1)  # the default
    assert Settings.layered(read_config_file(path), read_env(env)).port == 9100


def test_local_commands_layer_the_file_under_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, 'data_dir = "from-file"\nrecertify_after = "10d"\n')
    monkeypatch.setenv("CHARTER_RECERTIFY_AFTER", "20d")
    settings = local_settings(None, None, config=path)
    assert settings.data_dir == tmp_path / "from-file"
    assert settings.recertify_after == timedelta(days=20)
    assert local_settings(tmp_path / "flag", None, config=path).data_dir == tmp_path / "flag"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'port = 80\ndormant_after = "1d"\n',
            r":2: dormant_after: unknown setting 'dormant_after'",
        ),
        (
            'data_dri = "x"\n',
            r":1: data_dri: unknown setting 'data_dri' \(did you mean 'data_dir'\?\)",
        ),
        ('\n[posture]\nwindow = "30 days"\n', r":3: posture.window: invalid duration '30 days'"),
        ("port = '8080'\n", r":1: port: must be an integer, not a string"),
        ("port = 0\n", r":1: port: must be at least 1"),
        ("webhook_allow_private_targets = 1\n", r":1: webhook_allow_private_targets: must be true"),
        ("store_timeout = 5\n", r":1: store_timeout: must be a string, not an integer"),
        ("port = 8080.0\n", r"port: must be an integer, not a float"),
        ('replay_retention = "500d"\n', r"replay_retention: must be at most 400d"),
        ('[review]\noverdue = "later"\n', r":2: review.overdue: must be one of keep"),
        ("[posture.deeper]\nwindow = '1d'\n", r"tables nest one level only"),
        ("port = \n", r"not valid TOML: .*line 1"),
    ],
)
def test_a_wrong_file_is_refused_naming_line_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    message = _error(path)
    assert message.startswith(str(path))
    assert re.search(expected, message), message


def test_a_secret_in_the_file_is_never_echoed(tmp_path: Path) -> None:
    secret = "s3cr3t-pa55word"
    path = _write(
        tmp_path,
        f'database_url = "postgresql+psycopg://charter:{secret}@127.0.0.1:1/charter"\n'
        "database_url_typo = 1\n",
    )
    assert secret not in _error(path)
    # Wrong type for the secret itself: the key is named, the value is not.
    typed = _write(tmp_path, f'database_url = ["{secret}"]\n', "typed.toml")
    message = _error(typed)
    assert "database_url: must be a string, not an array" in message
    assert secret not in message


def test_cli_refuses_a_bad_file_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, 'data_dir = "d"\n[posture]\ndormant_after = "soon"\n')
    result = runner.invoke(app, ["init", "--config", str(path)])
    assert result.exit_code == 1
    assert f"{path}:3: posture.dormant_after: invalid duration 'soon'" in result.stderr
    assert "[invalid_duration]" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "d").exists()
    missing = runner.invoke(app, ["serve", "--config", str(tmp_path / "absent.toml")])
    assert missing.exit_code == 1
    assert "cannot read the configuration file" in missing.stderr


def test_init_reads_the_file_named_by_charter_config(tmp_path: Path) -> None:
    secret = "hunter2-db-password"
    path = _write(tmp_path, 'data_dir = "store"\nhuman_token_max_ttl = "2d"\n')
    result = runner.invoke(app, ["init", "--json"], env={"CHARTER_CONFIG": str(path)})
    assert result.exit_code == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["data_dir"] == str(tmp_path / "store")
    assert (tmp_path / "store" / "audit-signing.key").exists()
    # The token lifetime cap from the file applied: the first admin's token lives 2 days.
    assert created["expires_at"]
    # A password in the file's URL is hidden when init prints the store.
    url = f"sqlite:///{tmp_path / 'other.db'}"
    other = _write(tmp_path, f'data_dir = "other"\ndatabase_url = "{url}"\n', "other.toml")
    shown = runner.invoke(app, ["init", "--config", str(other)])
    assert shown.exit_code == 0, shown.stderr
    assert secret not in shown.stdout
    bad = _write(
        tmp_path,
        f'data_dir = "third"\ndatabase_url = "mysql://u:{secret}@127.0.0.1/x"\n',
        "bad.toml",
    )
    refused = runner.invoke(app, ["init", "--config", str(bad)])
    assert refused.exit_code == 1
    assert secret not in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr


def test_the_documented_example_is_a_valid_file(tmp_path: Path) -> None:
    doc = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    settings = Settings.layered(read_config_file(_write(tmp_path, example)))
    assert settings.posture.dormant_after == timedelta(days=30)
    assert settings.ssl_keyfile == Path("/etc/charter/tls/key.pem")
    assert settings.replay_retention == timedelta(days=90)
