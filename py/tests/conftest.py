import asklake
import pytest

AS_OF = "2026-11-28T00:00:00Z"
CT2 = "amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"
FLOW2 = "amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_vpc_flow_2_0"


@pytest.fixture(scope="session")
def lake(tmp_path_factory):
    path = tmp_path_factory.mktemp("lake") / "demo"
    return asklake.LocalLake.demo(str(path), seed=7, scale=0.01, as_of=AS_OF)


def block(sql: str) -> str:
    return f"Here it is:\n```sql\n{sql}\n```"


TOP = (
    f"SELECT src_endpoint.ip, count(*) AS calls FROM {CT2} "
    "WHERE time_dt >= current_timestamp - INTERVAL '7' DAY GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
)
