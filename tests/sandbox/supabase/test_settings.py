"""Project settings the Terraform provider and the CLI manage, by raw request: network
restrictions, SSL enforcement, the pooler and the Postgres config (validated like the
service's schema, and applied to the project's database)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import AUTH_EU, JOURNAL

pytestmark = pytest.mark.anyio
BASE = f"/v1/projects/{AUTH_EU}"


async def test_network_restrictions_start_open_and_apply_replaces_them(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get(f"{BASE}/network-restrictions")
    assert first.status_code == 200
    assert first.json() == {"entitlement": "allowed", "status": "applied",
                            "config": {"dbAllowedCidrs": ["0.0.0.0/0"],
                                       "dbAllowedCidrsV6": ["::/0"]}}
    wanted = {"dbAllowedCidrs": ["203.0.113.0/24"], "dbAllowedCidrsV6": ["2001:db8::/32"]}
    applied = await client.post(f"{BASE}/network-restrictions/apply", json=wanted)
    assert applied.status_code == 201
    assert applied.json()["config"] == wanted and applied.json()["status"] == "applied"
    again = (await client.get(f"{BASE}/network-restrictions")).json()
    assert again["config"] == wanted and "applied_at" in again
    v2 = (await client.get(f"/v2/projects/{AUTH_EU}/config")).json()["data"]["attributes"]
    assert v2["database"]["network_restrictions"]["allowed_cidrs"] == [
        {"address": "203.0.113.0/24", "type": "v4"},
        {"address": "2001:db8::/32", "type": "v6"},
    ]


async def test_network_restrictions_patch_adds_and_removes(client: httpx.AsyncClient) -> None:
    response = await client.patch(f"{BASE}/network-restrictions", json={
        "add": {"dbAllowedCidrs": ["8.8.8.0/24"]}, "remove": {"dbAllowedCidrsV6": ["::/0"]},
    })
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "stored"
    assert body["config"] == {"dbAllowedCidrs": [{"address": "0.0.0.0/0", "type": "v4"},
                                                 {"address": "8.8.8.0/24", "type": "v4"}]}
    assert body["old_config"]["dbAllowedCidrs"][-1] == {"address": "::/0", "type": "v6"}
    stored = (await client.get(f"{BASE}/network-restrictions")).json()["config"]
    assert stored == {"dbAllowedCidrs": ["0.0.0.0/0", "8.8.8.0/24"], "dbAllowedCidrsV6": []}


@pytest.mark.parametrize(("body", "problem"), [
    ({"dbAllowedCidrs": ["not-a-cidr"]}, "dbAllowedCidrs.0: Invalid CIDR 'not-a-cidr'"),
    ({"dbAllowedCidrs": ["10.0.0.1/8"]}, "dbAllowedCidrs.0: Invalid CIDR '10.0.0.1/8'"),
    ({"dbAllowedCidrs": ["::/0"]}, "dbAllowedCidrs.0: '::/0' is not an IPv4 CIDR"),
    ({"dbAllowedCidrs": "0.0.0.0/0"}, "dbAllowedCidrs: Expected array, received string"),
])
async def test_invalid_cidrs_are_refused_and_change_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], problem: str
) -> None:
    before = (await client.get(f"{BASE}/network-restrictions")).json()
    response = await client.post(f"{BASE}/network-restrictions/apply", json=body)
    assert response.status_code == 400 and response.json() == {"message": problem}
    assert (await client.get(f"{BASE}/network-restrictions")).json() == before


async def test_ssl_enforcement_round_trip(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{BASE}/ssl-enforcement")).json() == {
        "currentConfig": {"database": False}, "appliedSuccessfully": True}
    response = await client.put(f"{BASE}/ssl-enforcement",
                                json={"requestedConfig": {"database": True}})
    assert response.status_code == 200
    assert response.json() == {"currentConfig": {"database": True}, "appliedSuccessfully": True}
    assert (await client.get(f"{BASE}/ssl-enforcement")).json()["currentConfig"] == {
        "database": True}
    v2 = (await client.get(f"/v2/projects/{AUTH_EU}/config")).json()["data"]["attributes"]
    assert v2["database"]["ssl_enforced"] is True


@pytest.mark.parametrize(("body", "problem"), [
    ({}, "requestedConfig: Required"),
    ({"requestedConfig": {}}, "requestedConfig.database: Required"),
    ({"requestedConfig": {"database": "yes"}},
     "requestedConfig.database: Expected boolean, received string"),
])
async def test_ssl_enforcement_refuses_bad_bodies(
    client: httpx.AsyncClient, body: dict[str, Any], problem: str
) -> None:
    response = await client.put(f"{BASE}/ssl-enforcement", json=body)
    assert response.status_code == 400 and response.json() == {"message": problem}


async def test_pooler_lists_the_primary_and_patch_changes_mode_and_size(
    client: httpx.AsyncClient,
) -> None:
    [pooler] = (await client.get(f"{BASE}/config/database/pooler")).json()
    assert pooler["identifier"] == AUTH_EU and pooler["database_type"] == "PRIMARY"
    assert pooler["db_user"] == f"postgres.{AUTH_EU}" and pooler["db_port"] == 6543
    assert pooler["pool_mode"] == "transaction" and pooler["default_pool_size"] is None
    assert pooler["connection_string"] == pooler["connectionString"]
    assert pooler["connection_string"].startswith(f"postgresql://postgres.{AUTH_EU}:")
    patched = await client.patch(f"{BASE}/config/database/pooler",
                                 json={"default_pool_size": 25, "pool_mode": "session"})
    assert patched.status_code == 200
    assert patched.json() == {"default_pool_size": 25, "pool_mode": "session"}
    [after] = (await client.get(f"{BASE}/config/database/pooler")).json()
    assert (after["pool_mode"], after["default_pool_size"]) == ("session", 25)
    v2 = (await client.get(f"/v2/projects/{AUTH_EU}/config")).json()["data"]["attributes"]
    assert v2["pooler"]["pool_mode"] == "session" and v2["pooler"]["default_pool_size"] == 25


@pytest.mark.parametrize(("body", "problem"), [
    ({"pool_mode": "statement"},
     "pool_mode: Invalid enum value. Expected 'transaction' | 'session', received "
     "'statement'"),
    ({"default_pool_size": 3001}, "default_pool_size: Number must be less than or equal to 3000"),
    ({"default_pool_size": "25"}, "default_pool_size: Expected number, received string"),
])
async def test_pooler_patch_refuses_bad_values(
    client: httpx.AsyncClient, body: dict[str, Any], problem: str
) -> None:
    response = await client.patch(f"{BASE}/config/database/pooler", json=body)
    assert response.status_code == 400 and response.json() == {"message": problem}


# -- Postgres config ---------------------------------------------------------------------


async def _database_settings(client: httpx.AsyncClient, ref: str) -> dict[str, str]:
    rows = (await client.post(f"/v1/projects/{ref}/database/query", json={"query": """
        select split_part(setting, '=', 1) as name, split_part(setting, '=', 2) as value
        from pg_db_role_setting s, unnest(s.setconfig) as setting
        where s.setdatabase = (select oid from pg_database where datname = current_database())
          and s.setrole = 0"""})).json()
    return {row["name"]: row["value"] for row in rows}


async def test_postgres_config_is_applied_to_the_projects_database(
    client: httpx.AsyncClient,
) -> None:
    body = {"statement_timeout": "10s", "work_mem": "8MB", "max_connections": 120,
            "track_commit_timestamp": True, "restart_database": False}
    response = await client.put(f"{BASE}/config/database/postgres", json=body)
    assert response.status_code == 200
    applied = {"statement_timeout": "10s", "work_mem": "8MB", "max_connections": 120,
               "track_commit_timestamp": True}
    assert response.json() == applied
    assert (await client.get(f"{BASE}/config/database/postgres")).json() == applied
    # Database-level settings are set; server-wide ones (a restart, every project) are not.
    assert await _database_settings(client, AUTH_EU) == {"statement_timeout": "10s",
                                                         "work_mem": "8MB"}
    seen = (await client.post(f"{BASE}/database/query", json={
        "query": "select current_setting('work_mem') as work_mem"})).json()
    assert seen == [{"work_mem": "8MB"}]
    assert await _database_settings(client, JOURNAL) == {}  # other projects untouched
    v2 = (await client.get(f"/v2/projects/{AUTH_EU}/config")).json()["data"]["attributes"]
    assert v2["database"]["postgres_settings"] == applied

    cleared = await client.put(f"{BASE}/config/database/postgres", json={})
    assert cleared.status_code == 200 and cleared.json() == {}
    assert await _database_settings(client, AUTH_EU) == {}


@pytest.mark.parametrize(("body", "problem"), [
    ({"work_mem": "8MB", "bogus_key": 1, "other": True},
     "Unrecognized key(s) in object: 'bogus_key', 'other'"),
    ({"max_connections": "120"}, "max_connections: Expected integer, received string"),
    ({"max_connections": 0}, "max_connections: Number must be greater than or equal to 1"),
    ({"statement_timeout": 10}, "statement_timeout: Expected string, received number"),
    ({"statement_timeout": "10 seconds"}, "statement_timeout: Invalid"),
    ({"track_commit_timestamp": "on"},
     "track_commit_timestamp: Expected boolean, received string"),
    ({"session_replication_role": "primary"},
     "session_replication_role: Invalid enum value. Expected 'origin' | 'replica' | "
     "'local', received 'primary'"),
    ({"work_mem": None}, "work_mem: Expected string, received null"),
    ({"restart_database": "no"}, "restart_database: Expected boolean, received string"),
    ([], "Expected object, received array"),
])
async def test_postgres_config_refuses_unknown_keys_and_wrong_types(
    client: httpx.AsyncClient, body: Any, problem: str
) -> None:
    before = (await client.get(f"{BASE}/config/database/postgres")).json()
    response = await client.put(f"{BASE}/config/database/postgres", json=body)
    assert response.status_code == 400 and response.json() == {"message": problem}
    assert (await client.get(f"{BASE}/config/database/postgres")).json() == before


async def test_a_value_postgres_refuses_changes_nothing(client: httpx.AsyncClient) -> None:
    response = await client.put(f"{BASE}/config/database/postgres",
                                json={"statement_timeout": "5s", "work_mem": "lots"})
    assert response.status_code == 400
    assert 'invalid value for parameter "work_mem": "lots"' in response.json()["message"]
    assert (await client.get(f"{BASE}/config/database/postgres")).json() == {}
    assert await _database_settings(client, AUTH_EU) == {}
