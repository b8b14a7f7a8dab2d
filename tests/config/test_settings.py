"""Settings parsing without a server: Django's DATABASE_URL and Redis URLs (app/config/settings/base.py) and the
environment helpers both services read their configuration with (service_common/environment.py)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlsplit

import pytest

# The environment helpers, kept to this one import so a move or rename is a one-line change here.
from service_common.environment import MissingSetting, SettingError, env_choice, env_int, env_value


def _positive_int(name: str, default: str) -> int:
    return env_int(name, int(default))


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    return env_choice(name, default, allowed)


ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "app" / "config" / "settings" / "base.py"
# What base.py reads; each test starts without them (and without their _FILE variants).
READ_BY_BASE = (
    "DATABASE_URL",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_PASSWORD",
    "DB_STATEMENT_TIMEOUT_MS",
    "DB_CONNECT_TIMEOUT_SECONDS",
    "DB_CONCURRENCY",
    "DB_QUEUE_WAIT_MS",
    "JOBS_MAX_ATTEMPTS",
    "JOBS_HEARTBEAT_SECONDS",
    "JOBS_LEASE_SECONDS",
    "JOBS_IMPORT_MAX_BYTES",
    "SEARCH_CACHE",
    "SEARCH_CACHE_REDIS_HOST",
    "PARTSCAT_SERVICE",
    "PARTSCAT_RELEASE_TAG",
    "PARTSCAT_FAULT_ERROR_SHARE",
    "PARTSCAT_FAULT_DELAY_MS",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in READ_BY_BASE:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    return monkeypatch


@pytest.fixture
def settings_base(clean_env: pytest.MonkeyPatch) -> Iterator[Callable[..., ModuleType]]:
    """base.py executed afresh under the environment a test gives, as a process would read it at start."""
    before = set(sys.modules)
    # base.py imports `config` (app/config) as the services do: they run from app/.
    clean_env.syspath_prepend(str(ROOT / "app"))

    def load(**environ: str) -> ModuleType:
        for name, value in environ.items():
            clean_env.setenv(name, value)
        spec = importlib.util.spec_from_file_location("settings_base_under_test", BASE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    yield load
    for name in set(sys.modules) - before:
        if name == "config" or name.startswith("config."):
            del sys.modules[name]


URL = "postgres://partscat_app:s3cret@postgres:5432/partscat"


# --- database_from_url ---


def test_a_database_url_becomes_djangos_entry(settings_base: Callable[..., ModuleType]) -> None:
    base = settings_base(DATABASE_URL=URL)
    entry = base.DATABASES["default"]
    assert {key: entry[key] for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")} == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "partscat",
        "USER": "partscat_app",
        "PASSWORD": "s3cret",
        "HOST": "postgres",
        "PORT": "5432",
    }
    assert base.database_from_url(URL.replace("postgres://", "postgresql://", 1))["NAME"] == "partscat"


def test_percent_encoded_parts_are_decoded(settings_base: Callable[..., ModuleType]) -> None:
    # A generated password may hold any of URL syntax's own characters; deploy.sh percent-encodes it.
    password = "p@ss:w/rd?#%[]é"  # noqa: S105 (a made-up one)
    url = "postgres://user%40corp:p%40ss%3Aw%2Frd%3F%23%25%5B%5D%C3%A9@db.internal:6543/parts%20cat"
    entry = settings_base(DATABASE_URL=URL).database_from_url(url)
    assert (entry["USER"], entry["PASSWORD"], entry["NAME"]) == ("user@corp", password, "parts cat")
    assert (entry["HOST"], entry["PORT"]) == ("db.internal", "6543")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # libpq's defaults fill the gaps: the local socket, port 5432, the OS user, no password.
        ("postgres:///partscat", ("", "", "", "")),
        ("postgres://postgres/partscat", ("", "", "postgres", "")),
        ("postgres://app@postgres/partscat", ("app", "", "postgres", "")),
        ("postgres://app:@postgres:5432/partscat", ("app", "", "postgres", "5432")),
        ("postgres://app:pw@[::1]:5432/partscat", ("app", "pw", "::1", "5432")),
    ],
)
def test_missing_parts_are_left_empty(
    settings_base: Callable[..., ModuleType], url: str, expected: tuple[str, str, str, str]
) -> None:
    # (user, password, host, port)
    entry = settings_base(DATABASE_URL=URL).database_from_url(url)
    assert entry["NAME"] == "partscat"
    assert (entry["USER"], entry["PASSWORD"], entry["HOST"], entry["PORT"]) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "partscat",
        "mysql://app:pw@db:3306/partscat",
        "http://app:pw@db/partscat",
        "postgres://app:pw@db:5432",
        "postgres://app:pw@db:5432/",
    ],
)
def test_a_url_without_scheme_or_database_is_refused(settings_base: Callable[..., ModuleType], url: str) -> None:
    base = settings_base(DATABASE_URL=URL)
    with pytest.raises(SettingError, match="DATABASE_URL must look like postgres://"):
        base.database_from_url(url)


def test_the_connection_options_carry_the_shared_limits(settings_base: Callable[..., ModuleType]) -> None:
    options = settings_base(DATABASE_URL=URL, DB_STATEMENT_TIMEOUT_MS="1234", DB_CONNECT_TIMEOUT_SECONDS="7").DATABASES[
        "default"
    ]["OPTIONS"]
    assert options["options"] == "-c statement_timeout=1234"
    assert options["connect_timeout"] == 7
    assert options["keepalives"] == 1


def test_the_database_url_comes_from_its_secret_file(settings_base: Callable[..., ModuleType], tmp_path: Path) -> None:
    secret = tmp_path / "database_url"
    secret.write_text(URL + "\n")
    assert settings_base(DATABASE_URL_FILE=str(secret)).DATABASES["default"]["PASSWORD"] == "s3cret"  # noqa: S105 (URL's)


def test_without_a_database_url_the_settings_refuse_to_load(settings_base: Callable[..., ModuleType]) -> None:
    with pytest.raises(MissingSetting, match=r"DATABASE_URL \(or DATABASE_URL_FILE\) must be set"):
        settings_base()


# --- redis_url ---


def test_redis_urls_without_a_password(settings_base: Callable[..., ModuleType]) -> None:
    base = settings_base(DATABASE_URL=URL)
    assert base.redis_url(db=0) == "redis://127.0.0.1:6379/0"
    assert (base.CELERY_BROKER_URL, base.CELERY_RESULT_BACKEND) == (
        "redis://127.0.0.1:6379/0",
        "redis://127.0.0.1:6379/1",
    )


def test_a_redis_password_is_percent_encoded_and_reads_back_unchanged(
    settings_base: Callable[..., ModuleType], tmp_path: Path
) -> None:
    password = "p@ss:/w?#% rd"  # noqa: S105 (a made-up one)
    secret = tmp_path / "redis_password"
    secret.write_text(password + "\n")
    base = settings_base(DATABASE_URL=URL, REDIS_HOST="redis", REDIS_PORT="6380", REDIS_PASSWORD_FILE=str(secret))
    url = base.redis_url(db=1)
    assert url == "redis://:p%40ss%3A%2Fw%3F%23%25%20rd@redis:6380/1"
    parts = urlsplit(url)
    assert (unquote(parts.password or ""), parts.hostname, parts.port, parts.path) == (password, "redis", 6380, "/1")


# --- env_value, _positive_int, _choice (service_common/environment.py) ---


def test_a_value_wins_over_its_file(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-file")
    clean_env.setenv("REDIS_PASSWORD_FILE", str(secret))
    clean_env.setenv("REDIS_PASSWORD", "from-env")
    assert env_value("REDIS_PASSWORD") == "from-env"
    # An empty value counts as unset: the file is read.
    clean_env.setenv("REDIS_PASSWORD", "")
    assert env_value("REDIS_PASSWORD") == "from-file"


def test_a_secret_file_loses_its_surrounding_whitespace(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("  s3cret \n\n")
    clean_env.setenv("REDIS_PASSWORD_FILE", str(secret))
    assert env_value("REDIS_PASSWORD", "unused default") == "s3cret"


def test_an_unreadable_secret_file_names_the_variable_and_path(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "not-mounted"
    clean_env.setenv("REDIS_PASSWORD_FILE", str(missing))
    # Not the default: a secret that was meant to be mounted and is not is an error.
    with pytest.raises(MissingSetting, match=f"REDIS_PASSWORD_FILE={missing} cannot be read: No such file"):
        env_value("REDIS_PASSWORD", "")


def test_defaults_and_missing_values(clean_env: pytest.MonkeyPatch) -> None:
    assert env_value("REDIS_HOST", "127.0.0.1") == "127.0.0.1"
    assert env_value("REDIS_PASSWORD", "") == ""
    with pytest.raises(MissingSetting, match=r"^DATABASE_URL \(or DATABASE_URL_FILE\) must be set$"):
        env_value("DATABASE_URL")


def test_positive_int_takes_whole_numbers_from_1(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert _positive_int("DB_CONCURRENCY", "2") == 2
    clean_env.setenv("DB_CONCURRENCY", "1")
    assert _positive_int("DB_CONCURRENCY", "2") == 1
    secret = tmp_path / "concurrency"
    secret.write_text("12\n")
    clean_env.delenv("DB_CONCURRENCY")
    clean_env.setenv("DB_CONCURRENCY_FILE", str(secret))
    assert _positive_int("DB_CONCURRENCY", "2") == 12


@pytest.mark.parametrize("raw", ["0", "-1", "1.5", "1e3", "four", "0x10", "²"])
def test_positive_int_refuses_anything_else_naming_the_variable(clean_env: pytest.MonkeyPatch, raw: str) -> None:
    clean_env.setenv("DB_CONCURRENCY", raw)
    with pytest.raises(SettingError, match=f"DB_CONCURRENCY must be a whole number of at least 1, not {raw!r}"):
        _positive_int("DB_CONCURRENCY", "2")


def test_an_empty_value_means_the_default(clean_env: pytest.MonkeyPatch) -> None:
    # Swarm and compose files often set a variable to nothing to mean "not set".
    clean_env.setenv("DB_CONCURRENCY", "")
    assert _positive_int("DB_CONCURRENCY", "2") == 2


def test_choice_folds_case_and_space_and_refuses_the_rest(clean_env: pytest.MonkeyPatch) -> None:
    assert _choice("SEARCH_CACHE", "on", ("on", "off")) == "on"
    clean_env.setenv("SEARCH_CACHE", " OFF ")
    assert _choice("SEARCH_CACHE", "on", ("on", "off")) == "off"
    clean_env.setenv("SEARCH_CACHE", "disabled")
    with pytest.raises(SettingError, match="SEARCH_CACHE must be one of on, off, not 'disabled'"):
        _choice("SEARCH_CACHE", "on", ("on", "off"))
