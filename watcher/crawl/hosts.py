"""Where a source's requests may go: its own hosts, the hosts it lists, and never an internal address.

A portal's page decides which links are followed (list items, detail pages, attachments, redirects), so
without a rule a page could send the crawler to `http://169.254.169.254/` (a cloud metadata service), to
`localhost`, or to any machine of the network it runs in, and store what answers. The rule, checked for
every request and every redirect hop:

- the host must be one of the source's own (the hosts of its `urls`, `www.` or not) or match an entry of
  `fetch.allow_hosts` (`files.example.gov.cn`, or `*.example.gov.cn` for its subdomains);
- the address it connects to is never link-local (169.254.0.0/16, fe80::/10) nor a cloud metadata
  address, and is private or loopback only when the source's own host is (`address_refusal`; checked
  at connect time in `watcher.crawl.transport`, so a name that resolves there is caught too).

Numeric host spellings (`0x7f000001`, `2130706433`, `127.1`, `0177.0.0.1`, `[::ffff:127.0.0.1]`) are
normalised to the address they mean before they are compared.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services: the link-local ones are refused as link-local; these are named for the
# clouds that put theirs elsewhere (Alibaba Cloud's 100.100.100.200, AWS's IPv6 fd00:ec2::254).
METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
_NUMERIC = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


def as_address(host: str) -> IPAddress | None:
    """The address a host spelled as a number means (every form inet_aton accepts, IPv6 in brackets), else None."""
    host = host.strip("[]")
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        if not _NUMERIC.match(host):
            return None
        try:  # 0x7f000001, 2130706433, 127.1, 0177.0.0.1: what the resolver would connect to
            ip = ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, ValueError):
            return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def normalise_host(host: str) -> str:
    """Lower case, no trailing dot, numeric spellings as the address they mean."""
    host = host.strip().lower().rstrip(".")
    ip = as_address(host)
    return str(ip) if ip is not None else host


def _bare(host: str) -> str:
    return host.removeprefix("www.")


def address_refusal(ip: IPAddress, private_ok: bool) -> str | None:
    """Why a connection to `ip` is refused, or None when it is allowed."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA:
        return f"{ip} is a cloud metadata address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return f"{ip} is not a unicast address"
    if not ip.is_global and not private_ok:
        return f"{ip} is a private or loopback address and the source is not on one"
    return None


@dataclass(frozen=True)
class HostScope:
    """The hosts one source may fetch from: its own, and those it allows (exact or `*.suffix`)."""

    own: frozenset[str]
    allowed: frozenset[str] = frozenset()

    @classmethod
    def of(cls, hosts: Iterable[str], allow: Iterable[str] = ()) -> HostScope:
        """The scope of a source whose URLs are on `hosts` and which allows `allow`."""
        own = {normalise_host(h) for h in hosts}
        return cls(frozenset(h for h in own if h), frozenset(normalise_host(a) for a in allow))

    def admits(self, host: str) -> bool:
        host = normalise_host(host)
        if _bare(host) in {_bare(h) for h in self.own}:
            return True
        for pattern in self.allowed:
            if pattern.startswith("*.") and (host.endswith(pattern[1:]) or host == pattern[2:]):
                return True
            if host == pattern:
                return True
        return False

    def refusal(self, url: str) -> str | None:
        """Why `url` may not be fetched for this source (by its scheme and host), or None."""
        return self.refusal_of(urlsplit(url))

    def refusal_of(self, parts: SplitResult) -> str | None:
        """`refusal` of a URL the caller has split already."""
        return _refusal(self, parts.scheme, parts.hostname or "")


@functools.lru_cache(maxsize=4096)
def _refusal(scope: HostScope, scheme: str, host: str) -> str | None:
    """`HostScope.refusal` of a URL by its scheme and host: asked for each request, of a few hosts (kept:
    normalising and matching the host again each time was 3% of a request's CPU in bench/fetch.py)."""
    if scheme not in ("http", "https"):
        return f"only http and https are fetched, not {scheme or 'a relative URL'}"
    if not host:
        return "the URL names no host"
    ip = as_address(host)
    if ip is not None and (why := address_refusal(ip, private_ok=True)) is not None:
        return why  # never, whoever lists it
    if not scope.admits(host):
        return f"{normalise_host(host)} is not one of the source's hosts (list it in fetch.allow_hosts)"
    return None
