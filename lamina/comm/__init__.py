"""Messages between clients, the scheduler and workers.

``wire`` encodes values (msgpack header, raw buffer frames, opaque
pickled blobs from ``opaque``) and takes an extension for the types it
does not know, such as layers (``lamina.layers.codec``); ``core`` defines
a connection (``Comm``) and the handshake, in which ``auth`` proves the
cluster secret that ``security`` finds; ``tcp`` (with ``tls``) and ``inproc``
are its transports; ``process`` runs a scheduler or worker as a process
(signals, parent watch, ready line)::

    comm = await connect("tcp://127.0.0.1:8786", {"role": "client"})
    await comm.write({"op": "info"})
    reply = await comm.read()
"""

from lamina.comm.auth import AuthenticationError
from lamina.comm.core import Comm, CommClosedError, ProtocolError, connect, listen
from lamina.comm.security import Security
from lamina.comm.wire import Blob, Packed, WireError, dumps, loads

__all__ = ["AuthenticationError", "Blob", "Comm", "CommClosedError", "Packed", "ProtocolError",
           "Security", "WireError", "connect", "dumps", "listen", "loads"]
