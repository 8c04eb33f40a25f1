"""Test doubles for notebooks and tests: loopback fakes of the AWS services (127.0.0.1 only; no AWS account
needed) and a scripted model.

``FakeAthena(lake)`` speaks Athena's API and runs queries on a LocalLake; point ``asklake.Athena(endpoint_url=…)``
at its ``url``. ``FakeLlmServer(responses)`` speaks Bedrock's Converse/ConverseStream and OpenAI's chat API;
point ``asklake.Bedrock(endpoint_url=…)`` or ``asklake.OpenAICompatible`` at it. ``Scripted(responses)`` is a
model replaying ``responses`` in order, without a server.

They exist only in test builds of the extension (``maturin build --features test-utils``); the published wheel
leaves them out.
"""

from . import _native
from ._native import Llm

if not hasattr(_native, "FakeAthena"):
    raise ImportError(
        "asklake.testing: this build of asklake has no test doubles (the published wheel leaves them out). "
        "Build the extension with `maturin build --features test-utils` to use them, or configure a real model "
        "(ASKLAKE_LLM=bedrock or openai)."
    )

FakeAthena = _native.FakeAthena
FakeLlmServer = _native.FakeLlmServer


def Scripted(responses: list[str]) -> Llm:
    """A scripted model replaying ``responses`` in order (tests, notebooks in CI)."""
    return _native.scripted(list(responses))


__all__ = ["FakeAthena", "FakeLlmServer", "Scripted"]
