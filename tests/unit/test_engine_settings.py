"""Database URLs, settings from the environment, and SQLite connection pragmas."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from agentfold_core.db.engine import create_database, databases_from_settings, parse_database_url
from agentfold_core.errors import ConfigurationError
from agentfold_core.settings import DEFAULT_MANAGE_URL, DEFAULT_RUNTIME_URL, DatabaseSettings

SECRET = "s3cr3t-pw"  # noqa: S105 - a made-up password the tests prove is never shown
ENV_VARS = ("AGENTFOLD_MANAGE_DATABASE_URL", "AGENTFOLD_RUNTIME_DATABASE_URL")


def _everything_said(error: BaseException) -> str:
    """The error as anyone could see it: message, context, and the printed traceback."""
    context = getattr(error, "context", {})
    return "\n".join([str(error), repr(error), repr(context), *traceback.format_exception(error)])


@pytest.mark.parametrize(
    "url",
    [
        f"mysql+aiomysql://user:{SECRET}@db.example.com/app",
        f"postgresql://user:{SECRET}@db.example.com/app",
        f"postgresql+asyncpg://user:{SECRET}@db.example.com/app",
        f"postgresql+psycopg2://user:{SECRET}@db.example.com/app",
        "sqlite:///./app.db",
        "sqlite+pysqlite:///./app.db",
    ],
)
def test_unsupported_schemes_are_rejected_without_leaking_the_password(url: str) -> None:
    with pytest.raises(ConfigurationError, match="unsupported database URL scheme") as info:
        parse_database_url(url)
    assert SECRET not in _everything_said(info.value)
    assert "sqlite+aiosqlite://" in info.value.message
    assert "postgresql+psycopg://" in info.value.message


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        f"://user:{SECRET}@db.example.com/app",
        f"postgresql+psycopg://user:{SECRET}@db.example.com:notaport/app",
        f"postgresql+psycopg://user:{SECRET}@[::1/app",
        f"postgresql+psycopg://user:{SECRET}@db.example.com",
        f"postgresql+psycopg://user:{SECRET}@db.example.com/",
    ],
)
def test_malformed_urls_are_rejected_without_leaking_the_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_database_url(url)
    assert SECRET not in _everything_said(info.value)
    assert info.value.code == "configuration_error"


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite+aiosqlite:///./data/manage.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite"),
        (f"postgresql+psycopg://user:{SECRET}@localhost:5432/agentfold", "postgresql+psycopg"),
    ],
)
def test_supported_urls_parse(url: str, driver: str) -> None:
    parsed = parse_database_url(url)
    assert parsed.drivername == driver
    assert SECRET not in repr(parsed)


def test_settings_default_to_embedded_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    settings = DatabaseSettings()
    assert settings.manage_database_url == DEFAULT_MANAGE_URL
    assert settings.runtime_database_url == DEFAULT_RUNTIME_URL
    assert DEFAULT_MANAGE_URL == "sqlite+aiosqlite:///./.agentfold/manage.db"
    assert DEFAULT_RUNTIME_URL == "sqlite+aiosqlite:///./.agentfold/runtime.db"


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    manage = "postgresql+psycopg://app@db.example.com/manage"
    runtime = "postgresql+psycopg://app@db.example.com/runtime"
    monkeypatch.setenv("AGENTFOLD_MANAGE_DATABASE_URL", manage)
    monkeypatch.setenv("AGENTFOLD_RUNTIME_DATABASE_URL", runtime)
    monkeypatch.setenv("AGENTFOLD_POOL_SIZE", "3")
    monkeypatch.setenv("AGENTFOLD_SQLITE_BUSY_TIMEOUT_MS", "250")
    settings = DatabaseSettings()
    assert (settings.manage_database_url, settings.runtime_database_url) == (manage, runtime)
    assert (settings.pool_size, settings.sqlite_busy_timeout_ms) == (3, 250)
    monkeypatch.setenv("AGENTFOLD_POOL_SIZE", "0")
    with pytest.raises(ValidationError):
        DatabaseSettings()


async def test_databases_from_default_settings_are_sqlite_files_in_cwd(
    tmp_cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    manage, runtime = databases_from_settings()
    try:
        assert (manage.role, manage.backend) == ("manage", "sqlite")
        assert (runtime.role, runtime.backend) == ("runtime", "sqlite")
        assert manage.engine.url.database == "./.agentfold/manage.db"
        assert runtime.engine.url.database == "./.agentfold/runtime.db"
        # The folder is made on first connect, not by building the engine.
        assert not (tmp_cwd / ".agentfold").exists()
        async with manage.read() as conn:
            assert (await conn.exec_driver_sql("SELECT 1")).scalar_one() == 1
        assert (tmp_cwd / ".agentfold" / "manage.db").is_file()
    finally:
        await manage.dispose()
        await runtime.dispose()


async def test_databases_from_settings_use_the_configured_urls_and_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTFOLD_MANAGE_DATABASE_URL", "postgresql+psycopg://a@127.0.0.1/m")
    monkeypatch.setenv("AGENTFOLD_RUNTIME_DATABASE_URL", "postgresql+psycopg://a@127.0.0.1/r")
    monkeypatch.setenv("AGENTFOLD_POOL_SIZE", "4")
    manage, runtime = databases_from_settings()
    try:
        assert (manage.backend, runtime.backend) == ("postgresql", "postgresql")
        assert (manage.engine.url.database, runtime.engine.url.database) == ("m", "r")
        assert manage.engine.pool.size() == 4  # type: ignore[attr-defined]
    finally:
        await manage.dispose()
        await runtime.dispose()
    monkeypatch.setenv("AGENTFOLD_RUNTIME_DATABASE_URL", f"mysql://a:{SECRET}@h/r")
    with pytest.raises(ConfigurationError) as info:
        databases_from_settings()
    assert SECRET not in _everything_said(info.value)


async def test_sqlite_connections_set_foreign_keys_wal_and_busy_timeout(tmp_path: Path) -> None:
    db = create_database(
        f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'x.db'}",
        "manage",
        DatabaseSettings(sqlite_busy_timeout_ms=1234),
    )
    try:
        for open_connection in (db.read, db.write):
            async with open_connection() as conn:
                pragma = conn.exec_driver_sql
                assert (await pragma("PRAGMA foreign_keys")).scalar_one() == 1
                assert (await pragma("PRAGMA journal_mode")).scalar_one() == "wal"
                assert (await pragma("PRAGMA busy_timeout")).scalar_one() == 1234
    finally:
        await db.dispose()


async def test_sqlite_writers_take_the_lock_when_they_begin(tmp_path: Path) -> None:
    db = create_database(
        f"sqlite+aiosqlite:///{tmp_path / 'lock.db'}",
        "runtime",
        DatabaseSettings(sqlite_busy_timeout_ms=0),
    )
    try:
        async with db.write() as conn:
            await conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        async with db.write() as first:
            await first.exec_driver_sql("INSERT INTO t VALUES (1)")
            # A second writer is refused at once (BEGIN IMMEDIATE, no busy wait)...
            with pytest.raises(OperationalError, match="locked"):
                async with db.write():
                    pass
            # ...while readers still see the last committed state (WAL).
            async with db.read() as reader:
                count = await reader.exec_driver_sql("SELECT count(*) FROM t")
                assert count.scalar_one() == 0
        async with db.read() as reader:
            assert (await reader.exec_driver_sql("SELECT count(*) FROM t")).scalar_one() == 1
    finally:
        await db.dispose()


@pytest.mark.parametrize("role", ["manage", "runtime"])
@pytest.mark.parametrize(
    "url",
    [
        # An unencoded "@" in the password moves the host (or breaks the port).
        f"postgresql+psycopg://user:{SECRET}@x@db.example.com/app",
        f"postgresql+psycopg://user:{SECRET}@x:1@db.example.com/app",
        f"postgresql+psycopg://user:{SECRET}@db.example.com:port/app",
    ],
)
def test_a_malformed_url_names_its_variable_and_hints_at_percent_encoding(
    role: str, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = "runtime" if role == "manage" else "manage"
    monkeypatch.setenv(f"AGENTFOLD_{role.upper()}_DATABASE_URL", url)
    monkeypatch.setenv(f"AGENTFOLD_{other.upper()}_DATABASE_URL", "sqlite+aiosqlite:///x.db")
    with pytest.raises(ConfigurationError) as info:
        databases_from_settings()
    message = str(info.value)
    assert f"the {role} database URL (AGENTFOLD_{role.upper()}_DATABASE_URL) is malformed" in (
        message
    )
    assert "percent-encode special characters of the user and password (@ as %40" in message
    assert SECRET not in _everything_said(info.value)


def test_a_percent_encoded_password_parses() -> None:
    parsed = parse_database_url("postgresql+psycopg://user:p%40ss%2Fw%23rd@db.example.com/app")
    assert (parsed.host, parsed.password, parsed.database) == (
        "db.example.com",
        "p@ss/w#rd",
        "app",
    )


def test_other_url_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTFOLD_RUNTIME_DATABASE_URL", f"mysql://a:{SECRET}@h/r")
    with pytest.raises(ConfigurationError, match="AGENTFOLD_RUNTIME_DATABASE_URL"):
        databases_from_settings()
    monkeypatch.setenv("AGENTFOLD_RUNTIME_DATABASE_URL", f"postgresql+psycopg://a:{SECRET}@h")
    with pytest.raises(ConfigurationError, match=r"RUNTIME_DATABASE_URL\) names no PostgreSQL"):
        databases_from_settings()
