"""Driver errors as one line for people: what failed and the fix.

The one place that turns a failed connection or statement into a message; the
commands and the service print it instead of a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError

from agentfold_core.settings import url_variable

# The fix to add for the database ``role``, given what a pattern found in the driver's
# message. The patterns are tried in order; the first that matches wins.
Fix = Callable[[re.Match[str], str], str]


def _create_database(found: re.Match[str], role: str) -> str:
    name = found.group(1)
    return (
        f'create it: createdb {name} (or in psql: CREATE DATABASE "{name}"), then {_upgrade(role)}'
    )


def _initialise(_: re.Match[str], role: str) -> str:
    return f"is it initialised? run: {_upgrade(role)}"


def _check_server(_: re.Match[str], role: str) -> str:
    return f"is the server running, and do the host and port of {_variable(role)} point at it?"


def _check_credentials(_: re.Match[str], role: str) -> str:
    return (
        f"check the user and password of {_variable(role)} "
        "(percent-encode their special characters, @ as %40)"
    )


def _check_host(_: re.Match[str], role: str) -> str:
    return (
        f"check the host of {_variable(role)} "
        "(percent-encode special characters of the password, @ as %40)"
    )


def _check_path(_: re.Match[str], role: str) -> str:
    return f"check the file path of {_variable(role)}; its directory must be writable"


_FIXES: tuple[tuple[re.Pattern[str], Fix], ...] = (
    (re.compile(r'database "([^"]+)" does not exist'), _create_database),
    (re.compile(r'relation "[^"]+" does not exist|no such table'), _initialise),
    (
        re.compile(r'password authentication failed|role "[^"]+" does not exist'),
        _check_credentials,
    ),
    (re.compile(r"Connection refused|timeout expired|No route to host"), _check_server),
    (re.compile(r"failed to resolve host|could not translate host name"), _check_host),
    (re.compile(r"unable to open database file"), _check_path),
)


def _upgrade(role: str) -> str:
    if role in ("manage", "runtime"):
        return f"agentfold db upgrade --db {role}"
    return "agentfold db upgrade"


def _variable(role: str) -> str:
    # ``role`` may name both databases ("manage or runtime"): then each variable.
    names = [url_variable(r) for r in ("manage", "runtime") if r in role]
    return " / ".join(names) or "the database URL"


def describe_failure(role: str, error: DBAPIError) -> str:
    """One line: the ``role`` database failed, the driver's first line, and the fix."""
    lines = str(error.orig or error).strip().splitlines()
    reason = lines[0] if lines else type(error).__name__
    message = f"the {role} database failed: {reason}"
    for pattern, fix in _FIXES:
        found = pattern.search(reason)
        if found:
            return f"{message}; {fix(found, role)}"
    return message
