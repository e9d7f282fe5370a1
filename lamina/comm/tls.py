"""TLS contexts for ``tls://`` addresses, from a ``Security``'s files.

A server needs a certificate and its key; with ``tls_mutual`` it requires
clients to present a certificate signed by its CA (mutual TLS). A client
checks the server's certificate and host name against its CA (the system's
when none is given) and presents its own certificate when it has one::

    server = server_context(Security(secret, "server.pem", "server.key", "ca.pem"))
    client = client_context(Security(secret, "client.pem", "client.key", "ca.pem"))
"""

from __future__ import annotations

import ssl

from lamina.comm.security import Security


def server_context(security: Security) -> ssl.SSLContext:
    """The context a ``tls://`` listener wraps its connections in."""
    if not security.tls_cert:
        raise ValueError("a tls:// address needs this process's certificate: give "
                         "--tls-cert and --tls-key (or Security(tls_cert=..., tls_key=...))")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=security.tls_ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(security.tls_cert, security.tls_key)
    if security.tls_mutual:
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(security: Security) -> ssl.SSLContext:
    """The context a connection to a ``tls://`` address is made with."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=security.tls_ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if security.tls_cert:
        context.load_cert_chain(security.tls_cert, security.tls_key)
    return context
