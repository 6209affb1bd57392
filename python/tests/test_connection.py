"""Which instance a client reaches, and how: schedctl's defaults
(``QUIVER_URI``, this user's socket), TCP with a token, and TLS."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

import quiver
from quiver.connection import default_socket_path, endpoint, resolve_uri

from conftest import RECIPE, Daemon, bin_dir, start_schedd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_defaults_are_schedctls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/7")
    assert default_socket_path() == Path("/run/user/7/quiver/schedd.sock")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "")
    assert default_socket_path() == Path(f"/tmp/quiver-{os.geteuid()}/schedd.sock")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("QUIVER_URI", "http://h:1")
    assert resolve_uri() == "http://h:1"
    assert resolve_uri("unix:/x") == "unix:/x"
    monkeypatch.setenv("QUIVER_URI", "")
    assert resolve_uri() == f"unix:/tmp/quiver-{os.geteuid()}/schedd.sock"
    assert endpoint("unix:///tmp/x.sock").target == "unix:/tmp/x.sock"
    assert endpoint("http://127.0.0.1:5").target == "127.0.0.1:5"


@pytest.mark.parametrize(
    "uri, opts, message",
    [
        ("ftp://h", {}, "unsupported URI"),
        ("unix:", {}, "no socket path"),
        ("unix:/x.sock", {"tls_ca": "ca.pem"}, "https:// URIs only"),
        ("http://h:1", {"tls_ca": "ca.pem"}, "https:// URIs only"),
        ("https://h:1", {"tls_cert": "c.pem"}, "go together"),
        ("unix:/x.sock", {"token_file": "/nonexistent/token"}, "cannot read the token file"),
    ],
)
def test_bad_options_are_usage_errors(uri: str, opts: dict, message: str) -> None:
    with pytest.raises(quiver.UsageError, match=message):
        quiver.Client(uri, **opts)


def test_quiver_uri_and_the_default_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("QUIVER_URI", raising=False)
    d = start_schedd(tmp_path / "a", "--executor", "sim", "--clock", "sim")
    try:
        monkeypatch.setenv("QUIVER_URI", d.uri)
        with quiver.Client() as c:
            assert c.uri == d.uri and c.status().nodes == 4
    finally:
        d.stop()
    # A schedd started without --socket serves the default socket.
    monkeypatch.delenv("QUIVER_URI")
    proc = subprocess.Popen(
        [str(bin_dir() / "schedd"), "--grug", str(RECIPE), "--executor", "sim",
         "--state-dir", str(tmp_path / "b")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    default = Daemon(proc=proc, dir=tmp_path, socket=runtime / "quiver" / "schedd.sock",
                     log=tmp_path / "none")
    try:
        deadline = time.monotonic() + 20
        while not default.socket.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        with quiver.Client() as c:
            assert c.uri == f"unix:{default.socket}"
            assert c.status().source.startswith("grug")
    finally:
        default.stop()


def test_no_server_is_a_connect_error(tmp_path: Path) -> None:
    with pytest.raises(quiver.ConnectError) as e:
        quiver.Client(f"unix:{tmp_path}/none.sock")
    assert "is schedd running?" in str(e.value)
    port = free_port()
    with pytest.raises(quiver.ConnectError, match="no answer"):
        quiver.Client(f"http://127.0.0.1:{port}", connect_timeout=0.3)


def test_tcp_with_a_token(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("python-client-token-0123456789\n")
    token.chmod(0o600)
    addr = f"127.0.0.1:{free_port()}"
    d = start_schedd(tmp_path, "--executor", "sim", "--clock", "sim",
                     "--listen", addr, "--token-file", str(token))
    try:
        with quiver.Client(f"http://{addr}", token_file=token) as c:
            job = c.submit(command="app", duration=5)
            assert c.info(job).owner_uid == os.geteuid()
        with quiver.Client(f"http://{addr}") as c:
            with pytest.raises(quiver.Unauthenticated):
                c.status()
    finally:
        d.stop()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")
def test_https_trusting_a_ca(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    port = free_port()
    d = start_schedd(tmp_path, "--executor", "sim", "--clock", "sim",
                     "--listen", f"127.0.0.1:{port}", "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        with quiver.Client(f"https://127.0.0.1:{port}", tls_ca=cert) as c:
            assert c.status().clock == "sim"
    finally:
        d.stop()
