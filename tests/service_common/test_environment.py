"""service_common/environment.py: NAME or NAME_FILE, and the two ways a setting is wrong, each named."""

from __future__ import annotations

from pathlib import Path

import pytest

from service_common.environment import (
    DatabaseLimits,
    InvalidSetting,
    MissingSetting,
    SettingError,
    env_choice,
    env_int,
    env_value,
)

NAME = "PARTSCAT_TEST_SETTING"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv(NAME, raising=False)
    monkeypatch.delenv(f"{NAME}_FILE", raising=False)
    return monkeypatch


def test_the_variable_wins_over_its_file_and_the_file_over_the_default(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-file\n", encoding="utf-8")
    assert env_value(NAME, "default") == "default"
    env.setenv(f"{NAME}_FILE", str(secret))
    assert env_value(NAME, "default") == "from-file"
    env.setenv(NAME, "from-env")
    assert env_value(NAME, "default") == "from-env"


def test_an_absent_required_value_is_missing(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingSetting, match=f"{NAME} \\(or {NAME}_FILE\\) must be set"):
        env_value(NAME)


def test_an_unreadable_file_is_missing_and_names_the_file(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv(f"{NAME}_FILE", str(tmp_path / "absent"))
    with pytest.raises(MissingSetting, match=f"{NAME}_FILE="):
        env_value(NAME)


@pytest.mark.parametrize("raw", ["abc", "-1", "1.5", " ", "0"])
def test_a_malformed_or_too_small_number_is_invalid_not_missing(env: pytest.MonkeyPatch, raw: str) -> None:
    env.setenv(NAME, raw)
    with pytest.raises(InvalidSetting, match=NAME) as caught:
        env_int(NAME, 5)
    assert not isinstance(caught.value, MissingSetting)
    assert isinstance(caught.value, SettingError)


def test_zero_is_accepted_where_the_caller_says_it_means_something(env: pytest.MonkeyPatch) -> None:
    env.setenv(NAME, "0")
    assert env_int(NAME, 5, low=0) == 0
    env.delenv(NAME)
    assert env_int(NAME, 5) == 5


def test_a_choice_is_case_insensitive_and_refuses_the_rest(env: pytest.MonkeyPatch) -> None:
    env.setenv(NAME, "OFF")
    assert env_choice(NAME, "on", ("on", "off")) == "off"
    env.setenv(NAME, "maybe")
    with pytest.raises(InvalidSetting, match=f"{NAME} must be one of on, off"):
        env_choice(NAME, "on", ("on", "off"))


def test_the_statement_timeout_is_one_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Django's libpq options and FastAPI's pool both take it from DatabaseLimits (DB_STATEMENT_TIMEOUT_MS)."""
    monkeypatch.delenv("DB_STATEMENT_TIMEOUT_MS", raising=False)
    monkeypatch.delenv("DB_STATEMENT_TIMEOUT_MS_FILE", raising=False)
    assert DatabaseLimits().statement_timeout_ms == 5000
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT_MS", "1234")
    assert DatabaseLimits().statement_timeout_ms == 1234
