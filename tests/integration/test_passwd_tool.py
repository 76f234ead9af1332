"""staplemq-passwd: creating, adding, replacing and deleting users, the
password read from standard input, the file's mode, atomic rewrites, and
hashes that verify with an independent PBKDF2 (Python's hashlib).

Self-contained (no conftest.py): the binary is $STAPLEMQ_BUILD/
staplemq-passwd, by default build/ at the top of the tree.
"""
import base64
import hashlib
import os
import resource
import signal
import stat
import subprocess
from pathlib import Path

import pytest

BUILD = Path(os.environ.get("STAPLEMQ_BUILD",
                            Path(__file__).resolve().parents[2] / "build"))
TOOL = BUILD / "staplemq-passwd"
FAST = "1000"       # PASSWD_ITER_MIN: keeps the tests quick



def tool(*args, password=None):
    """Run the tool with password (a str or bytes line) on stdin."""
    if isinstance(password, str):
        password = password.encode()
    return subprocess.run([str(TOOL), *map(str, args)],
                          input=password if password is not None else b"",
                          capture_output=True, timeout=60)


def entries(path):
    """{user: hash} of a password file, in file order; no duplicates."""
    out = {}
    for line in Path(path).read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        user, _, h = line.partition(":")
        assert user not in out, f"duplicate {user}"
        out[user] = h
    return out


def verifies(h, password):
    """Check h against password with hashlib, not with our C code."""
    if isinstance(password, str):
        password = password.encode()
    empty, scheme, iters, salt, digest = h.split("$")
    assert empty == "" and scheme == "pbkdf2-sha256"
    salt = base64.b64decode(salt, validate=True)
    digest = base64.b64decode(digest, validate=True)
    assert len(salt) == 16 and len(digest) == 32
    return hashlib.pbkdf2_hmac("sha256", password, salt,
                               int(iters)) == digest


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_create_add_replace_delete(tmp_path):
    f = tmp_path / "users"
    r = tool("-c", "-i", FAST, f, "alice", password="alice-pw\n")
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    assert mode(f) == 0o600
    e = entries(f)
    assert list(e) == ["alice"]
    assert verifies(e["alice"], "alice-pw")
    assert not verifies(e["alice"], "alice-pw\n")
    assert e["alice"].startswith("$pbkdf2-sha256$1000$")

    # Add: alice keeps her exact hash.
    r = tool("-i", FAST, f, "bob", password="bob-pw\n")
    assert r.returncode == 0, r.stderr
    e2 = entries(f)
    assert list(e2) == ["alice", "bob"]
    assert e2["alice"] == e["alice"]
    assert verifies(e2["bob"], "bob-pw")

    # Replace: same place in the file, new password, fresh salt.
    r = tool("-i", FAST, f, "alice", password="new-pw\n")
    assert r.returncode == 0, r.stderr
    e3 = entries(f)
    assert list(e3) == ["alice", "bob"]
    assert verifies(e3["alice"], "new-pw")
    assert not verifies(e3["alice"], "alice-pw")
    assert e3["bob"] == e2["bob"]

    # Delete.
    r = tool("-D", f, "alice")
    assert r.returncode == 0, r.stderr
    assert list(entries(f)) == ["bob"]
    assert mode(f) == 0o600

    # Deleting again fails and leaves the file alone.
    before = f.read_bytes()
    r = tool("-D", f, "alice")
    assert r.returncode == 1
    assert b'no user "alice"' in r.stderr
    assert f.read_bytes() == before

    # -c starts over.
    r = tool("-c", "-i", FAST, f, "carol", password="c\n")
    assert r.returncode == 0, r.stderr
    assert list(entries(f)) == ["carol"]


def test_default_iterations(tmp_path):
    f = tmp_path / "users"
    r = tool("-c", f, "alice", password="pw\n")
    assert r.returncode == 0, r.stderr
    h = entries(f)["alice"]
    assert h.split("$")[2] == "100000"
    assert verifies(h, "pw")


def test_stdin_password_forms(tmp_path):
    f = tmp_path / "users"
    cases = {
        "nl": (b"secret\n", b"secret"),
        "no-newline": (b"secret", b"secret"),
        "crlf": (b"secret\r\n", b"secret"),
        "first-line-only": (b"one\ntwo\n", b"one"),
        "spaces-kept": (b" sp ace \n", b" sp ace "),
        "utf8": ("pässwörd\n".encode(), "pässwörd".encode()),
    }
    assert tool("-c", "-i", FAST, f, "x", password="x\n").returncode == 0
    for user, (given, meant) in cases.items():
        r = tool("-i", FAST, f, user, password=given)
        assert r.returncode == 0, (user, r.stderr)
        assert verifies(entries(f)[user], meant), user

    # Like `echo secret | staplemq-passwd users.txt alice` in a script.
    r = subprocess.run(f"echo secret | '{TOOL}' -i {FAST} '{f}' alice",
                       shell=True, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert verifies(entries(f)["alice"], "secret")


@pytest.mark.parametrize("given", [b"", b"\n", b"\r\n"])
def test_empty_or_missing_password(tmp_path, given):
    f = tmp_path / "users"
    r = tool("-c", "-i", FAST, f, "alice", password=given)
    assert r.returncode == 1
    assert b"password" in r.stderr
    assert not f.exists()


@pytest.mark.parametrize("user", ["a:b", "a\nb", "", "#a", " a", "a ",
                                  "a\tb"])
def test_bad_user_names(tmp_path, user):
    f = tmp_path / "users"
    r = tool("-c", "-i", FAST, f, user, password="pw\n")
    assert r.returncode == 1
    assert b"invalid user name" in r.stderr
    assert not f.exists()


@pytest.mark.parametrize("args", [
    [], ["only-file"], ["f", "u", "extra"], ["-c", "-D", "f", "u"],
    ["-x", "f", "u"], ["-i"],
])
def test_usage(tmp_path, args):
    r = tool(*args, password="pw\n")
    assert r.returncode == 1
    assert b"usage: staplemq-passwd [-c] [-D] [-i iterations] file " \
        b"username" in r.stderr


@pytest.mark.parametrize("iters", ["999", "10000001", "abc", "-1000",
                                   "1000x", ""])
def test_bad_iterations(tmp_path, iters):
    f = tmp_path / "users"
    r = tool("-c", "-i", iters, f, "alice", password="pw\n")
    assert r.returncode == 1
    assert b"iterations must be a number in 1000..10000000" in r.stderr
    assert not f.exists()


def test_missing_file_needs_c(tmp_path):
    f = tmp_path / "users"
    r = tool("-i", FAST, f, "alice", password="pw\n")
    assert r.returncode == 1
    assert b"use -c to create it" in r.stderr
    assert not f.exists()
    r = tool("-D", f, "alice")
    assert r.returncode == 1
    assert not f.exists()


def test_other_lines_kept_and_duplicates_healed(tmp_path):
    f = tmp_path / "users"
    f.write_text("# staff\n"
                 "\n"
                 "alice:$pbkdf2-sha256$1000$AAAA$BBBB\n"
                 "  # indented comment\n"
                 "bob:keep-me-as-is\n"
                 "alice:$pbkdf2-sha256$1000$CCCC$DDDD\n"
                 "carol:no-final-newline")
    f.chmod(0o600)
    r = tool("-i", FAST, f, "alice", password="pw\n")
    assert r.returncode == 0, r.stderr
    lines = f.read_text().split("\n")
    assert lines[:2] == ["# staff", ""]
    assert lines[2].startswith("alice:$pbkdf2-sha256$1000$")
    assert verifies(lines[2].partition(":")[2], "pw")
    assert lines[3:] == ["  # indented comment", "bob:keep-me-as-is",
                         "carol:no-final-newline", ""]

    r = tool("-D", f, "bob")
    assert r.returncode == 0, r.stderr
    assert "bob:" not in f.read_text()
    assert "# staff\n" in f.read_text()


def test_mode_0600_even_from_loose_file(tmp_path):
    f = tmp_path / "users"
    f.write_text("")
    f.chmod(0o644)
    r = tool("-i", FAST, f, "alice", password="pw\n")
    assert r.returncode == 0, r.stderr
    assert b"was mode 0644, now 0600" in r.stderr
    assert mode(f) == 0o600
    old = os.umask(0)
    try:
        g = tmp_path / "users2"
        r = tool("-c", "-i", FAST, g, "alice", password="pw\n")
        assert r.returncode == 0, r.stderr
        assert mode(g) == 0o600
    finally:
        os.umask(old)


def test_atomic_replace_leaves_no_temp_files(tmp_path):
    f = tmp_path / "users"
    assert tool("-c", "-i", FAST, f, "a", password="1\n").returncode == 0
    ino = os.stat(f).st_ino
    for i in range(5):
        r = tool("-i", FAST, f, f"u{i}", password=f"{i}\n")
        assert r.returncode == 0, r.stderr
    # A new file renamed into place each time, nothing left beside it.
    assert os.stat(f).st_ino != ino
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users"]
    assert list(entries(f)) == ["a"] + [f"u{i}" for i in range(5)]


def test_write_error_keeps_old_file(tmp_path):
    """A write that fails (here: over RLIMIT_FSIZE, with SIGXFSZ ignored
    so that write(2) returns EFBIG) leaves the file and no temp file."""
    f = tmp_path / "users"
    assert tool("-c", "-i", FAST, f, "a", password="1\n").returncode == 0
    before = f.read_bytes()

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(before), ) * 2)

    r = subprocess.run([str(TOOL), "-i", FAST, str(f), "b"], input=b"2\n",
                       capture_output=True, timeout=60, preexec_fn=limit)
    assert r.returncode == 1
    assert b"write" in r.stderr
    assert f.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users"]
