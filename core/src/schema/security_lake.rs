//! Amazon Security Lake naming: databases, tables, sources and source versions.
//!
//! Database `amazon_security_lake_glue_db_<region_with_underscores>`, table
//! `amazon_security_lake_table_<region_with_underscores>_<source>_<1|2>_0`.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The AWS log sources Security Lake collects natively.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    CloudTrailMgmt,
    LambdaExecution,
    S3Data,
    VpcFlow,
    Route53,
    ShFindings,
    EksAudit,
    Waf,
}

impl Source {
    pub const ALL: [Source; 8] = [
        Source::CloudTrailMgmt,
        Source::LambdaExecution,
        Source::S3Data,
        Source::VpcFlow,
        Source::Route53,
        Source::ShFindings,
        Source::EksAudit,
        Source::Waf,
    ];

    /// The name Security Lake uses inside table names.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::CloudTrailMgmt => "cloud_trail_mgmt",
            Source::LambdaExecution => "lambda_execution",
            Source::S3Data => "s3_data",
            Source::VpcFlow => "vpc_flow",
            Source::Route53 => "route53",
            Source::ShFindings => "sh_findings",
            Source::EksAudit => "eks_audit",
            Source::Waf => "waf",
        }
    }

    /// A short human description, used in table listings and prompts.
    pub fn description(self) -> &'static str {
        match self {
            Source::CloudTrailMgmt => {
                "AWS CloudTrail management events: API calls, console logins, IAM changes"
            }
            Source::LambdaExecution => "AWS CloudTrail data events for Lambda function invocations",
            Source::S3Data => "AWS CloudTrail data events for S3 object access",
            Source::VpcFlow => "Amazon VPC Flow Logs: network connections between IPs and ports",
            Source::Route53 => "Amazon Route 53 Resolver query logs: DNS queries from VPCs",
            Source::ShFindings => "AWS Security Hub findings (GuardDuty, Inspector, Config, ...)",
            Source::EksAudit => "Amazon EKS audit logs: Kubernetes API calls",
            Source::Waf => "AWS WAF web ACL logs: HTTP requests allowed or blocked",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Source {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::ALL
            .into_iter()
            .find(|src| src.as_str() == s)
            .ok_or_else(|| Error::Config(format!("unknown Security Lake source {s:?}")))
    }
}

/// Security Lake source version: 1 (OCSF 1.0.0-rc.2, Hive partitions) or 2 (OCSF 1.1.0, Iceberg).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum SourceVersion {
    #[serde(rename = "1")]
    V1,
    #[serde(rename = "2")]
    V2,
}

impl SourceVersion {
    pub fn number(self) -> u8 {
        match self {
            SourceVersion::V1 => 1,
            SourceVersion::V2 => 2,
        }
    }

    pub fn ocsf_version(self) -> &'static str {
        match self {
            SourceVersion::V1 => "1.0.0-rc.2",
            SourceVersion::V2 => "1.1.0",
        }
    }

    /// The column a query must filter on to prune data by time.
    pub fn time_column(self) -> &'static str {
        match self {
            SourceVersion::V1 => "eventday",
            SourceVersion::V2 => "time_dt",
        }
    }
}

/// Where a Security Lake table came from, read off its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SecurityLakeTable {
    pub source: Source,
    pub version: SourceVersion,
    /// The rollup region, e.g. `us-east-1`.
    pub region: String,
}

impl SecurityLakeTable {
    pub fn new(source: Source, version: SourceVersion, region: impl Into<String>) -> Self {
        Self {
            source,
            version,
            region: region.into(),
        }
    }

    pub fn database(&self) -> String {
        database_name(&self.region)
    }

    pub fn table(&self) -> String {
        format!(
            "amazon_security_lake_table_{}_{}_{}_0",
            self.region.replace('-', "_"),
            self.source.as_str(),
            self.version.number()
        )
    }

    /// Parses `amazon_security_lake_table_us_east_1_vpc_flow_2_0`; `None` for any other name.
    pub fn parse(table: &str) -> Option<SecurityLakeTable> {
        let rest = table.to_ascii_lowercase();
        let rest = rest.strip_prefix("amazon_security_lake_table_")?;
        let (rest, version) = if let Some(r) = rest.strip_suffix("_2_0") {
            (r.to_string(), SourceVersion::V2)
        } else {
            (rest.strip_suffix("_1_0")?.to_string(), SourceVersion::V1)
        };
        // The longest source name that ends the remainder wins (`s3_data` vs `data`).
        let source = Source::ALL
            .into_iter()
            .filter(|s| rest.ends_with(&format!("_{}", s.as_str())))
            .max_by_key(|s| s.as_str().len())?;
        let region = rest[..rest.len() - source.as_str().len() - 1].replace('_', "-");
        if region.is_empty() {
            return None;
        }
        Some(SecurityLakeTable {
            source,
            version,
            region,
        })
    }
}

/// `amazon_security_lake_glue_db_us_east_1` for `us-east-1`.
pub fn database_name(region: &str) -> String {
    format!("amazon_security_lake_glue_db_{}", region.replace('-', "_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for source in Source::ALL {
            for version in [SourceVersion::V1, SourceVersion::V2] {
                let t = SecurityLakeTable::new(source, version, "ap-northeast-2");
                assert_eq!(SecurityLakeTable::parse(&t.table()), Some(t.clone()));
            }
        }
        let t = SecurityLakeTable::new(Source::CloudTrailMgmt, SourceVersion::V2, "us-east-1");
        assert_eq!(
            t.table(),
            "amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"
        );
        assert_eq!(t.database(), "amazon_security_lake_glue_db_us_east_1");
        assert_eq!(SecurityLakeTable::parse("my_table"), None);
        assert_eq!(
            SecurityLakeTable::parse("amazon_security_lake_table_vpc_flow_2_0"),
            None
        );
    }
}
