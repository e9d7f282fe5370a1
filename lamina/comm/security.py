"""What a process proves itself with: the cluster's shared secret and TLS files.

Every connection between a client, the scheduler and the workers starts by
proving knowledge of one shared secret (``lamina.comm.auth``). A process
finds that secret, first match wins, in:

1. an explicit argument (``Client(address, auth=...)``, ``--auth-file PATH``),
2. the environment variable ``LAMINA_AUTH_SECRET`` (the secret itself),
3. the file named by the environment variable ``LAMINA_AUTH_FILE``,
4. the default file ``~/.lamina/secret``.

The scheduler creates the file it would read (3 or 4, or ``--auth-file``)
with a fresh random secret when it does not exist yet, readable by its
owner only (mode 0600), so ``lamina scheduler`` followed by ``lamina
worker`` and ``lamina svd --scheduler`` on the same machine (or sharing the
home folder) just works::

    security = Security.for_scheduler()            # creates ~/.lamina/secret once
    security = Security.from_environment()         # a worker or a client reads it
    security = Security(b"...", tls_ca="ca.pem")   # explicit, with TLS
"""

from __future__ import annotations

import os
import secrets
import stat
import time
from dataclasses import dataclass, field
from typing import Any

SECRET_ENV = "LAMINA_AUTH_SECRET"
SECRET_FILE_ENV = "LAMINA_AUTH_FILE"
SECRET_BYTES = 32
HOW_TO_GIVE = (f"give every process the scheduler's secret: the {SECRET_ENV} environment "
               f"variable, a file named by {SECRET_FILE_ENV} or --auth-file, "
               "Client(address, auth=...), or the file ~/.lamina/secret that "
               "`lamina scheduler` writes")


class SecretNotFound(LookupError):
    """No secret was given and no secret file exists (yet)."""


@dataclass(frozen=True)
class Security:
    """The shared secret, and optionally TLS certificate, key and CA files.

    ``tls_cert``/``tls_key``: this process's certificate (a server must
    have one; a client presents it for mutual TLS). ``tls_ca``: the CA that
    signs the cluster's certificates (the system's CAs when None).
    ``tls_mutual``: a listener requires every connecting process to present
    a certificate signed by ``tls_ca`` (mutual TLS).
    """

    secret: bytes
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None
    tls_mutual: bool = False
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or not self.secret:
            raise ValueError("the lamina secret must be non-empty bytes: " + HOW_TO_GIVE)
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("TLS needs both a certificate and its key: give --tls-cert "
                             "and --tls-key together")
        if self.tls_mutual and not self.tls_ca:
            raise ValueError("mutual TLS checks clients against a CA: give --tls-ca "
                             "with --tls-mutual")

    def __repr__(self) -> str:
        return (f"Security(secret=<{len(self.secret)} bytes>, tls_cert={self.tls_cert!r}, "
                f"tls_key={self.tls_key!r}, tls_ca={self.tls_ca!r}, "
                f"tls_mutual={self.tls_mutual})")

    @property
    def scheme(self) -> str:
        """The address scheme a server of this process listens on: tls with a certificate."""
        return "tls" if self.tls_cert else "tcp"

    @classmethod
    def from_environment(cls, auth_file: str | None = None, **tls: Any) -> "Security":
        """The secret of a worker or client: ``auth_file``, the environment, or the
        default file; raise ``SecretNotFound`` (saying how to give one) if none."""
        if auth_file is None and os.environ.get(SECRET_ENV):
            return cls(os.environ[SECRET_ENV].encode(), **tls, source=SECRET_ENV)
        path = secret_path(auth_file)
        if not os.path.exists(path):
            raise SecretNotFound(f"no lamina secret: {path} does not exist; " + HOW_TO_GIVE)
        return cls(read_secret_file(path), **tls, source=path)

    @classmethod
    def when_written(cls, timeout: float, auth_file: str | None = None,
                     **tls: Any) -> "Security":
        """``from_environment``, waiting up to ``timeout`` seconds for the secret file,
        so a worker or client started together with its scheduler finds it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return cls.from_environment(auth_file, **tls)
            except SecretNotFound:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    @classmethod
    def for_scheduler(cls, auth_file: str | None = None, **tls: Any) -> "Security":
        """The scheduler's secret: like ``from_environment``, but the secret file is
        created (0600, a fresh random secret) when it does not exist yet."""
        if auth_file is None and os.environ.get(SECRET_ENV):
            return cls(os.environ[SECRET_ENV].encode(), **tls, source=SECRET_ENV)
        path = secret_path(auth_file)
        if not os.path.exists(path):
            write_secret_file(path, new_secret())
        return cls(read_secret_file(path), **tls, source=path)


def as_security(auth: "Security | str | bytes | None") -> Security:
    """``auth`` as a ``Security``: a secret (text or bytes), or from the environment."""
    if isinstance(auth, Security):
        return auth
    if isinstance(auth, str):
        return Security(auth.encode())
    if isinstance(auth, bytes):
        return Security(auth)
    if auth is None:
        return Security.from_environment()
    raise TypeError(f"auth must be a secret (str or bytes) or a lamina Security, "
                    f"got {type(auth).__name__}")


def new_secret() -> str:
    """A fresh random secret, printable (it may travel in an environment variable)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def secret_path(auth_file: str | None = None) -> str:
    """The secret file: ``auth_file``, else ``$LAMINA_AUTH_FILE``, else ``~/.lamina/secret``."""
    path = auth_file or os.environ.get(SECRET_FILE_ENV) or os.path.join("~", ".lamina", "secret")
    return os.path.abspath(os.path.expanduser(path))


def read_secret_file(path: str) -> bytes:
    """The secret in ``path`` (surrounding whitespace dropped); refuse a file that
    others may read, as ssh does with private keys."""
    mode = os.stat(path).st_mode
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PermissionError(f"the lamina secret file {path} may be read by others "
                              f"(mode {stat.filemode(mode)}): run `chmod 600 {path}`")
    with open(path, "rb") as f:
        secret = f.read().strip()
    if not secret:
        raise ValueError(f"the lamina secret file {path} is empty: delete it to have "
                         "`lamina scheduler` write a new one, or put a secret in it")
    return secret


def write_secret_file(path: str, secret: str) -> None:
    """Create ``path`` holding ``secret``, mode 0600, atomically; keep a file that
    another process created first (both then read the same secret)."""
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    partial = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secret + "\n")
        os.link(partial, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(partial)
