"""Tests for helpers.datasets.credentials: every place a learner keeps Kaggle credentials, and no leaks.

Each source is simulated: environment dictionaries, a temporary home folder with ``.kaggle`` files, a
fake Colab ``userdata`` module and a fake Kaggle ``UserSecretsClient``. The fake key is distinctive so
that any leak into a repr, a message, an exception or printed output is caught.
"""

from __future__ import annotations

import os
import sys
import types

import pytest

from helpers.datasets import credentials as cr
from helpers.datasets import fetch
from helpers.datasets.credentials import KaggleCredentialsError, ensure_kaggle_credentials
from helpers.datasets.fetch import DataUnavailableError

KEY = "0123456789abcdef0123456789abcdef"
#: Not 32 hex digits, so fetch's generic key pattern cannot hide a missing redaction.
TOKEN = "KGAT_notarealtoken_zz99yy88xx77"
OTHER_KEY = "fedcba9876543210fedcba9876543210"
ALL_SECRETS = (KEY, TOKEN, OTHER_KEY)


class FakeColabUserdata:
    """Colab's ``google.colab.userdata``: ``get(name)`` raises for missing or forbidden secrets."""

    class SecretNotFoundError(Exception):
        def __init__(self, key):
            super().__init__(f"Secret {key} does not exist.")

    class NotebookAccessError(Exception):
        def __init__(self, key):
            super().__init__(f"Notebook does not have access to secret {key}")

    def __init__(self, secrets, forbidden=()):
        self.secrets, self.forbidden, self.asked = dict(secrets), set(forbidden), []

    def get(self, name):
        self.asked.append(name)
        if name in self.forbidden:
            raise self.NotebookAccessError(name)
        if name not in self.secrets:
            raise self.SecretNotFoundError(name)
        return self.secrets[name]


class FakeKaggleSecrets:
    """Kaggle's ``UserSecretsClient``: ``get_secret(name)`` raises a generic error for a secret not attached."""

    def __init__(self, secrets):
        self.secrets = dict(secrets)

    def get_secret(self, name):
        if name not in self.secrets:
            raise RuntimeError(f"Unexpected response from the service. Response: {{'errors': ['No secret {name}']}}")
        return self.secrets[name]


def no_leak(*texts):
    """None of the fake secrets appears in any of ``texts``."""
    return not any(secret in text for secret in ALL_SECRETS for text in texts)


def kaggle_json(home, content):
    (home / ".kaggle").mkdir(parents=True, exist_ok=True)
    path = home / ".kaggle" / "kaggle.json"
    path.write_text(content)
    path.chmod(0o600)
    return path


def find(environ=None, home=None, colab=False, kaggle=False):
    return cr._find_kaggle_credentials(environ if environ is not None else {}, home, colab, kaggle)


# --------------------------------------------------------------------------------------------------
# Each source
# --------------------------------------------------------------------------------------------------


def test_environment_username_and_key(tmp_path):
    creds = find({"KAGGLE_USERNAME": "alice", "KAGGLE_KEY": KEY}, tmp_path)
    assert (creds.username, creds.kind, creds.secret()) == ("alice", "key", KEY)
    assert "KAGGLE_USERNAME and KAGGLE_KEY environment variables" in creds.source


def test_environment_api_token(tmp_path):
    creds = find({"KAGGLE_API_TOKEN": f" {TOKEN}\n"}, tmp_path)
    assert (creds.username, creds.kind, creds.secret()) == (None, "token", TOKEN)
    assert creds.environment() == {"KAGGLE_API_TOKEN": TOKEN}


def test_environment_api_token_may_name_a_file(tmp_path):
    token_file = tmp_path / "my_token"
    token_file.write_text(TOKEN + "\n")
    creds = find({"KAGGLE_API_TOKEN": str(token_file)}, tmp_path)
    assert creds.secret() == TOKEN and str(token_file) in creds.source


def test_kaggle_json_in_home(tmp_path):
    path = kaggle_json(tmp_path, f'{{"username": "bob", "key": "{KEY}"}}')
    creds = find({}, tmp_path)
    assert (creds.username, creds.kind, creds.secret(), creds.source) == ("bob", "key", KEY, str(path))


def test_kaggle_json_in_kaggle_config_dir(tmp_path):
    config = tmp_path / "elsewhere"
    config.mkdir()
    (config / "kaggle.json").write_text(f'{{"username": "carol", "key": "{KEY}"}}')
    kaggle_json(tmp_path, f'{{"username": "bob", "key": "{OTHER_KEY}"}}')  # ignored, as kagglehub ignores it
    creds = find({"KAGGLE_CONFIG_DIR": str(config)}, tmp_path)
    assert (creds.username, creds.secret()) == ("carol", KEY)


@pytest.mark.parametrize("name", ["access_token", "access_token.txt"])
def test_access_token_file(tmp_path, name):
    (tmp_path / ".kaggle").mkdir()
    (tmp_path / ".kaggle" / name).write_text(TOKEN + "\n")
    creds = find({}, tmp_path)
    assert (creds.kind, creds.secret()) == ("token", TOKEN) and name in creds.source


def test_empty_access_token_file_is_skipped_like_kagglehub_does(tmp_path):
    (tmp_path / ".kaggle").mkdir()
    (tmp_path / ".kaggle" / "access_token").write_text("\n")
    assert find({}, tmp_path) is None


def test_colab_secrets_username_and_key(tmp_path):
    colab = FakeColabUserdata({"KAGGLE_USERNAME": "alice", "KAGGLE_KEY": KEY})
    creds = find({}, tmp_path, colab=colab)
    assert (creds.username, creds.secret(), creds.source) == ("alice", KEY, "Colab secrets")
    assert colab.asked[0] == "KAGGLE_API_TOKEN"  # the newer token first, as kagglehub does


def test_colab_secret_token(tmp_path):
    creds = find({}, tmp_path, colab=FakeColabUserdata({"KAGGLE_API_TOKEN": TOKEN}))
    assert (creds.kind, creds.secret(), creds.source) == ("token", TOKEN, "Colab secrets")


def test_colab_secret_without_notebook_access_is_explained(tmp_path):
    colab = FakeColabUserdata({"KAGGLE_USERNAME": "alice", "KAGGLE_KEY": KEY}, forbidden={"KAGGLE_KEY"})
    assert find({}, tmp_path, colab=colab) is None
    line = ensure_kaggle_credentials({}, tmp_path, colab, False)
    assert "Notebook access" in line and "KAGGLE_KEY" in line and no_leak(line)


def test_colab_other_errors_count_as_absent(tmp_path):
    class Broken:
        def get(self, name):
            raise TimeoutError(f"timed out asking for {name} ({KEY})")

    line = ensure_kaggle_credentials({}, tmp_path, Broken(), False)
    assert "none found" in line and "Colab secrets could not be read (TimeoutError)" in line and no_leak(line)


def test_kaggle_secrets(tmp_path):
    creds = find({}, tmp_path, kaggle=FakeKaggleSecrets({"KAGGLE_USERNAME": "dana", "KAGGLE_KEY": KEY}))
    assert (creds.username, creds.secret(), creds.source) == ("dana", KEY, "Kaggle secrets")


def test_half_set_credentials_are_pointed_out(tmp_path):
    line = ensure_kaggle_credentials({"KAGGLE_KEY": KEY}, tmp_path, False,
                                     FakeKaggleSecrets({"KAGGLE_USERNAME": "dana"}))
    assert "KAGGLE_KEY is set in the environment but KAGGLE_USERNAME is not" in line
    assert "Kaggle secrets hold KAGGLE_USERNAME but not KAGGLE_KEY" in line
    assert no_leak(line)


# --------------------------------------------------------------------------------------------------
# Precedence: kagglehub's own order, so the printed source is the one kagglehub uses
# --------------------------------------------------------------------------------------------------

ORDER = ["env token", "token file", "env key", "kaggle.json", "colab", "kaggle secrets"]


def all_sources(tmp_path, present):
    environ = {}
    if "env token" in present:
        environ["KAGGLE_API_TOKEN"] = TOKEN
    if "env key" in present:
        environ |= {"KAGGLE_USERNAME": "env-user", "KAGGLE_KEY": KEY}
    if "token file" in present:
        (tmp_path / ".kaggle").mkdir(exist_ok=True)
        (tmp_path / ".kaggle" / "access_token").write_text(TOKEN)
    if "kaggle.json" in present:
        kaggle_json(tmp_path, f'{{"username": "json-user", "key": "{KEY}"}}')
    colab = FakeColabUserdata({"KAGGLE_USERNAME": "colab-user", "KAGGLE_KEY": KEY}) if "colab" in present else False
    kaggle = FakeKaggleSecrets({"KAGGLE_USERNAME": "kaggle-user", "KAGGLE_KEY": KEY}) if "kaggle secrets" in present \
        else False
    return environ, colab, kaggle


@pytest.mark.parametrize("first", range(len(ORDER)))
def test_precedence(tmp_path, first):
    """With every source from ``ORDER[first]`` on present, the first of them wins."""
    environ, colab, kaggle = all_sources(tmp_path, ORDER[first:])
    creds = find(environ, tmp_path, colab, kaggle)
    expected = {
        "env token": "KAGGLE_API_TOKEN environment variable", "token file": "access_token",
        "env key": "KAGGLE_USERNAME and KAGGLE_KEY environment", "kaggle.json": "kaggle.json",
        "colab": "Colab secrets", "kaggle secrets": "Kaggle secrets",
    }[ORDER[first]]
    assert expected in creds.source


# --------------------------------------------------------------------------------------------------
# Nothing found, malformed files
# --------------------------------------------------------------------------------------------------


def test_none_found_gives_advice(tmp_path):
    assert find({}, tmp_path) is None
    text = ensure_kaggle_credentials({}, tmp_path, False, False)
    first, *rest = text.splitlines()
    assert first == "Kaggle credentials: none found (public datasets download without them)."
    advice = "\n".join(rest)
    for needed in ("Settings > API", "key icon (Secrets)", "KAGGLE_USERNAME", "KAGGLE_KEY", "Notebook access",
                   "Add-ons > Secrets", "~/.kaggle/kaggle.json", "chmod 600"):
        assert needed in advice, needed


def test_in_a_kaggle_notebook_none_are_needed(tmp_path):
    line = ensure_kaggle_credentials({"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, tmp_path, False, False)
    assert "none needed" in line and "own sign-in" in line and len(line.splitlines()) == 1


@pytest.mark.parametrize(("content", "problem"), [
    ("", "it is empty"),
    ('{"username": "bob", "key": "' + KEY + '"', "not valid JSON (line 1, column"),
    (f'["bob", "{KEY}"]', "JSON list, not an object"),
    (f'{{"key": "{KEY}"}}', "no 'username' entry"),
    ('{"username": "bob"}', "no 'key' entry"),
    ('{"username": "bob", "key": "  "}', "'key' entry is empty"),
    ('{"username": "bob", "key": 123456789}', "'key' entry is a int, not text"),
    (f'{{"username": "bob", "key": "{KEY}",}}', "not valid JSON"),
])
def test_malformed_kaggle_json_names_the_file_and_the_problem(tmp_path, content, problem):
    path = kaggle_json(tmp_path, content)
    with pytest.raises(KaggleCredentialsError) as err:
        find({}, tmp_path)
    message = str(err.value)
    assert str(path) in message and problem in message
    assert "kaggle.com > Settings > API" in message
    assert no_leak(message, repr(err.value.args))
    assert err.value.__cause__ is None  # the document is not chained in
    assert err.value.__context__ is None or err.value.__suppress_context__


def test_unreadable_kaggle_json(tmp_path):
    path = kaggle_json(tmp_path, "")
    path.unlink()
    path.mkdir()  # a folder where the file should be: is_file() is false, so it is simply not there
    assert find({}, tmp_path) is None
    path.rmdir()
    path.write_bytes(b'{"username": "bob", "key": "\xff\xfe"}')
    with pytest.raises(KaggleCredentialsError, match="not UTF-8"):
        find({}, tmp_path)


def test_a_broken_file_behind_a_working_source_is_not_read(tmp_path):
    kaggle_json(tmp_path, "{broken")
    creds = find({"KAGGLE_USERNAME": "alice", "KAGGLE_KEY": KEY}, tmp_path)
    assert creds.username == "alice"


# --------------------------------------------------------------------------------------------------
# The secret is never shown
# --------------------------------------------------------------------------------------------------


def test_repr_str_format_vars_never_show_the_secret():
    creds = cr._KaggleCredentials.from_secret(KEY, username="alice", source="Colab secrets")
    assert repr(creds) == "KaggleCredentials(username='alice', key=***, source='Colab secrets')"
    assert str(creds) == repr(creds) == f"{creds}" == format(creds, "") == f"{creds!r}"
    assert no_leak(repr(creds), str(creds), f"{creds}", str(vars(creds)), repr([creds]), str({"c": creds}))
    token = cr._KaggleCredentials.from_secret(TOKEN, source="the KAGGLE_API_TOKEN environment variable")
    assert "token=***" in repr(token) and no_leak(repr(token), str(vars(token)))
    assert creds.secret() == KEY and token.secret() == TOKEN


def test_ensure_prints_and_returns_no_secret(tmp_path, capsys):
    environ = {}
    colab = FakeColabUserdata({"KAGGLE_USERNAME": "alice", "KAGGLE_KEY": KEY})
    line = ensure_kaggle_credentials(environ, tmp_path, colab, False)
    print(line)
    assert line == "Kaggle credentials: from Colab secrets (user alice); the key is not shown."
    out = capsys.readouterr()
    assert no_leak(out.out, out.err)


def test_ensure_exports_secrets_to_the_environment_only(tmp_path):
    before = sorted(p.name for p in tmp_path.rglob("*"))
    environ = {"PATH": "/bin"}
    line = ensure_kaggle_credentials(environ, tmp_path, False, FakeKaggleSecrets({"KAGGLE_API_TOKEN": TOKEN}))
    assert environ == {"PATH": "/bin", "KAGGLE_API_TOKEN": TOKEN}
    assert line == "Kaggle credentials: from Kaggle secrets (an API token); the token is not shown."
    assert sorted(p.name for p in tmp_path.rglob("*")) == before, "no file is written"


def test_ensure_leaves_environment_and_files_alone_when_kagglehub_reads_them(tmp_path):
    path = kaggle_json(tmp_path, f'{{"username": "bob", "key": "{KEY}"}}')
    environ = {}
    line = ensure_kaggle_credentials(environ, tmp_path, False, False)
    assert environ == {}
    assert line == f"Kaggle credentials: from {path} (user bob); the key is not shown."


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_ensure_warns_about_a_kaggle_json_others_can_read(tmp_path):
    path = kaggle_json(tmp_path, f'{{"username": "bob", "key": "{KEY}"}}')
    path.chmod(0o644)
    line = ensure_kaggle_credentials({}, tmp_path, False, False)
    assert f"chmod 600 {path}" in line and no_leak(line)


def test_ensure_sets_os_environ_by_default(tmp_path, monkeypatch):
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR", "KAGGLE_KERNEL_RUN_TYPE"):
        monkeypatch.delenv(name, raising=False)  # restored by monkeypatch after the test
    colab = FakeColabUserdata({"KAGGLE_USERNAME": "alice", "KAGGLE_KEY": KEY})
    ensure_kaggle_credentials(home=tmp_path, colab_userdata=colab, kaggle_secrets=False)
    assert (os.environ["KAGGLE_USERNAME"], os.environ["KAGGLE_KEY"]) == ("alice", KEY)


def test_redact_removes_secrets_read_from_files_and_secret_stores(tmp_path):
    from_file = "json-file-secret-not-hex-ZZZ"
    kaggle_json(tmp_path, f'{{"username": "bob", "key": "{from_file}"}}')
    find({}, tmp_path)
    from_colab = "colab-secret-not-hex-YYY"
    find({}, tmp_path / "empty", FakeColabUserdata({"KAGGLE_API_TOKEN": from_colab}))
    text = f"GET /api?user=bob {from_file} and {from_colab} failed"
    assert cr.redact(text, environ={}) == "GET /api?user=bob *** and *** failed"
    assert fetch._kaggle_reason(RuntimeError(text))[0].count("***") == 2  # the Kaggle route's errors too


# --------------------------------------------------------------------------------------------------
# kaggle_download uses it
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def clean_kaggle_env(monkeypatch, tmp_path):
    """No Kaggle variables, an empty home, and a fake Colab whose secrets the test fills in."""
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR", "KAGGLE_KERNEL_RUN_TYPE"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    colab = FakeColabUserdata({})
    package = types.ModuleType("google.colab")
    package.userdata = colab
    monkeypatch.setitem(sys.modules, "google.colab", package)
    return home, colab


def test_kaggle_download_passes_colab_secrets_to_kagglehub_and_hides_them(clean_kaggle_env, monkeypatch, capsys):
    import kagglehub
    import requests
    from kagglehub.exceptions import KaggleApiHTTPError

    _, colab = clean_kaggle_env
    secret = "colab-only-secret-not-hex-XXXX"
    colab.secrets = {"KAGGLE_USERNAME": "alice", "KAGGLE_KEY": secret}
    seen = {}
    response = requests.Response()
    response.status_code = 401

    def leaky(handle, path=None, **kwargs):
        seen.update(user=os.environ.get("KAGGLE_USERNAME"), key=os.environ.get("KAGGLE_KEY"))
        raise KaggleApiHTTPError(f"401 Unauthorized: Authorization Basic alice:{secret}", response=response)

    monkeypatch.setattr(kagglehub, "dataset_download", leaky)
    with pytest.raises(DataUnavailableError) as err:
        fetch.kaggle_download("owner/slug", dataset="Food-5K")
    assert seen == {"user": "alice", "key": secret}, "kagglehub sees the Colab secrets"
    message = str(err.value)
    assert secret not in message and secret not in repr(err.value.args)
    assert "Kaggle refused access" in message and "Settings > API" in message
    out = capsys.readouterr()
    assert "Kaggle credentials: from Colab secrets (user alice); the key is not shown." in out.out
    assert secret not in out.out + out.err


def test_kaggle_download_with_a_broken_kaggle_json(clean_kaggle_env, monkeypatch):
    import kagglehub

    home, _ = clean_kaggle_env
    path = kaggle_json(home, f'{{"username": "bob" "key": "{KEY}"}}')
    monkeypatch.setattr(kagglehub, "dataset_download", lambda *a, **k: pytest.fail("must not be called"))
    with pytest.raises(DataUnavailableError) as err:
        fetch.kaggle_download("owner/slug", dataset="Food-5K")
    message = str(err.value)
    assert str(path) in message and "not valid JSON" in message and "DATA_DIR" in message
    assert KEY not in message


def test_kaggle_download_without_credentials_says_so_in_one_line(clean_kaggle_env, monkeypatch, capsys, tmp_path):
    import kagglehub

    monkeypatch.setattr(kagglehub, "dataset_download", lambda handle, path=None: str(tmp_path))
    assert fetch.kaggle_download("owner/slug") == tmp_path
    assert capsys.readouterr().out == "Kaggle credentials: none found (public datasets download without them).\n"
