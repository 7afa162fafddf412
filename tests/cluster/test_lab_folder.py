"""The lab folder (``LABKIT_HOME``): clear errors instead of tracebacks, a lock file never
followed through a symbolic link, temporary files of killed writers cleaned up, permission
problems named as such (never "damaged")."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from labkit.cli.main import main
from labkit.cluster import lifecycle
from labkit.cluster.labdir import remove_stale_temporaries, write_json_atomic
from labkit.cluster.sim_store import FileStore, StateDamaged
from labkit.errors import LabFolderError


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", [["up", "--backend", "simulated"], ["status"], ["get", "pods"]])
@pytest.mark.parametrize(
    ("home", "what"),
    [("FILE", "a regular file"), ("/dev/null", "a character device")],
)
def test_a_lab_folder_that_is_not_a_folder_is_a_clear_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    home: str,
    what: str,
) -> None:
    if home == "FILE":
        home = str(tmp_path / "a-file")
        Path(home).write_text("x")
    monkeypatch.setenv("LABKIT_HOME", home)
    code, _, err = run(capsys, *command)
    assert code == 1
    assert err.startswith(f"error: LABKIT_HOME={home} is not a folder (it is {what})")
    assert "fix: set LABKIT_HOME to a folder" in err


@pytest.mark.skipif(not Path("/proc/1").is_dir(), reason="needs Linux /proc")
def test_a_folder_where_no_file_can_be_created_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LABKIT_HOME", "/proc/1")
    code, _, err = run(capsys, "up", "--backend", "simulated")
    assert code == 1 and err.count("\n") <= 3, err  # a message, not a traceback
    assert "error: the lab folder cannot be used:" in err
    assert "/proc/1" in err and "LABKIT_HOME" in err
    code, out, _ = run(capsys, "down")
    assert code == 0 and "no lab cluster to delete" in out


def test_the_lock_file_is_never_followed_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("do not touch\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / "simulated.json.lock").symlink_to(target)
    store = FileStore(home / "simulated.json")
    with pytest.raises(LabFolderError, match="symbolic link") as err:
        store.replace([])
    assert "rm " in str(err.value)
    assert target.read_text() == "do not touch\n"
    assert not (home / "simulated.json").exists()


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_temporary_files_of_killed_writers_are_removed(tmp_path: Path) -> None:
    record = tmp_path / "cluster.json"
    killed = tmp_path / f".cluster.json.{dead_pid()}.k1l2.tmp"
    old_style = tmp_path / ".cluster.json.abcd1234.tmp"  # no pid: only age tells
    ours = tmp_path / f".cluster.json.{os.getpid()}.live.tmp"
    fresh_old_style = tmp_path / ".cluster.json.efgh5678.tmp"
    other_file = tmp_path / f".simulated.json.{dead_pid()}.x.tmp"
    for path in (killed, old_style, ours, fresh_old_style, other_file):
        path.write_text("{")
    an_hour_ago = time.time() - 3600
    os.utime(old_style, (an_hour_ago, an_hour_ago))
    link = tmp_path / f".cluster.json.{dead_pid()}.link.tmp"
    link.symlink_to(tmp_path / "somewhere")
    write_json_atomic(record, {"backend": "simulated"})
    assert json.loads(record.read_text()) == {"backend": "simulated"}
    assert not killed.exists() and not old_style.exists()
    assert ours.exists() and fresh_old_style.exists() and other_file.exists()
    assert link.is_symlink()  # never a link
    assert remove_stale_temporaries(tmp_path / "simulated.json") == [other_file]


def test_a_permission_problem_says_so_not_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    (tmp_path / "cluster.json").write_text('{"backend": "simulated"}')
    (tmp_path / "simulated.json").write_text("{}")
    real_read_text = Path.read_text

    def refuse(self: Path, *args: object, **kwargs: object) -> str:
        if self.name in ("cluster.json", "simulated.json"):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(LabFolderError) as err:
        lifecycle.read_record()
    assert "permission denied" in str(err.value) and "damaged" not in str(err.value)
    with pytest.raises(LabFolderError) as err:
        FileStore(tmp_path / "simulated.json").read()
    assert "permission denied" in str(err.value) and "damaged" not in str(err.value)


def test_a_write_refused_for_permission_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(LabFolderError, match=r"permission denied \(write .*cluster.json\)"):
        write_json_atomic(tmp_path / "cluster.json", {})


def test_damaged_content_is_still_called_damaged(tmp_path: Path) -> None:
    (tmp_path / "simulated.json").write_bytes(b"\xff\xfe not text")
    with pytest.raises(StateDamaged, match="damaged: not UTF-8"):
        FileStore(tmp_path / "simulated.json").read()
