"""The set-up cell's first lines (``helpers.course.bootstrap_code``), run where learners run them.

Installing: the cell is run by a "platform" Python (a virtual environment of its own, made once per session)
with real pip and real git against local targets: wheels built here, a zip served on localhost, local git
repositories, a localhost server that asks for a password, an address that does not resolve. pip looks
only in a local folder of small wheels (``PIP_NO_INDEX``, ``PIP_FIND_LINKS``), so no test reaches the
internet. Fake "preinstalled" TensorFlow, Keras and NumPy wheels stand for the platform's own.

Not installing (a course clone, ``helpers`` already installed, a bare local Python): the cell runs in this
process, with ``importlib.util.find_spec``, the working folder and the Colab/Kaggle markers faked.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import inspect
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tomllib
import types
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest

from helpers import course

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: ``pyproject.toml``'s dependencies: the course wheels built here require exactly these.
DEPENDENCIES = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
FLOORS = dict(re.fullmatch(r"([\w-]+)>=([\d.]+)", dep).groups() for dep in DEPENDENCIES)


def bootstrap_block(path: Path) -> str:
    """The set-up cell's code up to ``from helpers import``, as stored in the notebook."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code" and "runtime.setup(PROFILE" in cell.source:
            return cell.source.split("from helpers import")[0]
    raise AssertionError(f"{path.name} has no set-up cell")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_every_notebook_has_the_current_block(path):
    assert bootstrap_block(path).rstrip() == course.bootstrap_code().rstrip()


# ---------------------------------------------------------------------------------------------- no install


class Machine:
    """This process made into a place where the cell must not install: ``helpers`` importable or not, a
    clone (``../helpers``) or not, Colab or Kaggle or neither. Running pip here would fail the test."""

    def __init__(self, monkeypatch, tmp_path: Path, *, installed: bool, clone: bool = False,
                 colab: bool = False) -> None:
        cwd = tmp_path / "notebooks"
        cwd.mkdir()
        if clone:
            (tmp_path / "helpers").mkdir()
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "path", list(sys.path))
        real_find_spec = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *a: (real_find_spec(name, *a) if installed else None)
                            if name == "helpers" else real_find_spec(name, *a))
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
        monkeypatch.delenv("COURSE_HELPERS_SPEC", raising=False)
        if colab:
            monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))

        def no_pip(cmd, **kwargs):
            raise AssertionError(f"the cell ran {cmd} where it must not install anything")

        monkeypatch.setattr(subprocess, "run", no_pip)


def run_here(code: str) -> None:
    exec(compile(code, "<set-up cell>", "exec"), {"__name__": "__main__"})


def test_local_with_helpers_installed_does_nothing(monkeypatch, tmp_path, capsys):
    Machine(monkeypatch, tmp_path, installed=True, colab=True)
    run_here(course.bootstrap_code())
    assert capsys.readouterr().out == ""


def test_a_clone_without_install_uses_its_own_helpers(monkeypatch, tmp_path, capsys):
    Machine(monkeypatch, tmp_path, installed=False, clone=True, colab=True)
    run_here(course.bootstrap_code())  # even on Colab, a cloned course is used as it is
    assert sys.path[0] == str(tmp_path)
    assert "Using the course helpers of this folder" in capsys.readouterr().out


def test_elsewhere_without_helpers_says_how_to_install(monkeypatch, tmp_path):
    Machine(monkeypatch, tmp_path, installed=False)  # no install behind a local learner's back
    with pytest.raises(SystemExit, match="course.py setup"):
        run_here(course.bootstrap_code())


# ------------------------------------------------------------------------------- installing, with real pip


def write_wheel(folder: str | Path, name: str, version: str, requires: tuple[str, ...] | list[str] = (),
                files: dict[str, str] | None = None) -> Path:
    """A minimal wheel of ``name`` ``version`` (pure Python) requiring ``requires``; returns its path."""
    dist = name.replace("-", "_")
    files = dict(files if files is not None else {f"{dist}/__init__.py": f"__version__ = {version!r}\n"})
    info = f"{dist}-{version}.dist-info"
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                 + "".join(f"Requires-Dist: {req}\n" for req in requires))
    files[f"{info}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}\n")
    files[f"{info}/RECORD"] = "".join(record) + f"{info}/RECORD,,\n"
    out = Path(folder) / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(out, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return out


#: What the course wheels built here hold: a ``helpers`` package that says it is the test's.
COURSE_FILES = {"helpers/__init__.py": "BUILT_BY = 'tests/test_setup_cell.py'\n"}

#: A PEP 517 build backend kept inside a source zip, so pip builds it offline (no setuptools to download).
BACKEND = inspect.getsource(write_wheel) + f"""

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return write_wheel(wheel_directory, "cnn-course-helpers", "0.1.0", {DEPENDENCIES!r}, {COURSE_FILES!r}).name
"""


def course_zip(path: Path) -> Path:
    """The course as GitHub's "Download ZIP" gives it (one top folder), with an offline build backend."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("course-main/pyproject.toml", '[build-system]\nrequires = []\nbuild-backend = "backend"\n'
                                                       'backend-path = ["."]\n')
        archive.writestr("course-main/backend.py", "import base64, hashlib, zipfile\nfrom pathlib import Path\n\n"
                                                    + BACKEND)
        for name, text in COURSE_FILES.items():
            archive.writestr(f"course-main/{name}", text)
    return path


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> Path:
    """The only package index pip sees: every dependency at its floor, and versions that would tempt pip
    to replace the platform's packages (a newer Keras, NumPy 2 and a pandas that needs it)."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    for name, floor in FLOORS.items():
        write_wheel(folder, name, floor, ["numpy>=1.26"] if name == "pandas" else ())
    write_wheel(folder, "keras", "99.0")
    write_wheel(folder, "numpy", "2.1.0")
    write_wheel(folder, "pandas", "3.0.0", ["numpy>=2.0"])
    write_wheel(folder, "tensorflow", "2.15.0")
    write_wheel(folder, "keras", "3.0.0")
    return folder


#: What a Colab-like platform has preinstalled, here at the course's floors.
PLATFORM_PACKAGES = ("tensorflow", "keras", "numpy")


@pytest.fixture(scope="session")
def bare_platform(tmp_path_factory) -> Path:
    """A fresh Python environment with pip and nothing else, made once; tests use copies."""
    folder = tmp_path_factory.mktemp("bare") / "venv"
    venv.create(folder, with_pip=True, symlinks=True)
    return folder


class Platform:
    """A Python environment (``venv``, or a copy of it), with a working folder, a temporary folder and the
    cell's runner. pip and git see only local things (see the module's docstring)."""

    def __init__(self, venv_dir: Path, wheelhouse: Path, tmp_path: Path, *, copy: bool = True) -> None:
        self.venv = tmp_path / "platform" if copy else venv_dir
        if copy:
            shutil.copytree(venv_dir, self.venv, symlinks=True)
        self.python = self.venv / "bin" / "python"
        self.tmp = tmp_path / "tmp"
        self.tmp.mkdir(exist_ok=True)
        self.cwd = tmp_path / "notebooks"  # no ../helpers: not a clone of the course
        self.cwd.mkdir(exist_ok=True)
        # Run in self.cwd, never in the course folder: its cnn_course_helpers.egg-info would count as installed.
        self.env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TMPDIR": str(self.tmp),
                    "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse),
                    "PIP_RETRIES": "0", "PIP_TIMEOUT": "10", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
        self.log = self.tmp / "course-helpers" / "pip.log"

    def preinstall(self, *requirements: str) -> Platform:
        """Install ``requirements`` from the wheelhouse, as the platform's own packages."""
        subprocess.run([self.python, "-m", "pip", "install", "-q", "--no-deps", *requirements],
                       cwd=self.cwd, env=self.env, check=True, capture_output=True)
        return self

    def versions(self) -> dict[str, str]:
        """Every installed distribution and its version."""
        out = subprocess.run([self.python, "-c", "import importlib.metadata as m, json; print(json.dumps("
                              "{d.metadata['Name'].lower(): d.version for d in m.distributions()}))"],
                             cwd=self.cwd, env=self.env, check=True, capture_output=True, text=True).stdout
        return json.loads(out)

    def run_cell(self, *, where: str = "colab", variable: str | None = None,
                 environ: str | None = None) -> subprocess.CompletedProcess:
        """Run the set-up cell's first lines ``where`` (``"colab"``, ``"kaggle"`` or ``"local"``), optionally with
        ``COURSE_HELPERS_SPEC`` set as a variable of a cell above or in the environment; then import ``helpers``
        as the notebook does."""
        lines = ["import sys, types", "namespace = {'__name__': '__main__'}"]
        if where == "colab":
            lines.append("sys.modules['google.colab'] = types.ModuleType('google.colab')")
        if variable is not None:
            lines.append(f"namespace['COURSE_HELPERS_SPEC'] = {variable!r}")
        lines += [f"exec(compile({course.bootstrap_code()!r}, '<set-up cell>', 'exec'), namespace)",
                  "import helpers", "print('helpers:', helpers.BUILT_BY)"]
        script = self.cwd / "run_cell.py"
        script.write_text("\n".join(lines) + "\n")
        env = dict(self.env)
        if where == "kaggle":
            env["KAGGLE_KERNEL_RUN_TYPE"] = "Interactive"
        if environ is not None:
            env["COURSE_HELPERS_SPEC"] = environ
        return subprocess.run([self.python, script.name], cwd=self.cwd, env=env, capture_output=True,
                              text=True, timeout=180)


@pytest.fixture(scope="session")
def colab_like(bare_platform, wheelhouse, tmp_path_factory) -> Path:
    """An environment with TensorFlow, Keras and NumPy preinstalled at the course's floors, made once."""
    folder = tmp_path_factory.mktemp("colab_like")
    plat = Platform(bare_platform, wheelhouse, folder).preinstall(*(f"{n}=={FLOORS[n]}" for n in PLATFORM_PACKAGES))
    return plat.venv


@pytest.fixture
def platform(colab_like, wheelhouse, tmp_path) -> Platform:
    """The shared Colab-like environment itself, for tests where the cell must stop before installing."""
    return Platform(colab_like, wheelhouse, tmp_path, copy=False)


@pytest.fixture
def fresh_platform(colab_like, wheelhouse, tmp_path) -> Platform:
    """A copy of the Colab-like environment of the test's own, for tests where the cell installs."""
    return Platform(colab_like, wheelhouse, tmp_path)


@pytest.fixture
def course_wheel(wheelhouse, tmp_path) -> Path:
    """The course as a wheel file, with ``pyproject.toml``'s dependencies."""
    folder = tmp_path / "dist"
    folder.mkdir()
    return write_wheel(folder, "cnn-course-helpers", "0.1.0", DEPENDENCIES, COURSE_FILES)


def failure(result: subprocess.CompletedProcess) -> str:
    """The cell's message when it stopped (``SystemExit``), checked to be one message, not a traceback."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr


def test_a_wheel_named_in_a_cell_above_installs_and_keeps_the_platforms_packages(fresh_platform, course_wheel):
    before = fresh_platform.versions()
    result = fresh_platform.run_cell(variable=str(course_wheel), environ=str(course_wheel.parent / "not-this.whl"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "helpers: tests/test_setup_cell.py" in result.stdout  # the running kernel sees the new package
    kept = ", ".join(f"{name} {FLOORS[name]}" for name in ("tensorflow", "keras", "numpy"))
    assert f"Installing the course helpers from {course_wheel}, keeping {kept} ..." in result.stdout
    after = fresh_platform.versions()
    assert {name: after[name] for name in before} == before
    assert after["cnn-course-helpers"] == "0.1.0" and "pillow" in after  # what was missing was added
    assert "Successfully installed" in fresh_platform.log.read_text()


def test_the_platforms_numpy_is_kept_even_where_a_newer_dependency_wants_numpy_2(fresh_platform, course_wheel):
    """pandas is missing; pip's first choice (3.0.0) needs NumPy 2, which would replace the NumPy that
    TensorFlow was built against. The cell makes pip take the pandas that works with the NumPy there."""
    result = fresh_platform.run_cell(where="kaggle", environ=str(course_wheel))
    assert result.returncode == 0, result.stdout + result.stderr
    after = fresh_platform.versions()
    assert after["numpy"] == FLOORS["numpy"] and after["pandas"] == FLOORS["pandas"]


def test_keras_older_than_the_floor_is_kept_and_the_cell_says_so(bare_platform, wheelhouse, tmp_path, course_wheel):
    """A platform with Keras 3.0: without the constraints pip would upgrade Keras inside the running runtime."""
    plat = Platform(bare_platform, wheelhouse, tmp_path)
    plat.preinstall(f"tensorflow=={FLOORS['tensorflow']}", "keras==3.0.0", f"numpy=={FLOORS['numpy']}")
    message = failure(plat.run_cell(environ=str(course_wheel)))
    assert f"keras>={FLOORS['keras']}" in message and "(constraint) keras==3.0.0" in message
    assert "never replaces its TensorFlow, Keras or NumPy" in message and "Always use latest environment" in message
    versions = plat.versions()
    assert versions["keras"] == "3.0.0" and "cnn-course-helpers" not in versions


def test_tensorflow_older_than_the_floor_is_kept_and_the_cell_says_so(bare_platform, wheelhouse, tmp_path,
                                                                       course_wheel):
    """pip names one conflict at a time: with TensorFlow 2.15 and Keras 3.0, TensorFlow's comes first."""
    plat = Platform(bare_platform, wheelhouse, tmp_path)
    plat.preinstall("tensorflow==2.15.0", "keras==3.0.0", f"numpy=={FLOORS['numpy']}")
    message = failure(plat.run_cell(where="kaggle", environ=str(course_wheel)))
    assert f"tensorflow>={FLOORS['tensorflow']}" in message and "(constraint) tensorflow==2.15.0" in message
    versions = plat.versions()
    assert (versions["tensorflow"], versions["keras"]) == ("2.15.0", "3.0.0")


def test_a_zip_from_a_web_address_in_the_environment_installs(fresh_platform, httpserver, tmp_path):
    httpserver.expect_request("/archive/main.zip").respond_with_data(
        course_zip(tmp_path / "main.zip").read_bytes(), content_type="application/zip")
    result = fresh_platform.run_cell(where="kaggle", environ=httpserver.url_for("/archive/main.zip"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "helpers: tests/test_setup_cell.py" in result.stdout


def test_a_path_that_does_not_exist(platform, tmp_path):
    missing = tmp_path / "uploads" / "cnn_course_helpers-0.1.0-py3-none-any.whl"
    message = failure(platform.run_cell(variable=str(missing)))
    assert f"Could not install the course helpers from {missing}: there is no file or folder at this path" in message
    assert f"No such file or directory: '{missing}'" in message
    assert "upload the file first" in message and str(platform.cwd) in message


def test_a_zip_that_is_not_a_python_package(platform, tmp_path):
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("photos/readme.txt", "not the course")
    message = failure(platform.run_cell(variable=archive.as_uri()))
    assert "this is not an installable package" in message and "does not appear to be a Python project" in message


def test_a_git_address_with_no_repository(platform, tmp_path):
    spec = f"git+{(tmp_path / 'renamed-course').as_uri()}@main"
    message = failure(platform.run_cell(variable=spec))
    assert f"Could not install the course helpers from {spec}: there is no public repository" in message
    assert "does not appear to be a git repository" in message and "COURSE_HELPERS_SPEC" in message
    assert "This error originates from a subprocess" not in message


def test_a_branch_that_does_not_exist(platform, tmp_path):
    repo = tmp_path / "fork"
    repo.mkdir()
    (repo / "pyproject.toml").write_text('[project]\nname = "cnn-course-helpers"\nversion = "0.1.0"\n')
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "course"]):
        subprocess.run(git + args, check=True, env=platform.env, capture_output=True)
    message = failure(platform.run_cell(variable=f"git+{repo.as_uri()}@no-such-branch"))
    assert "the repository has no branch, tag or commit of that name" in message
    assert "pathspec 'no-such-branch' did not match" in message


def test_a_repository_that_asks_for_a_password(platform, httpserver):
    """GitHub answers a private, renamed or missing repository with a password request; the cell never
    waits for one, and says what it means."""
    httpserver.expect_request(re.compile("/owner/course.*")).respond_with_data(
        "", status=401, headers={"WWW-Authenticate": 'Basic realm="GitHub"'})
    spec = f"git+{httpserver.url_for('/owner/course')}@main"
    message = failure(platform.run_cell(where="kaggle", variable=spec))
    assert "there is no public repository at this address" in message
    assert f"could not read Username for '{httpserver.url_for('').rstrip('/')}': terminal prompts disabled" in message


def test_a_host_that_does_not_resolve(platform):
    """What an offline Kaggle session prints for the default address."""
    message = failure(platform.run_cell(where="kaggle", variable="git+https://course.invalid/owner/course@main"))
    assert "this runtime could not reach the server" in message and "Could not resolve host: course.invalid" in message
    assert "Settings > Internet on" in message


def test_a_server_that_refuses_connections(platform):
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = f"http://127.0.0.1:{port}/cnn_course_helpers-0.1.0-py3-none-any.whl"
    message = failure(platform.run_cell(variable=spec))
    assert "this runtime could not reach the server" in message and "Connection refused" in message


def test_a_web_address_that_answers_404(platform, httpserver):
    httpserver.expect_request("/dist/cnn_course_helpers-0.1.0-py3-none-any.whl").respond_with_data(
        "gone", status=404)
    spec = httpserver.url_for("/dist/cnn_course_helpers-0.1.0-py3-none-any.whl")
    message = failure(platform.run_cell(variable=spec))
    assert "the server refused the download" in message and f"HTTP error 404 while getting {spec}" in message


def test_a_dependency_with_no_release(platform, tmp_path):
    wheel = write_wheel(tmp_path, "cnn-course-helpers", "0.1.0", [*DEPENDENCIES, "not-released-anywhere>=1"],
                        COURSE_FILES)
    message = failure(platform.run_cell(variable=str(wheel)))
    assert "pip found no release of a package the course needs" in message
    assert "No matching distribution found for not-released-anywhere" in message


def test_every_failure_keeps_pips_whole_output_and_says_where(platform, tmp_path):
    message = failure(platform.run_cell(variable=f"git+{(tmp_path / 'nothing').as_uri()}"))
    assert f"pip's full output: {platform.log}" in message
    log = platform.log.read_text()
    assert log.startswith(f"$ {platform.python} -m pip install") and "--constraint" in log
    assert "Running command git clone" in log  # pip's own lines, not only the ones the message quotes


def test_a_spec_set_on_purpose_wins_over_a_clone(platform, tmp_path):
    """In a clone of the course (``../helpers`` exists) the cell uses the clone, unless told to install."""
    (tmp_path / "helpers").mkdir()
    message = failure(platform.run_cell(where="local", variable=str(tmp_path / "fork.zip")))
    assert f"Could not install the course helpers from {tmp_path / 'fork.zip'}" in message
