"""`asklake mcp` driven by the official Python MCP SDK, over stdio and over streamable HTTP.

Run by the Rust test `mcp_python_client` (tests/cli/mcp.rs), which builds the binary, generates the demo
lake, starts a loopback fake of Bedrock and passes them in the environment:

- ASKLAKE_BIN: the asklake binary
- ASKLAKE_TEST_LAKE: a demo lake folder
- FAKE_BEDROCK_URL: the fake Bedrock Runtime endpoint (answers one `ask`)
- ASKLAKE_CT2: the CloudTrail 2.0 table's qualified name
"""

import hashlib
import json
import os
import re
import subprocess
import time
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

BIN = os.environ["ASKLAKE_BIN"]
LAKE = os.environ["ASKLAKE_TEST_LAKE"]
CT2 = os.environ["ASKLAKE_CT2"]
TOKEN = "test-token-0123456789abcdef"
TOOLS = {
    "list_tables",
    "describe_table",
    "search_examples",
    "validate_sql",
    "run_sql",
    "ask",
}


def base_env(tmp: Path) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "ASKLAKE_AUDIT_LOG": str(tmp / "audit.jsonl"),
        "AWS_ACCESS_KEY_ID": "AKIDMCP",
        "AWS_SECRET_ACCESS_KEY": "mcp-secret",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for k in ("LD_LIBRARY_PATH", "ORT_DYLIB_PATH", "ASKLAKE_EMBED_MODEL"):
        if k in os.environ:
            env[k] = os.environ[k]
    return env


def lake_digest() -> str:
    """Names, sizes and modification times of every file in the lake: a write would change it."""
    h = hashlib.sha256()
    for p in sorted(Path(LAKE).rglob("*")):
        st = p.stat()
        h.update(f"{p}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def audit_lines(tmp: Path) -> list:
    path = tmp / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def cancelled_runs(tmp: Path) -> list:
    """The audited `run_sql` calls the client cancelled."""
    return [
        line
        for line in audit_lines(tmp)
        if line.get("operation") == "run_sql"
        and line["error"]
        and "cancelled" in line["error"]["message"]
    ]


async def check_common(session: ClientSession, tmp: Path) -> None:
    """What both transports must do."""
    tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == TOOLS
    assert "sql" in tools["run_sql"].input_schema["properties"]

    r = await session.call_tool("list_tables", {})
    assert not r.is_error
    tables = r.structured_content["tables"]
    assert len(tables) == 10, tables
    ct = next(t for t in tables if t["name"] == CT2)
    assert ct["source"] == "cloud_trail_mgmt" and ct["version"] == 2
    assert ct["rows"] > 0 and ct["time_column"] == "time_dt"

    r = await session.call_tool(
        "run_sql",
        {
            "sql": f"SELECT api.operation, count(*) AS n FROM {CT2} GROUP BY 1 ORDER BY 2 DESC",
            "max_rows": 3,
        },
    )
    assert not r.is_error, r.content
    out = r.structured_content
    assert out["row_count"] == 3 and out["truncated"] is True
    assert [c["name"] for c in out["columns"]] == ["operation", "n"]
    assert "attacker-controlled" in r.content[0].text


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path


def test_stdio(tmp: Path) -> None:
    env = base_env(tmp)
    env["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = os.environ["FAKE_BEDROCK_URL"]
    params = StdioServerParameters(
        command=BIN,
        args=["--lake", LAKE, "--llm", "bedrock", "--model", "haiku", "mcp"],
        env=env,
        cwd=str(tmp),
    )
    before = lake_digest()

    async def main() -> None:
        async with (
            stdio_client(params) as (read, write),
            ClientSession(read, write) as session,
        ):
            init = await session.initialize()
            assert init.server_info.name == "asklake"
            await check_common(session, tmp)

            # Resources: every table's schema and the glossary.
            resources = (await session.list_resources()).resources
            uris = {str(r.uri) for r in resources}
            assert f"asklake://tables/{CT2}" in uris and "asklake://glossary" in uris
            assert len(uris) == 11
            text = (
                (await session.read_resource(f"asklake://tables/{CT2}"))
                .contents[0]
                .text
            )
            assert "actor.user.name" in text and '<data kind="sample rows">' in text
            glossary = (
                (await session.read_resource("asklake://glossary")).contents[0].text
            )
            assert "login" in glossary

            # Prompts chain the tools.
            prompts = {p.name for p in (await session.list_prompts()).prompts}
            assert prompts == {
                "investigate_ip",
                "investigate_user",
                "investigate_finding",
            }
            p = await session.get_prompt("investigate_ip", {"ip": "203.0.113.7"})
            body = p.messages[0].content.text
            assert "203.0.113.7" in body and "run_sql" in body

            # describe_table: nested paths, OCSF meanings, the prompts' fenced context.
            r = await session.call_tool(
                "describe_table", {"table": CT2, "question": "who called AssumeRole?"}
            )
            assert not r.is_error, r.content
            d = r.structured_content
            paths = {c["path"]: c for c in d["columns"]}
            assert "actor.user.name" in paths and "src_endpoint.ip" in paths
            assert paths["src_endpoint.ip"]["description"]
            assert '<data kind="frequent values">' in d["context"]
            assert CT2 in d["tables_for_question"]
            r = await session.call_tool("describe_table", {"table": "no_such_table"})
            assert r.is_error

            # search_examples: verified examples from the library.
            r = await session.call_tool(
                "search_examples", {"question": "top source IPs by API calls", "k": 3}
            )
            assert not r.is_error, r.content
            ex = r.structured_content["examples"]
            assert 1 <= len(ex) <= 3 and all("sql" in e and "question" in e for e in ex)

            # validate_sql: a typo names the closest column.
            r = await session.call_tool(
                "validate_sql", {"sql": f"SELECT actor.user.nmae FROM {CT2}"}
            )
            v = r.structured_content
            assert v["valid"] is False and "name" in v["error"]["message"], v
            r = await session.call_tool(
                "validate_sql", {"sql": f"SELECT actor.user.name FROM {CT2}"}
            )
            assert r.structured_content["valid"] is True

            # Hostile SQL is refused with the guard's reason and changes nothing.
            pwned = tmp / "pwned.csv"
            for sql in [
                f"DELETE FROM {CT2}",
                f"DROP TABLE {CT2}",
                f"CREATE TABLE x AS SELECT * FROM {CT2}",
                f"COPY (SELECT * FROM {CT2}) TO '{pwned}'",
                "SELECT * FROM read_csv('/etc/passwd')",
                f"SELECT * FROM read_parquet('{LAKE}/sl2/*/*.parquet')",
                f"SELECT * FROM '{LAKE}/manifest.json'",
                f"SELECT 1 FROM {CT2}; DROP TABLE {CT2}",
                "SELECT name, setting FROM pg_settings",
                "INSTALL httpfs",
            ]:
                r = await session.call_tool("run_sql", {"sql": sql})
                assert r.is_error, sql
                err = r.structured_content["error"]
                assert err["kind"] in ("guard", "query"), (sql, err)
                assert err["message"], sql
            assert not pwned.exists()

            # A long query cancelled by the client (notifications/cancelled) stops; the next call answers.
            long = f"SELECT count(*) FROM {CT2} a, {CT2} b, {CT2} c, {CT2} d"
            with anyio.move_on_after(1.5):
                await session.call_tool("run_sql", {"sql": long})
                raise AssertionError("the long query finished")
            r = await session.call_tool(
                "run_sql", {"sql": f"SELECT count(*) AS n FROM {CT2}"}
            )
            assert not r.is_error

            # ask: the whole pipeline over the loopback fake Bedrock.
            r = await session.call_tool(
                "ask",
                {"question": "Which source IPs made the most API calls last week?"},
            )
            assert not r.is_error, r.content
            a = r.structured_content
            assert a["source"] == "llm" and a["row_count"] > 0, a
            assert "count(*)" in a["sql"].lower()

    anyio.run(main)
    assert lake_digest() == before, "the lake changed"
    ops = [line.get("operation") for line in audit_lines(tmp)]
    for tool in TOOLS:
        assert tool in ops, ops
    rejected = [
        line
        for line in audit_lines(tmp)
        if line.get("operation") == "run_sql" and line["error"]
    ]
    assert len(rejected) >= 10 and all(line["caller"] == "stdio" for line in rejected)
    assert "mcp-secret" not in (tmp / "audit.jsonl").read_text()
    assert len(cancelled_runs(tmp)) == 1, audit_lines(tmp)


class HttpServer:
    def __init__(self, tmp: Path, token: str | None, bind: str = "127.0.0.1:0"):
        args = [BIN, "--lake", LAKE, "mcp", "--http", bind]
        env = base_env(tmp)
        if token:
            env["ASKLAKE_TOKEN"] = token
        self.proc = subprocess.Popen(
            args, env=env, cwd=tmp, stderr=subprocess.PIPE, text=True
        )
        self.url = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.url = m.group(1)
                break
        assert self.url, "the server did not start"

    def cpu_seconds(self) -> float:
        fields = (
            Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        )
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def test_http_with_token_cancellation_and_refusals(tmp: Path) -> None:
    server = HttpServer(tmp, TOKEN)
    try:
        # Without the token (or with a wrong one) every request is refused.
        init = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
        headers = {
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
        }
        assert httpx2.post(server.url, json=init, headers=headers).status_code == 401
        bad = dict(headers, Authorization="Bearer wrong-token-0123456789")
        assert httpx2.post(server.url, json=init, headers=bad).status_code == 401

        async def main() -> None:
            client = httpx2.AsyncClient(
                headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
            )
            async with (
                client,
                streamable_http_client(server.url, http_client=client) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                await check_common(session, tmp)
                # A long query, cancelled by the client, stops: the server goes idle at once and answers
                # the next call.
                long = f"SELECT count(*) FROM {CT2} a, {CT2} b, {CT2} c, {CT2} d"
                with anyio.move_on_after(2):
                    await session.call_tool("run_sql", {"sql": long})
                    raise AssertionError("the long query finished")
                await anyio.sleep(1.0)
                cpu = server.cpu_seconds()
                await anyio.sleep(2.0)
                idle = server.cpu_seconds() - cpu
                assert idle < 0.5, (
                    f"the server kept working after the cancel: {idle:.2f} s CPU in 2 s"
                )
                r = await session.call_tool(
                    "run_sql", {"sql": f"SELECT count(*) AS n FROM {CT2}"}
                )
                assert not r.is_error and r.structured_content["rows"][0][0] > 0

        anyio.run(main)
        assert len(cancelled_runs(tmp)) == 1, audit_lines(tmp)
        assert all(
            line["caller"].startswith("http 127.0.0.1:") for line in audit_lines(tmp)
        )
    finally:
        server.stop()


def test_http_off_loopback_needs_a_token(tmp: Path) -> None:
    env = base_env(tmp)
    r = subprocess.run(
        [BIN, "--lake", LAKE, "mcp", "--http", "0.0.0.0:0"],
        check=False,
        env=env,
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r.stderr
    assert "without a token" in r.stderr
