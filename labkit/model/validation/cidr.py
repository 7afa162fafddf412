"""CIDR values of ``ipBlock.cidr`` and ``ipBlock.except``, parsed exactly as the API server does.

Kubernetes parses these "legacy" fields with ``netutils.ParseCIDRSloppy`` (``k8s.io/utils/net``,
a fork of Go 1.16's ``net.ParseCIDR`` that still accepts leading zeros) and, with strict
validation, also with Go's ``netip.ParsePrefix``
(``apimachinery/pkg/util/validation/ip.go``, ``IsValidCIDRForLegacyField``):

* sloppy parsing failure: "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
  ("not a valid CIDR" before 1.30);
* strict (StrictIPCIDRValidation, on by default from 1.36), one of, in this order:
  "must not have leading 0s in IP or prefix length", "must not have an IPv4-mapped IPv6
  address", "must not have bits set beyond the prefix length";
* without strict validation these values are accepted and the API server warns instead
  (``GetWarningsForCIDR``): an ambiguous CIDR with host bits, a non-standard one, or an IPv6
  CIDR that is not in RFC 5952 canonical form (this last warning exists from 1.36 on too).

Python's :mod:`ipaddress` differs from Go on every one of these points, so the Go parsers are
reproduced here on bytes, including how ``net.IPNet.Contains`` and ``Mask.Size`` treat IPv4
and IPv4-mapped IPv6 values (the ``except`` strict-subset check depends on them).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from labkit.model.validation.messages import go_quote

IPV4_LEN = 4
IPV6_LEN = 16
_BIG = 0xFFFFFF
_V4_IN_V6_PREFIX = bytes(10) + b"\xff\xff"

SLOPPY_ERROR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
SLOPPY_ERROR_OLD = "not a valid CIDR"
LEADING_ZEROS = "must not have leading 0s in IP or prefix length"
V4_MAPPED = "must not have an IPv4-mapped IPv6 address"
HOST_BITS = "must not have bits set beyond the prefix length"


class GoCIDR(NamedTuple):
    """The result of ``ParseCIDRSloppy``: the address as written and the ``IPNet``."""

    ip: bytes
    """The full address (16 bytes; IPv4 in Go's v4-in-v6 form)."""
    network: bytes
    """``IPNet.IP``: the masked address, 4 bytes for IPv4 and 16 for IPv6."""
    mask: bytes
    bits: int
    ipv4_syntax: bool
    """Written as IPv4 (``iplen = IPv4len``), as opposed to IPv6 (including ``::ffff:a.b.c.d``)."""

    @property
    def mask_size(self) -> int:
        """``IPNet.Mask.Size()`` ones."""
        return self.bits

    def contains(self, ip: bytes) -> bool:
        """``net.IPNet.Contains``."""
        nn, m = _network_number_and_mask(self.network, self.mask)
        if nn is None or m is None:
            return False
        x = to4(ip)
        if x is not None:
            ip = x
        if len(ip) != len(nn):
            return False
        return all(nn[i] & m[i] == ip[i] & m[i] for i in range(len(ip)))

    def network_string(self) -> str:
        """``IPNet.String()``."""
        nn, m = _network_number_and_mask(self.network, self.mask)
        if nn is None or m is None:
            return "<nil>"
        ones = sum(bin(b).count("1") for b in m)
        return f"{ip_string(nn)}/{ones}"


def _dtoi(s: bytes) -> tuple[int, int, bool]:
    n = 0
    i = 0
    while i < len(s) and 0x30 <= s[i] <= 0x39:
        n = n * 10 + (s[i] - 0x30)
        if n >= _BIG:
            return _BIG, i, False
        i += 1
    if i == 0:
        return 0, 0, False
    return n, i, True


def _xtoi(s: bytes) -> tuple[int, int, bool]:
    n = 0
    i = 0
    while i < len(s):
        c = s[i]
        if 0x30 <= c <= 0x39:
            n = n * 16 + (c - 0x30)
        elif 0x61 <= c <= 0x66:
            n = n * 16 + (c - 0x61 + 10)
        elif 0x41 <= c <= 0x46:
            n = n * 16 + (c - 0x41 + 10)
        else:
            break
        if n >= _BIG:
            return 0, i, False
        i += 1
    if i == 0:
        return 0, i, False
    return n, i, True


def _parse_ipv4(s: bytes, strict: bool) -> bytes | None:
    """Go 1.16 ``parseIPv4`` (leading zeros allowed unless ``strict``, as in ``netip``)."""
    out = bytearray()
    for i in range(IPV4_LEN):
        if not s:
            return None
        if i > 0:
            if s[0] != 0x2E:
                return None
            s = s[1:]
        n, c, ok = _dtoi(s)
        if not ok or n > 0xFF:
            return None
        if strict and c > 1 and s[0] == 0x30:
            return None
        s = s[c:]
        out.append(n)
    if s:
        return None
    return _V4_IN_V6_PREFIX + bytes(out)


def _parse_ipv6(s: bytes, strict: bool) -> bytes | None:
    """Go 1.16 ``parseIPv6``; ``strict`` adds ``netip``'s four-hex-digit limit."""
    ip = bytearray(IPV6_LEN)
    ellipsis = -1
    if len(s) >= 2 and s[0] == 0x3A and s[1] == 0x3A:
        ellipsis = 0
        s = s[2:]
        if not s:
            return bytes(ip)
    i = 0
    while i < IPV6_LEN:
        n, c, ok = _xtoi(s)
        if not ok or n > 0xFFFF or (strict and c > 4):
            return None
        if c < len(s) and s[c] == 0x2E:
            if ellipsis < 0 and i != IPV6_LEN - IPV4_LEN:
                return None
            if i + IPV4_LEN > IPV6_LEN:
                return None
            ip4 = _parse_ipv4(s, strict)
            if ip4 is None:
                return None
            ip[i : i + 4] = ip4[12:16]
            s = b""
            i += IPV4_LEN
            break
        ip[i] = n >> 8
        ip[i + 1] = n & 0xFF
        i += 2
        s = s[c:]
        if not s:
            break
        if s[0] != 0x3A or len(s) == 1:
            return None
        s = s[1:]
        if s[0] == 0x3A:
            if ellipsis >= 0:
                return None
            ellipsis = i
            s = s[1:]
            if not s:
                break
    if s:
        return None
    if i < IPV6_LEN:
        if ellipsis < 0:
            return None
        n = IPV6_LEN - i
        for j in range(i - 1, ellipsis - 1, -1):
            ip[j + n] = ip[j]
        for j in range(ellipsis + n - 1, ellipsis - 1, -1):
            ip[j] = 0
    elif ellipsis >= 0:
        return None
    return bytes(ip)


def _cidr_mask(ones: int, bits: int) -> bytes:
    value = ((1 << ones) - 1) << (bits - ones) if ones else 0
    return value.to_bytes(bits // 8, "big")


def to4(ip: bytes) -> bytes | None:
    """``net.IP.To4``."""
    if len(ip) == IPV4_LEN:
        return ip
    if len(ip) == IPV6_LEN and ip[:12] == _V4_IN_V6_PREFIX:
        return ip[12:]
    return None


def _ip_mask(ip: bytes, mask: bytes) -> bytes | None:
    """``net.IP.Mask``."""
    if len(mask) == IPV6_LEN and len(ip) == IPV4_LEN and mask[:12] == b"\xff" * 12:
        mask = mask[12:]
    if len(mask) == IPV4_LEN and len(ip) == IPV6_LEN and ip[:12] == _V4_IN_V6_PREFIX:
        ip = ip[12:]
    if len(ip) != len(mask):
        return None
    return bytes(a & b for a, b in zip(ip, mask, strict=True))


def _network_number_and_mask(net_ip: bytes, mask: bytes) -> tuple[bytes | None, bytes | None]:
    ip = to4(net_ip)
    if ip is None:
        ip = net_ip
        if len(ip) != IPV6_LEN:
            return None, None
    if len(mask) == IPV4_LEN:
        if len(ip) != IPV4_LEN:
            return None, None
    elif len(mask) == IPV6_LEN:
        if len(ip) == IPV4_LEN:
            mask = mask[12:]
    else:
        return None, None
    return ip, mask


def _split(value: str) -> tuple[bytes, bytes] | None:
    raw = value.encode("utf-8", "surrogatepass")
    slash = raw.find(b"/")
    if slash < 0:
        return None
    return raw[:slash], raw[slash + 1 :]


@lru_cache(maxsize=1024)
def parse_cidr_sloppy(value: str) -> GoCIDR | None:
    """``netutils.ParseCIDRSloppy``; ``None`` when it fails.

    Results are cached (a :class:`GoCIDR` is immutable): policies repeat the same CIDRs, and
    validation reads each one up to three times (errors, warnings, hints)."""
    parts = _split(value)
    if parts is None:
        return None
    addr, mask_text = parts
    ip = _parse_ipv4(addr, strict=False)
    ipv4 = ip is not None
    iplen = IPV4_LEN
    if ip is None:
        iplen = IPV6_LEN
        ip = _parse_ipv6(addr, strict=False)
    n, consumed, ok = _dtoi(mask_text)
    if ip is None or not ok or consumed != len(mask_text) or n < 0 or n > 8 * iplen:
        return None
    mask = _cidr_mask(n, 8 * iplen)
    network = _ip_mask(ip, mask)
    if network is None:  # pragma: no cover - cannot happen for parsed addresses
        return None
    return GoCIDR(ip=ip, network=network, mask=mask, bits=n, ipv4_syntax=ipv4)


def _strict_address(cidr: GoCIDR, value: str) -> bytes | None:
    """The address as ``netip.ParsePrefix`` reads it (4 or 16 bytes), or ``None``."""
    parts = _split(value)
    if parts is None:
        return None
    addr, bits = parts
    if len(bits) > 1 and not 0x31 <= bits[0] <= 0x39:
        return None
    if cidr.ipv4_syntax:
        parsed = _parse_ipv4(addr, strict=True)
        return None if parsed is None else parsed[12:]
    return _parse_ipv6(addr, strict=True)


@lru_cache(maxsize=1024)
def strict_error(cidr: GoCIDR, value: str) -> str:
    """The strict-validation error for a value that parsed sloppily, or ``""``."""
    addr = _strict_address(cidr, value)
    if addr is None:
        return LEADING_ZEROS
    if len(addr) == IPV6_LEN and addr[:12] == _V4_IN_V6_PREFIX:
        return V4_MAPPED
    masked = _ip_mask(addr, _cidr_mask(cidr.bits, len(addr) * 8))
    if masked != addr:
        return HOST_BITS
    return ""


def ip_string(ip: bytes) -> str:
    """``net.IP.String()``: dotted quad for IPv4 (and IPv4-mapped), RFC 5952 for IPv6."""
    v4 = to4(ip)
    if v4 is not None and len(v4) == IPV4_LEN:
        return ".".join(str(b) for b in v4)
    return _ipv6_string(ip)


def _ipv6_string(ip: bytes) -> str:
    groups = [(ip[i] << 8) | ip[i + 1] for i in range(0, IPV6_LEN, 2)]
    best_start, best_len = -1, 0
    i = 0
    while i < 8:
        j = i
        while j < 8 and groups[j] == 0:
            j += 1
        if j - i >= 2 and j - i > best_len:
            best_start, best_len = i, j - i
        i = j + 1 if j > i else i + 1
    if best_start < 0:
        return ":".join(f"{g:x}" for g in groups)
    head = ":".join(f"{g:x}" for g in groups[:best_start])
    tail = ":".join(f"{g:x}" for g in groups[best_start + best_len :])
    return f"{head}::{tail}"


def canonical_prefix(cidr: GoCIDR, value: str) -> str | None:
    """``netip.Prefix.String()`` when the value parses strictly (address not masked)."""
    addr = _strict_address(cidr, value)
    if addr is None:
        return None
    if len(addr) == IPV4_LEN:
        return ".".join(str(b) for b in addr) + f"/{cidr.bits}"
    if addr[:12] == _V4_IN_V6_PREFIX:
        return "::ffff:" + ".".join(str(b) for b in addr[12:]) + f"/{cidr.bits}"
    return f"{_ipv6_string(addr)}/{cidr.bits}"


def _ip_equal(a: bytes, b: bytes) -> bool:
    """``net.IP.Equal``."""
    if len(a) == len(b):
        return a == b
    if len(a) == IPV4_LEN and len(b) == IPV6_LEN:
        return b[:12] == _V4_IN_V6_PREFIX and a == b[12:]
    if len(a) == IPV6_LEN and len(b) == IPV4_LEN:
        return a[:12] == _V4_IN_V6_PREFIX and a[12:] == b
    return False


def cidr_warnings(cidr: GoCIDR, value: str) -> list[str]:
    """``GetWarningsForCIDR`` texts, without the leading field path."""
    return list(_cidr_warnings(cidr, value))


@lru_cache(maxsize=1024)
def _cidr_warnings(cidr: GoCIDR, value: str) -> tuple[str, ...]:
    warnings: list[str] = []
    network = cidr.network_string()
    if not _ip_equal(cidr.ip, cidr.network):
        single = f"{ip_string(cidr.ip)}/{len(cidr.mask) * 8}"
        warnings.append(
            f"CIDR value {go_quote(value)} is ambiguous in this context "
            f"(should be {go_quote(network)} or {go_quote(single)}?)"
        )
    addr = _strict_address(cidr, value)
    if addr is None or (len(addr) == IPV6_LEN and addr[:12] == _V4_IN_V6_PREFIX):
        warnings.append(
            f"non-standard CIDR value {go_quote(value)} is invalid: use {go_quote(network)}"
        )
    if not warnings and addr is not None and len(addr) == IPV6_LEN:
        canonical = canonical_prefix(cidr, value)
        if canonical is not None and canonical != value:
            warnings.append(
                f"IPv6 CIDR value {go_quote(value)} should be in RFC 5952 canonical format "
                f"({go_quote(canonical)})"
            )
    return tuple(warnings)


def network_of(value: str) -> str | None:
    """The network Kubernetes reads from a legacy CIDR value (``IPNet.String()``), or ``None``.

    ``10.0.0.5/24`` gives ``10.0.0.0/24`` and ``010.0.0.0/8`` gives ``10.0.0.0/8`` (values that
    Kubernetes up to 1.35 accepts); Python's :func:`ipaddress.ip_network` rejects the latter.
    """
    parsed = parse_cidr_sloppy(value)
    return None if parsed is None else parsed.network_string()
