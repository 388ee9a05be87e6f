"""Kaggle credentials: found wherever a learner keeps them, and never shown.

Public Kaggle datasets download with ``kagglehub`` without any credentials; a token is needed for
datasets whose terms must be accepted first, and it lifts anonymous rate limits. Learners keep it
in different places depending on where the notebook runs, so :func:`_find_kaggle_credentials` looks,
in this order (the order in which ``kagglehub`` 1.0.2 itself reads them, so the line we print names
the credentials ``kagglehub`` will really use):

1. the ``KAGGLE_API_TOKEN`` environment variable (a token, or the path of a file holding one);
2. the token file ``~/.kaggle/access_token`` (or ``access_token.txt``);
3. the ``KAGGLE_USERNAME`` and ``KAGGLE_KEY`` environment variables;
4. ``kaggle.json`` in ``$KAGGLE_CONFIG_DIR`` or ``~/.kaggle`` (what kaggle.com's "Create Legacy API Key" downloads);
5. Colab secrets (the key icon on the left of a Colab notebook): ``KAGGLE_API_TOKEN``, or
   ``KAGGLE_USERNAME`` and ``KAGGLE_KEY``;
6. Kaggle secrets (Add-ons > Secrets in a Kaggle notebook), with the same names.

Inside a Kaggle notebook none are needed for public datasets: ``kagglehub`` then uses the notebook's
own sign-in (and an attached dataset needs no download at all).

:func:`ensure_kaggle_credentials` makes credentials from Colab or Kaggle secrets visible to
``kagglehub`` by setting environment variables of this process (it never writes a file), and
returns one line for the notebook saying where the credentials came from, or how to set them up.

The secret itself never appears in a ``repr``, a message, an exception or a log line:
:class:`_KaggleCredentials` keeps it in a closure, and :func:`redact` removes every secret this
module has seen from a text (``helpers.datasets.fetch`` runs it over kagglehub's error messages).
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..runtime import detect_environment

#: Names of the Colab / Kaggle secrets and of the environment variables kagglehub reads.
_TOKEN_NAME = "KAGGLE_API_TOKEN"
_USERNAME_NAME = "KAGGLE_USERNAME"
_KEY_NAME = "KAGGLE_KEY"
#: Where kagglehub looks for ``kaggle.json`` instead of ``~/.kaggle`` when it is set.
_CONFIG_DIR_NAME = "KAGGLE_CONFIG_DIR"
#: Token files kagglehub (kagglesdk) reads in ``~/.kaggle``.
_TOKEN_FILES = ("access_token", "access_token.txt")

#: Secrets shorter than this are not redacted from texts (they would mangle ordinary words).
_MIN_REDACT = 4
#: Closures returning every secret seen in this process, so :func:`redact` can remove them anywhere.
_SEEN: list[Callable[[], str]] = []


class KaggleCredentialsError(ValueError):
    """A credentials file exists but cannot be used; the message names it and says what is wrong (never the secret).

    Raised on the Kaggle route of :func:`helpers.datasets.download`, which every chapter uses to get its data.
    """


@dataclass(frozen=True)
class _KaggleCredentials:
    """Kaggle credentials and where they came from; the secret is never shown.

    Build them with :meth:`from_secret`. ``repr``, ``str``, ``format`` and ``vars`` show the user
    name, the kind and the source only; the key or token itself is returned by :meth:`secret`.

    Attributes:
        username: The Kaggle user name (``None`` for an API token, which carries the user itself).
        kind: ``"key"`` (a user name and legacy API key) or ``"token"`` (an API token).
        source: Where the credentials were found, e.g. ``"Colab secrets"``.
    """

    username: str | None
    kind: str
    source: str
    _reveal: Callable[[], str] = field(repr=False, compare=False)

    @classmethod
    def from_secret(cls, secret: str, *, source: str, username: str | None = None) -> _KaggleCredentials:
        """Credentials holding ``secret``: a legacy key when ``username`` is given, else an API token."""
        secret = secret.strip()

        def reveal() -> str:
            return secret

        if len(secret) >= _MIN_REDACT and all(seen() != secret for seen in _SEEN):
            _SEEN.append(reveal)
        return cls(username, "key" if username else "token", source, reveal)

    def secret(self) -> str:
        """The key or token itself: pass it on, never print it."""
        return self._reveal()

    def environment(self) -> dict[str, str]:
        """The environment variables through which ``kagglehub`` reads these credentials."""
        if self.kind == "token":
            return {_TOKEN_NAME: self.secret()}
        return {_USERNAME_NAME: self.username or "", _KEY_NAME: self.secret()}

    def __repr__(self) -> str:
        return f"KaggleCredentials(username={self.username!r}, {self.kind}=***, source={self.source!r})"

    __str__ = __repr__


@dataclass
class _Search:
    """What a search found: the credentials (or ``None``) and remarks worth telling the learner."""

    found: _KaggleCredentials | None = None
    notes: list[str] = field(default_factory=list)
    # Set when found in a file: that file, to check who can read it.
    file: Path | None = None


def _find_kaggle_credentials(
    environ: MutableMapping[str, str] | None = None,
    home: str | os.PathLike | None = None,
    colab_userdata: Any = None,
    kaggle_secrets: Any = None,
) -> _KaggleCredentials | None:
    """The first Kaggle credentials found, in kagglehub's order (see the module docstring), or ``None``.

    Args:
        environ: The environment (default ``os.environ``).
        home: The home folder holding ``.kaggle`` (default ``Path.home()``).
        colab_userdata: Colab's ``google.colab.userdata`` module, or an object with the same ``get``;
            ``None`` imports it when running on Colab, ``False`` skips Colab secrets.
        kaggle_secrets: A Kaggle ``UserSecretsClient`` (or an object with its ``get_secret``);
            ``None`` creates one when running on Kaggle, ``False`` skips Kaggle secrets.

    Raises:
        KaggleCredentialsError: A ``kaggle.json`` or token file that would be used exists but is
            broken; the message names the file and what is wrong with it, never its contents.
    """
    return _search(environ, home, colab_userdata, kaggle_secrets).found


def ensure_kaggle_credentials(
    environ: MutableMapping[str, str] | None = None,
    home: str | os.PathLike | None = None,
    colab_userdata: Any = None,
    kaggle_secrets: Any = None,
) -> str:
    """Make Kaggle credentials visible to ``kagglehub`` for this process; return one line saying where they came from.

    Credentials from Colab or Kaggle secrets are put into ``environ`` (default ``os.environ``:
    this process and the processes it starts; nothing is written to disk). Credentials from the
    environment or from files are left where they are: kagglehub reads them itself. Without any,
    the returned text says how to create a token and where to put it (on Colab, on Kaggle, or on
    your own computer); the first line alone is a complete summary.

    Called on the Kaggle route of :func:`helpers.datasets.download`, which every chapter uses to get its data.

    Arguments are those of :func:`_find_kaggle_credentials`.

    Raises:
        KaggleCredentialsError: A credentials file exists but is broken (see :func:`_find_kaggle_credentials`).
    """
    environ = os.environ if environ is None else environ
    search = _search(environ, home, colab_userdata, kaggle_secrets)
    creds = search.found
    if creds is None:
        if detect_environment(environ) == "kaggle":
            return (
                "Kaggle credentials: none needed here: in a Kaggle notebook kagglehub downloads public datasets "
                "with the notebook's own sign-in (or attach the dataset with + Add Input)."
            )
        return "\n".join(
            ["Kaggle credentials: none found (public datasets download without them).", *search.notes, ADVICE]
        )
    if creds.source in (_COLAB, _KAGGLE):
        environ.update(creds.environment())
    what = "the token is not shown" if creds.kind == "token" else "the key is not shown"
    who = f" (user {creds.username})" if creds.username else " (an API token)"
    line = f"Kaggle credentials: from {creds.source}{who}; {what}."
    if search.file is not None and _readable_by_others(search.file):
        line += f" Other users of this computer can read {search.file}: run chmod 600 {search.file}."
    return line


#: How to get a token and where to put it, for the learner who has none.
ADVICE = (
    "To use a Kaggle API token (needed when Kaggle refuses access): sign in at kaggle.com, open Settings > API "
    "and create a token, then\n"
    "  - on Colab: click the key icon (Secrets) on the left, add KAGGLE_API_TOKEN (or KAGGLE_USERNAME and "
    "KAGGLE_KEY, the two values of kaggle.json) and switch on Notebook access;\n"
    "  - on Kaggle: Add-ons > Secrets, add the same names and tick them for this notebook;\n"
    "  - on your computer: save the token in ~/.kaggle/access_token, or the downloaded kaggle.json as "
    "~/.kaggle/kaggle.json, then run chmod 600 on that file.\n"
    "Never paste a key into a notebook cell: notebooks get shared."
)
_COLAB = "Colab secrets"
_KAGGLE = "Kaggle secrets"


def redact(text: str, environ: MutableMapping[str, str] | None = None) -> str:
    """``text`` with every Kaggle secret replaced by ``***``.

    Those seen by this module, those in the environment, and anything that looks like a key (a ``key=...``
    or ``token: ...`` value, 32 hex digits). The Kaggle route of :func:`helpers.datasets.download`, which
    every chapter uses to get its data, puts every error text it shows through it.
    """
    environ = os.environ if environ is None else environ
    secrets = {reveal() for reveal in _SEEN}
    secrets |= {environ.get(name, "").strip() for name in (_KEY_NAME, _TOKEN_NAME, "KAGGLE_API_KEY")}
    for secret in sorted((s for s in secrets if len(s) >= _MIN_REDACT), key=len, reverse=True):
        text = text.replace(secret, "***")
    text = re.sub(r"(?i)(authorization|token|key|password)([\"']?\s*[:=]\s*)\S+", r"\1\2***", text)
    return re.sub(r"\b[0-9a-f]{32}\b", "***", text)  # Kaggle API keys are 32 hex digits


# --------------------------------------------------------------------------------------------------
# The search, source by source
# --------------------------------------------------------------------------------------------------


def _search(environ, home, colab_userdata, kaggle_secrets) -> _Search:
    environ = os.environ if environ is None else environ
    home = Path.home() if home is None else Path(home)
    search = _Search()
    steps = (
        lambda: _from_token_variable(environ),
        lambda: _from_token_file(home, search),
        lambda: _from_key_variables(environ, search),
        lambda: _from_kaggle_json(environ, home, search),
        lambda: _from_secrets(_COLAB, _colab_getter(colab_userdata, search), search),
        lambda: _from_secrets(_KAGGLE, _kaggle_getter(kaggle_secrets, search), search),
    )
    for step in steps:
        search.found = step()
        if search.found is not None:
            return search
    return search


def _from_token_variable(environ) -> _KaggleCredentials | None:
    value = environ.get(_TOKEN_NAME, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if _is_file(path):  # kagglehub accepts the path of a token file here too
        token = _read_text(path, "token file named by KAGGLE_API_TOKEN").strip()
        return _KaggleCredentials.from_secret(token, source=f"the token file {path}") if token else None
    return _KaggleCredentials.from_secret(value, source=f"the {_TOKEN_NAME} environment variable")


def _from_token_file(home: Path, search: _Search) -> _KaggleCredentials | None:
    for name in _TOKEN_FILES:
        path = home / ".kaggle" / name
        if _is_file(path):
            token = _read_text(path, "Kaggle token file").strip()
            if token:  # kagglehub skips an empty token file
                search.file = path
                return _KaggleCredentials.from_secret(token, source=str(path))
    return None


def _from_key_variables(environ, search: _Search) -> _KaggleCredentials | None:
    username, key = environ.get(_USERNAME_NAME, "").strip(), environ.get(_KEY_NAME, "").strip()
    if username and key:
        return _KaggleCredentials.from_secret(
            key, username=username, source=f"the {_USERNAME_NAME} and {_KEY_NAME} environment variables"
        )
    if username or key:
        have, missing = (_USERNAME_NAME, _KEY_NAME) if username else (_KEY_NAME, _USERNAME_NAME)
        search.notes.append(f"{have} is set in the environment but {missing} is not: kagglehub needs both.")
    return None


def _from_kaggle_json(environ, home: Path, search: _Search) -> _KaggleCredentials | None:
    folder = Path(environ[_CONFIG_DIR_NAME]).expanduser() if environ.get(_CONFIG_DIR_NAME) else home / ".kaggle"
    path = folder / "kaggle.json"
    if not _is_file(path):
        return None
    text = _read_text(path, "Kaggle credentials file")
    try:
        data = json.loads(text)
    except ValueError as err:  # the position only: JSONDecodeError's own text never quotes the document
        line, column = getattr(err, "lineno", "?"), getattr(err, "colno", "?")
        problem = "it is empty" if not text.strip() else f"it is not valid JSON (line {line}, column {column})"
        raise _broken(path, problem) from None
    if not isinstance(data, dict):
        raise _broken(path, f"it holds a JSON {type(data).__name__}, not an object with username and key")
    values = {}
    for name in ("username", "key"):
        value = data.get(name)
        if value is None:
            raise _broken(path, f"it has no {name!r} entry")
        if not isinstance(value, str):
            raise _broken(path, f"its {name!r} entry is a {type(value).__name__}, not text")
        if not value.strip():
            raise _broken(path, f"its {name!r} entry is empty")
        values[name] = value.strip()
    search.file = path
    return _KaggleCredentials.from_secret(values["key"], username=values["username"], source=str(path))


def _from_secrets(source: str, get: Callable[[str], str | None] | None, search: _Search) -> _KaggleCredentials | None:
    """Credentials from a notebook platform's secrets store, read with ``get(name) -> value or None``."""
    if get is None:
        return None
    token = get(_TOKEN_NAME)
    if token:
        return _KaggleCredentials.from_secret(token, source=source)
    username, key = get(_USERNAME_NAME), get(_KEY_NAME)
    if username and key:
        return _KaggleCredentials.from_secret(key, username=username.strip(), source=source)
    if username or key:
        have, missing = (_USERNAME_NAME, _KEY_NAME) if username else (_KEY_NAME, _USERNAME_NAME)
        search.notes.append(f"{source} hold {have} but not {missing}: add both.")
    return None


def _colab_getter(userdata: Any, search: _Search) -> Callable[[str], str | None] | None:
    """``get(name)`` over Colab's ``userdata``, turning its errors into ``None`` plus a note; ``None`` off Colab."""
    if userdata is False:
        return None
    if userdata is None:
        try:
            from google.colab import userdata  # type: ignore[import-not-found]
        except ImportError:
            return None
    not_found = _exception_types(userdata, "SecretNotFoundError")
    no_access = _exception_types(userdata, "NotebookAccessError")

    def get(name: str) -> str | None:
        try:
            value = userdata.get(name)
        except not_found:
            return None
        except no_access:
            search.notes.append(
                f"Colab has a secret {name}, but this notebook may not read it: click the key icon on the left "
                "and switch on Notebook access for it."
            )
            return None
        except Exception as err:  # e.g. userdata.TimeoutException: treat as absent, say so, never quote it
            search.notes.append(f"Colab secrets could not be read ({type(err).__name__}).")
            return None
        return value.strip() if isinstance(value, str) else None

    return get


def _kaggle_getter(client: Any, search: _Search) -> Callable[[str], str | None] | None:
    """``get(name)`` over a Kaggle ``UserSecretsClient``; a missing secret is ``None``. ``None`` off Kaggle."""
    if client is False:
        return None
    if client is None:
        try:
            from kaggle_secrets import UserSecretsClient  # type: ignore[import-not-found]

            client = UserSecretsClient()
        except Exception:  # not on Kaggle (no module), or the client cannot start there
            return None

    def get(name: str) -> str | None:
        try:
            value = client.get_secret(name)
        except Exception:  # Kaggle raises a generic backend error for a secret that is not attached
            return None
        return value.strip() if isinstance(value, str) else None

    return get


# --------------------------------------------------------------------------------------------------
# Small pieces
# --------------------------------------------------------------------------------------------------


def _exception_types(module: Any, name: str) -> type[BaseException] | tuple[()]:
    found = getattr(module, name, None)
    return found if isinstance(found, type) and issubclass(found, BaseException) else ()


def _broken(path: Path, problem: str) -> KaggleCredentialsError:
    return KaggleCredentialsError(
        f"The Kaggle credentials file {path} cannot be used: {problem}. It must hold "
        '{"username": "...", "key": "..."} exactly as kaggle.com > Settings > API gives it: download it again '
        "and replace the file (then chmod 600 it), or delete the file to download public datasets without it."
    )


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a value that cannot be a path (too long, NUL byte)
        return False


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise KaggleCredentialsError(
            f"The {what} {path} cannot be used: it is not UTF-8 text. Replace it with the file kaggle.com gives, "
            "or delete it."
        ) from None
    except OSError as err:
        raise KaggleCredentialsError(
            f"The {what} {path} cannot be read ({type(err).__name__}): check its permissions (chmod 600 {path})."
        ) from None


def _readable_by_others(path: Path) -> bool:
    """True on POSIX systems when users other than the owner can read ``path``."""
    if os.name != "posix":
        return False
    try:
        return bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False
