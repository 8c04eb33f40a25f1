//! A compact OCSF 1.1.0 dictionary (`core/data/ocsf/dictionary.tsv`, derived by
//! `scripts/derive_ocsf_dictionary.py`): short descriptions for column paths, used in prompts.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::security_lake::Source;

struct Dictionary {
    /// (scope, attribute) → (type, description); scope is `class:x`, `object:x` or `enum:x`.
    attrs: HashMap<(String, String), (String, String)>,
}

fn dictionary() -> &'static Dictionary {
    static D: OnceLock<Dictionary> = OnceLock::new();
    D.get_or_init(|| {
        let mut attrs = HashMap::new();
        for line in include_str!("../../data/ocsf/dictionary.tsv").lines() {
            if line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.splitn(4, '\t').collect();
            if let [scope, attr, ty, desc] = f[..] {
                attrs
                    .entry((scope.to_string(), attr.to_string()))
                    .or_insert((ty.to_string(), desc.to_string()));
            }
        }
        Dictionary { attrs }
    })
}

/// The OCSF classes a source's rows belong to, most common first.
pub fn classes(source: Source) -> &'static [&'static str] {
    match source {
        Source::CloudTrailMgmt => &["api_activity", "authentication", "account_change"],
        Source::LambdaExecution | Source::S3Data | Source::EksAudit => &["api_activity"],
        Source::VpcFlow => &["network_activity"],
        Source::Route53 => &["dns_activity"],
        Source::ShFindings => &[
            "vulnerability_finding",
            "compliance_finding",
            "detection_finding",
            "security_finding",
        ],
        Source::Waf => &["http_activity"],
    }
}

/// Object type names as the dictionary writes them (`network_endpoint[]` → `network_endpoint`).
fn object_of(ty: &str) -> Option<&str> {
    let t = ty.trim_end_matches("[]");
    (!t.ends_with("_t") && t != "object").then_some(t)
}

/// A short description of a dotted column path for a source, or None when OCSF does not define it.
pub fn describe(source: Option<Source>, path: &str) -> Option<&'static str> {
    match path {
        "time_dt" => return Some("The event time as a timestamp: filter and group by this."),
        "accountid" => {
            return Some("The AWS account the record belongs to (Security Lake partition column).");
        }
        "region" => {
            return Some("The AWS Region the record came from (Security Lake partition column).");
        }
        "eventday" => return Some("The event day as 'YYYYMMDD' (partition column): filter on it."),
        "asl_version" => return Some("The Security Lake schema version."),
        _ => {}
    }
    if let Some(base) = path.strip_suffix("_dt") {
        return describe(source, base);
    }
    let d = dictionary();
    let parts: Vec<&str> = path.split('.').collect();
    let class_list: Vec<&str> = match source {
        Some(s) => classes(s).to_vec(),
        None => Vec::new(),
    };
    let all_classes = [
        "api_activity",
        "network_activity",
        "dns_activity",
        "http_activity",
        "authentication",
        "account_change",
        "security_finding",
        "detection_finding",
        "vulnerability_finding",
        "compliance_finding",
    ];
    for class in class_list.iter().chain(all_classes.iter()) {
        let Some((ty, desc)) = d
            .attrs
            .get(&(format!("class:{class}"), parts[0].to_string()))
        else {
            continue;
        };
        let (mut ty, mut desc) = (ty.as_str(), desc.as_str());
        let mut ok = true;
        for part in &parts[1..] {
            match object_of(ty)
                .and_then(|o| d.attrs.get(&(format!("object:{o}"), part.to_string())))
            {
                Some((t, de)) => {
                    ty = t;
                    desc = de;
                }
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            return Some(desc);
        }
    }
    None
}

/// The OCSF enumeration of an `*_id` attribute for a source's class (`1=Create, 2=Read, …`).
pub fn enumeration(source: Source, attr: &str) -> Option<&'static str> {
    let d = dictionary();
    classes(source).iter().find_map(|c| {
        d.attrs
            .get(&(format!("enum:{c}"), attr.to_string()))
            .map(|(_, v)| v.as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_nested_paths() {
        let d = describe(Some(Source::CloudTrailMgmt), "actor.user.name").unwrap();
        assert!(d.to_lowercase().contains("name"), "{d}");
        assert!(describe(Some(Source::VpcFlow), "src_endpoint.ip").is_some());
        assert!(describe(Some(Source::VpcFlow), "traffic.bytes").is_some());
        assert!(describe(Some(Source::Route53), "query.hostname").is_some());
        assert!(describe(Some(Source::CloudTrailMgmt), "no_such.path").is_none());
        assert!(
            enumeration(Source::CloudTrailMgmt, "activity_id")
                .unwrap()
                .contains("1=Create")
        );
    }
}
