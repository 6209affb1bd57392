"""Where an instance is and how to reach it, as schedctl decides.

An instance is named by a URI: ``unix:/path/to/socket`` (the local
connector, which the peer's uid authenticates), ``http://HOST:PORT``, or
``https://HOST:PORT`` trusting a given CA or else the system's roots, with
a client certificate and key for mutual TLS. With no URI given,
``QUIVER_URI`` (when set and not empty) names it, else this user's own
schedd: ``$XDG_RUNTIME_DIR/quiver/schedd.sock``, or
``/tmp/quiver-UID/schedd.sock`` without ``XDG_RUNTIME_DIR``. A bearer
token, read from a file, goes with every call (schedd asks for one on TCP
when started with ``--token-file``).

:class:`Endpoint` holds the outcome: the gRPC target, the channel
credentials and the call metadata; :mod:`quiver.client` and
:mod:`quiver.aio` open their channels from it.
"""
from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple, Union

import grpc

from .errors import UsageError

#: The largest message the client sends or takes (a large graph's JGF is big).
MAX_MESSAGE = 1 << 30

#: Seconds a client waits for the connection, as schedctl does.
CONNECT_TIMEOUT = 10.0

PathLike = Union[str, "os.PathLike[str]"]

#: Channel options of every client.
CHANNEL_OPTIONS: List[Tuple[str, int]] = [
    ("grpc.max_send_message_length", MAX_MESSAGE),
    ("grpc.max_receive_message_length", MAX_MESSAGE),
]


def default_socket_path() -> Path:
    """The socket this user's schedd serves by default."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "quiver" / "schedd.sock"
    return Path(f"/tmp/quiver-{os.geteuid()}") / "schedd.sock"


def default_uri() -> str:
    """``unix:`` and this user's default socket."""
    return f"unix:{default_socket_path()}"


def resolve_uri(given: Optional[str] = None) -> str:
    """The URI to use: the one given, else a non-empty ``QUIVER_URI``, else
    :func:`default_uri`."""
    if given is not None:
        return given
    env = os.environ.get("QUIVER_URI")
    return env if env else default_uri()


def _read(path: PathLike, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read the {what} {os.fspath(path)}: {e.strerror or e}") from None


def read_token(path: PathLike) -> str:
    """The bearer token in ``path`` (surrounding white space is not part of it)."""
    text = _read(path, "token file").decode("utf-8", "replace").strip()
    if not text:
        raise UsageError(f"the token file {os.fspath(path)} is empty")
    if any(not (0x20 <= ord(c) < 0x7F) for c in text):
        raise UsageError(
            f"the token in {os.fspath(path)} holds characters a header cannot carry"
        )
    return text


def _system_roots() -> Optional[bytes]:
    """The system's trusted roots, as schedctl trusts them (None: gRPC's own)."""
    cafile = ssl.get_default_verify_paths().cafile
    if cafile:
        try:
            return Path(cafile).read_bytes()
        except OSError:
            pass
    return None


@dataclass(frozen=True)
class Endpoint:
    """A resolved URI: what a channel is opened on."""

    #: The URI as given or resolved (what error messages name).
    uri: str
    #: The gRPC target (``unix:/path`` or ``host:port``).
    target: str
    #: TLS credentials for https, None for a plain channel.
    credentials: Optional[grpc.ChannelCredentials] = None
    #: Metadata sent with every call (the bearer token).
    metadata: Tuple[Tuple[str, str], ...] = field(default=())

    @property
    def options(self) -> List[Tuple[str, Union[int, str]]]:
        """The channel's options."""
        opts: List[Tuple[str, Union[int, str]]] = list(CHANNEL_OPTIONS)
        if self.target.startswith("unix:"):
            # gRPC would send the socket path, percent-escaped, as the
            # :authority, which schedd's HTTP/2 server refuses as malformed.
            opts.append(("grpc.default_authority", "localhost"))
        return opts

    @property
    def hint(self) -> str:
        """What to check when nobody answers."""
        if self.uri.startswith("unix:"):
            return " (is schedd running? the uri argument or QUIVER_URI name another instance)"
        return ""


def endpoint(
    uri: Optional[str] = None,
    *,
    token_file: Optional[PathLike] = None,
    tls_ca: Optional[PathLike] = None,
    tls_cert: Optional[PathLike] = None,
    tls_key: Optional[PathLike] = None,
) -> Endpoint:
    """Resolve ``uri`` (see the module documentation) and read the files.

    Raises:
        UsageError: an unsupported URI, TLS options for a non-https URI, a
            certificate without its key, an unreadable or empty file.
    """
    uri = resolve_uri(uri)
    metadata: Tuple[Tuple[str, str], ...] = ()
    if token_file is not None:
        metadata = (("authorization", f"Bearer {read_token(token_file)}"),)
    tls_given = tls_ca is not None or tls_cert is not None or tls_key is not None
    if uri.startswith("unix:"):
        if tls_given:
            raise UsageError("tls_ca/tls_cert/tls_key apply to https:// URIs only")
        path = uri[len("unix:"):]
        if path.startswith("//"):
            path = path[2:]
        if not path:
            raise UsageError(f"{uri}: no socket path")
        return Endpoint(uri=uri, target=f"unix:{path}", metadata=metadata)
    for scheme in ("http://", "https://"):
        if uri.startswith(scheme):
            hostport = uri[len(scheme):].rstrip("/")
            if not hostport or "/" in hostport:
                raise UsageError(f"bad URI {uri}: use {scheme}HOST:PORT")
            break
    else:
        raise UsageError(
            f"unsupported URI {uri!r}: use unix:/path, http://HOST:PORT or https://HOST:PORT"
        )
    if scheme == "http://":
        if tls_given:
            raise UsageError("tls_ca/tls_cert/tls_key apply to https:// URIs only")
        return Endpoint(uri=uri, target=hostport, metadata=metadata)
    if (tls_cert is None) != (tls_key is None):
        raise UsageError("a client certificate and its key go together")
    if tls_ca is not None:
        roots: Optional[bytes] = _read(tls_ca, "CA certificate")
    else:
        roots = _system_roots()
    creds = grpc.ssl_channel_credentials(
        root_certificates=roots,
        private_key=_read(tls_key, "client key") if tls_key is not None else None,
        certificate_chain=_read(tls_cert, "client certificate") if tls_cert is not None else None,
    )
    return Endpoint(uri=uri, target=hostport, credentials=creds, metadata=metadata)
