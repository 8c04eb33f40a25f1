"""Loopback fakes of the AWS services for notebooks and tests (127.0.0.1 only; no AWS account needed).

``FakeAthena(lake)`` speaks Athena's API and runs queries on a LocalLake; point ``asklake.Athena(endpoint_url=…)``
at its ``url``. ``FakeLlmServer(responses)`` speaks Bedrock's Converse/ConverseStream and OpenAI's chat API;
point ``asklake.Bedrock(endpoint_url=…)`` or ``asklake.OpenAICompatible`` at it.
"""

from ._native import FakeAthena, FakeLlmServer

__all__ = ["FakeAthena", "FakeLlmServer"]
