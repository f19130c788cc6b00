"""Universal-auth trusted IP lists: how the service reshapes them and how it checks them.

Clients send ``[{"ipAddress": "10.0.0.0/8"}]``; the service answers with the parsed form
``[{"ipAddress": "10.0.0.0", "prefix": 8, "type": "ipv4"}]`` (no ``prefix`` for a single
address). A reconciler has to compare address plus prefix, so the emulator reshapes the
same way. Login checks the client address against ``clientSecretTrustedIps``; every
request with an issued token checks it against ``accessTokenTrustedIps``.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from converge_sandbox.infisical.errors import bad_request, forbidden

DEFAULT_TRUSTED_IPS: list[dict[str, str]] = [{"ipAddress": "0.0.0.0/0"}, {"ipAddress": "::/0"}]


def reshape_trusted_ips(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parse ``[{ipAddress}]`` into the stored/returned ``[{ipAddress, prefix?, type}]``."""
    reshaped: list[dict[str, Any]] = []
    for entry in entries:
        raw = str(entry.get("ipAddress", "")).strip()
        try:
            if "/" in raw:
                network = ipaddress.ip_network(raw, strict=False)
                reshaped.append({"ipAddress": str(network.network_address),
                                 "prefix": network.prefixlen,
                                 "type": f"ipv{network.version}"})
            else:
                address = ipaddress.ip_address(raw)
                reshaped.append({"ipAddress": str(address), "type": f"ipv{address.version}"})
        except ValueError:
            raise bad_request("The IP is not a valid IPv4, IPv6, or CIDR block") from None
    return reshaped


def ip_allowed(client_ip: str, trusted: list[dict[str, Any]]) -> bool:
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    for entry in trusted:
        prefix = entry.get("prefix")
        spec = f"{entry['ipAddress']}/{prefix}" if prefix is not None else entry["ipAddress"]
        network = ipaddress.ip_network(spec, strict=False)
        if network.version == address.version and address in network:
            return True
    return False


def check_ip(client_ip: str, trusted: list[dict[str, Any]]) -> None:
    """Refuse the request the way the service does when the caller's IP is not trusted."""
    if not ip_allowed(client_ip, trusted):
        raise forbidden("You are not allowed to access this resource")
