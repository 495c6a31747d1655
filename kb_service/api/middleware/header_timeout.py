"""Below ASGI: uvicorn's HTTP protocol with a deadline on request headers and a cap on connections per client IP.

The cap (`KB_MAX_CONNECTIONS_PER_IP`) keeps one address from taking every file descriptor with idle or trickling
connections: past it, a new connection from that address is closed at once, before a byte is read. Connections
from `KB_TRUSTED_PROXIES` carry many clients and are not capped."""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter
from collections.abc import Sequence

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Generous for a phone on a bad network sending a few hundred bytes, short enough that a client trickling bytes
# holds a connection for seconds rather than minutes.
HEADER_TIMEOUT_SECONDS = 10.0  # from connection, or from the end of the previous response, to the end of headers


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request headers take over `header_timeout` s."""

    # uvicorn 0.54 has no header timeout: a client sending half a request line holds the connection for ever.
    header_timeout = HEADER_TIMEOUT_SECONDS
    max_per_ip = 0  # 0: no cap
    exempt: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = ()
    _open: Counter[str] = Counter()  # connections open per client IP (one event loop: no lock needed)
    _header_timer: asyncio.TimerHandle | None = None
    _counted: str | None = None

    @classmethod
    def configured(cls, max_per_ip: int, trusted: Sequence[str]) -> type[HeaderTimeoutProtocol]:
        """This protocol with its own cap and exemptions (a class: uvicorn makes one per connection)."""
        exempt = [ipaddress.ip_network(t, strict=False) for t in trusted]
        attributes = {"max_per_ip": max_per_ip, "exempt": exempt, "_open": Counter()}
        return type(cls.__name__, (cls,), attributes)

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        client = peer[0] if isinstance(peer, tuple) else None
        if self.max_per_ip and client is not None and not self._is_exempt(client):
            if self._open[client] >= self.max_per_ip:
                transport.close()
                return
            self._open[client] += 1
            self._counted = client
        self._arm_header_timer()

    def _is_exempt(self, client: str) -> bool:
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        return any(address in network for network in self.exempt)

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.pipeline and not self.transport.is_closing():
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        if self._counted is not None:
            self._open[self._counted] -= 1
            if self._open[self._counted] <= 0:
                del self._open[self._counted]
            self._counted = None
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()
