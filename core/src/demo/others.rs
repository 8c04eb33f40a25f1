//! Security Hub findings (GuardDuty, Inspector, Security Hub controls), EKS audit events and WAF requests,
//! in OCSF 1.1.0 as Security Lake source version 2 writes them.

use serde_json::{Value, json};

use super::fmt_ts;
use super::rng::Rng;
use super::world::Instance;

/// One finding.
#[derive(Debug, Clone)]
pub struct Finding {
    pub time: i64,
    pub account: &'static str,
    pub region: String,
    /// "GuardDuty", "Inspector" or "Security Hub".
    pub product: &'static str,
    pub types: Vec<String>,
    pub title: String,
    pub desc: String,
    pub severity: (i32, &'static str),
    pub status: &'static str,
    pub resource: (String, String),
    pub cves: Vec<(&'static str, f64, &'static str)>,
    pub compliance: Option<(&'static str, &'static str)>,
    pub evidence_ip: Option<String>,
    pub evidence_domain: Option<String>,
    pub uid: String,
}

impl Finding {
    pub fn to_v2(&self) -> Value {
        let (class_uid, class_name) = match self.product {
            "Inspector" => (2002, "Vulnerability Finding"),
            "Security Hub" => (2003, "Compliance Finding"),
            _ => (2004, "Detection Finding"),
        };
        let (feature_uid, product_uid) = match self.product {
            "GuardDuty" => (
                "guardduty",
                format!("arn:aws:securityhub:{}::product/aws/guardduty", self.region),
            ),
            "Inspector" => (
                "inspector",
                format!("arn:aws:securityhub:{}::product/aws/inspector", self.region),
            ),
            _ => (
                "securityhub",
                format!(
                    "arn:aws:securityhub:{}::product/aws/securityhub",
                    self.region
                ),
            ),
        };
        let vulns: Vec<Value> = self
            .cves
            .iter()
            .map(|(cve, score, pkg)| {
                json!({
                    "cve": {"uid": cve, "cvss": [{"base_score": score, "vector_string": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "version": "3.1"}],
                            "epss": {"score": "0.9"}, "references": [format!("https://nvd.nist.gov/vuln/detail/{cve}")],
                            "created_time_dt": Value::Null, "modified_time_dt": Value::Null},
                    "vendor_name": "NVD",
                    "affected_packages": [{"name": pkg, "version": "1.0.0", "fixed_in_version": "1.0.1", "package_manager": "OS", "architecture": "x86_64", "epoch": 0, "release": "1.amzn2023", "path": Value::Null, "remediation": {"desc": format!("Upgrade {pkg}")}}],
                    "is_fix_available": true,
                    "is_exploit_available": *score >= 9.0,
                    "remediation": {"desc": format!("Update {pkg} to the fixed version."), "references": []},
                    "references": [], "related_vulnerabilities": [], "cwe": {"uid": Value::Null}, "affected_code": [],
                })
            })
            .collect();
        let evidences: Vec<Value> = match (&self.evidence_ip, &self.evidence_domain) {
            (Some(ip), _) => vec![
                json!({"src_endpoint": {"ip": ip, "port": Value::Null, "location": {"country": "NL", "city": Value::Null, "coordinates": Value::Null}}}),
            ],
            (None, Some(d)) => vec![json!({"query": {"hostname": d}})],
            _ => vec![],
        };
        let compliance = self.compliance.map(|(control, status)| {
            json!({"standards": ["standards/aws-foundational-security-best-practices/v/1.0.0"], "requirements": [], "control": control, "status": status, "status_detail": Value::Null, "status_code": Value::Null})
        });
        json!({
            "metadata": {
                "log_version": "2018-10-08",
                "product": {"feature": {"uid": feature_uid, "name": self.product}, "uid": product_uid, "name": self.product, "vendor_name": "AWS", "version": "2018-10-08"},
                "processed_time_dt": fmt_ts(self.time + 5_000),
                "profiles": ["cloud", "datetime"],
                "version": "1.1.0",
                "extensions": [],
            },
            "time": self.time,
            "time_dt": fmt_ts(self.time),
            "confidence_score": Value::Null,
            "message": self.desc,
            "cloud": {"account": {"uid": self.account}, "region": self.region, "provider": "AWS"},
            "resource": {"type": self.resource.1, "uid": self.resource.0, "cloud_partition": "aws", "region": self.region, "labels": [], "data": Value::Null, "criticality": Value::Null},
            "finding_info": {
                "created_time_dt": fmt_ts(self.time),
                "uid": self.uid,
                "desc": self.desc,
                "title": self.title,
                "modified_time_dt": fmt_ts(self.time),
                "first_seen_time_dt": fmt_ts(self.time),
                "last_seen_time_dt": fmt_ts(self.time),
                "related_events": [],
                "types": self.types,
                "src_url": Value::Null,
            },
            "remediation": {"desc": "Review the finding and follow the product's remediation guidance.", "references": []},
            "compliance": compliance,
            "vulnerabilities": if vulns.is_empty() { Value::Null } else { Value::Array(vulns) },
            "resources": [{"type": self.resource.1, "uid": self.resource.0, "cloud_partition": "aws", "region": self.region, "labels": [], "data": Value::Null, "criticality": Value::Null, "owner": {"account": {"uid": self.account}}}],
            "evidences": if evidences.is_empty() { Value::Null } else { Value::Array(evidences) },
            "class_name": class_name,
            "class_uid": class_uid,
            "category_name": "Findings",
            "category_uid": 2,
            "severity_id": self.severity.0,
            "severity": self.severity.1,
            "activity_name": "Create",
            "activity_id": 1,
            "type_uid": i64::from(class_uid) * 100 + 1,
            "type_name": format!("{class_name}: Create"),
            "status": self.status,
            "unmapped": {"ProductFields.aws/securityhub/ProductName": self.product, "RecordState": "ACTIVE"},
            "accountid": self.account,
            "region": self.region,
            "asl_version": "2.0",
            "observables": [{"name": "resource.uid", "value": self.resource.0, "type": "Resource UID", "type_id": 10}],
        })
    }
}

pub const SEVERITIES: [(i32, &str); 5] = [
    (1, "Informational"),
    (2, "Low"),
    (3, "Medium"),
    (4, "High"),
    (5, "Critical"),
];

/// Background compliance findings from Security Hub controls and Inspector package findings.
pub fn background_findings(
    rng: &mut Rng,
    instances: &[Instance],
    clock: &super::Clock,
    n: u64,
    mut emit: impl FnMut(Finding),
) {
    let controls = [
        (
            "EC2.19",
            "Security groups should not allow unrestricted access to ports with high risk",
            4,
        ),
        (
            "S3.8",
            "S3 general purpose buckets should block public access",
            4,
        ),
        (
            "IAM.6",
            "Hardware MFA should be enabled for the root user",
            5,
        ),
        (
            "CloudTrail.2",
            "CloudTrail should have encryption at-rest enabled",
            3,
        ),
        ("KMS.4", "AWS KMS key rotation should be enabled", 3),
        (
            "RDS.3",
            "RDS DB instances should have encryption at-rest enabled",
            3,
        ),
        (
            "EC2.8",
            "EC2 instances should use Instance Metadata Service Version 2 (IMDSv2)",
            4,
        ),
        (
            "IAM.3",
            "IAM users' access keys should be rotated every 90 days or less",
            3,
        ),
    ];
    let cves = [
        ("CVE-2024-6387", 8.1, "openssh-server"),
        ("CVE-2023-44487", 7.5, "nghttp2"),
        ("CVE-2024-3094", 10.0, "xz-libs"),
        ("CVE-2021-44228", 10.0, "log4j-core"),
        ("CVE-2023-4863", 8.8, "libwebp"),
        ("CVE-2024-2961", 7.3, "glibc"),
        ("CVE-2023-38545", 9.8, "curl"),
    ];
    for _ in 0..n {
        let t = clock.random_time(rng);
        let i = rng.pick(instances).clone();
        if rng.chance(0.55) {
            let (control, title, sev) = *rng.pick(&controls);
            let passed = rng.chance(0.6);
            emit(Finding {
                time: t,
                account: i.account,
                region: i.region.to_string(),
                product: "Security Hub",
                types: vec!["Software and Configuration Checks/Industry and Regulatory Standards/AWS-Foundational-Security-Best-Practices".into()],
                title: title.into(),
                desc: format!("This control checks: {title}."),
                severity: if passed { SEVERITIES[0] } else { SEVERITIES[(sev - 1) as usize] },
                status: if passed { "Resolved" } else { "New" },
                resource: (format!("arn:aws:ec2:{}:{}:instance/{}", i.region, i.account, i.id), "AwsEc2Instance".into()),
                cves: vec![],
                compliance: Some((control, if passed { "Pass" } else { "Fail" })),
                evidence_ip: None,
                evidence_domain: None,
                uid: format!("arn:aws:securityhub:{}:{}:subscription/aws-foundational-security-best-practices/v/1.0.0/{control}/finding/{}", i.region, i.account, rng.uuid()),
            });
        } else {
            let (cve, score, pkg) = *rng.pick(&cves);
            let sev = if score >= 9.0 {
                SEVERITIES[4]
            } else if score >= 7.0 {
                SEVERITIES[3]
            } else {
                SEVERITIES[2]
            };
            emit(Finding {
                time: t,
                account: i.account,
                region: i.region.to_string(),
                product: "Inspector",
                types: vec!["Software and Configuration Checks/Vulnerabilities/CVE".into()],
                title: format!("{cve} - {pkg}"),
                desc: format!("{cve} affects the {pkg} package installed on {}.", i.id),
                severity: sev,
                status: if rng.chance(0.8) { "New" } else { "Resolved" },
                resource: (
                    format!("arn:aws:ec2:{}:{}:instance/{}", i.region, i.account, i.id),
                    "AwsEc2Instance".into(),
                ),
                cves: vec![(cve, score, pkg)],
                compliance: None,
                evidence_ip: None,
                evidence_domain: None,
                uid: format!(
                    "arn:aws:inspector2:{}:{}:finding/{}",
                    i.region,
                    i.account,
                    rng.hex(32)
                ),
            });
        }
    }
}

/// One EKS audit event.
#[derive(Debug, Clone)]
pub struct EksEvent {
    pub time: i64,
    pub account: &'static str,
    pub region: &'static str,
    pub user: String,
    pub groups: Vec<&'static str>,
    pub verb: &'static str,
    pub resource: &'static str,
    pub namespace: Option<&'static str>,
    pub name: String,
    pub code: i32,
    pub src_ip: String,
    pub user_agent: &'static str,
    pub uid: String,
}

impl EksEvent {
    pub fn to_v2(&self) -> Value {
        let activity = match self.verb {
            "create" => (1, "Create"),
            "get" | "list" | "watch" => (2, "Read"),
            "update" | "patch" => (3, "Update"),
            "delete" => (4, "Delete"),
            _ => (99, "Other"),
        };
        let decision = if self.code == 403 { "forbid" } else { "allow" };
        let path = match self.namespace {
            Some(ns) => format!("/api/v1/namespaces/{ns}/{}/{}", self.resource, self.name),
            None => format!("/api/v1/{}", self.resource),
        };
        json!({
            "metadata": {"log_level": "RequestResponse", "product": {"version": "audit.k8s.io/v1", "vendor_name": "AWS", "name": "Amazon EKS", "feature": {"name": "Elastic Kubernetes Service"}},
                         "profiles": ["cloud", "datetime"], "version": "1.1.0"},
            "api": {
                "request": {"uid": self.uid, "containers": Value::Null},
                "operation": self.verb,
                "version": "v1",
                "response": {"code": self.code, "message": Value::Null, "error": (self.code >= 400).then_some("Forbidden"), "error_message": (self.code >= 400).then(|| format!("{} is forbidden: User \"{}\" cannot {} resource \"{}\"", self.resource, self.user, self.verb, self.resource)), "containers": Value::Null},
                "group": {"name": Value::Null},
            },
            "message": "ResponseComplete",
            "http_request": {"url": {"path": path}, "user_agent": self.user_agent},
            "actor": {
                "user": {"name": self.user, "uid": format!("aws-iam-authenticator:{}:{}", self.account, self.user), "groups": self.groups.iter().map(|g| json!({"name": g})).collect::<Vec<_>>(), "type_id": 0},
                "session": {"credential_uid": Value::Null, "issuer": Value::Null, "uid": Value::Null},
            },
            "cloud": {"account": {"uid": self.account}, "provider": "AWS"},
            "src_endpoint": {"ip": self.src_ip, "intermediate_ips": Value::Null},
            "resources": [{"namespace": self.namespace, "name": self.name, "uid": Value::Null, "version": Value::Null, "type": self.resource}],
            "start_time_dt": fmt_ts(self.time - 120),
            "time_dt": fmt_ts(self.time),
            "time": self.time,
            "severity_id": 1,
            "severity": "Informational",
            "class_name": "API Activity",
            "class_uid": 6003,
            "category_name": "Application Activity",
            "category_uid": 6,
            "activity_name": activity.1,
            "activity_id": activity.0,
            "type_name": format!("API Activity: {}", activity.1),
            "type_uid": 600300 + activity.0,
            "unmapped": {"annotations.authorization.k8s.io/decision": decision, "stage": "ResponseComplete"},
            "accountid": self.account,
            "region": self.region,
            "asl_version": "2.0",
            "observables": [{"name": "src_endpoint.ip", "value": self.src_ip, "type": "IP Address", "type_id": 2}],
        })
    }
}

pub fn background_eks(rng: &mut Rng, clock: &super::Clock, n: u64, mut emit: impl FnMut(EksEvent)) {
    let users: [(&str, &[&str], &str); 4] = [
        (
            "system:serviceaccount:kube-system:replicaset-controller",
            &["system:serviceaccounts", "system:authenticated"],
            "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/abc1234/system:serviceaccount:kube-system:replicaset-controller",
        ),
        (
            "system:node:ip-10-0-10-17.ec2.internal",
            &["system:nodes", "system:authenticated"],
            "kubelet/v1.31.2 (linux/amd64) kubernetes/abc1234",
        ),
        (
            "alice",
            &["system:masters", "system:authenticated"],
            "kubectl/v1.31.2 (darwin/arm64) kubernetes/abc1234",
        ),
        (
            "system:serviceaccount:argocd:argocd-application-controller",
            &["system:serviceaccounts", "system:authenticated"],
            "argocd-application-controller/v2.13.0",
        ),
    ];
    let verbs = [
        ("get", 40u32),
        ("list", 30),
        ("watch", 15),
        ("update", 6),
        ("patch", 5),
        ("create", 3),
        ("delete", 1),
    ];
    let resources = [
        ("pods", Some("default")),
        ("configmaps", Some("kube-system")),
        ("nodes", None),
        ("deployments", Some("shop")),
        ("secrets", Some("shop")),
        ("leases", Some("kube-node-lease")),
    ];
    for _ in 0..n {
        let t = clock.random_time(rng);
        let (user, groups, ua) = *rng.pick(&users);
        let (resource, namespace) = *rng.pick(&resources);
        let verb = *rng.weighted(&verbs);
        emit(EksEvent {
            time: t,
            account: "111122223333",
            region: "us-east-1",
            user: user.into(),
            groups: groups.to_vec(),
            verb,
            resource,
            namespace,
            name: format!("{}-{}", resource.trim_end_matches('s'), rng.hex(5)),
            code: if rng.chance(0.01) {
                403
            } else if verb == "create" {
                201
            } else {
                200
            },
            src_ip: format!("10.0.10.{}", rng.range(10, 60)),
            user_agent: ua,
            uid: rng.uuid(),
        });
    }
}

/// One WAF request.
#[derive(Debug, Clone)]
pub struct WafRequest {
    pub time: i64,
    pub account: &'static str,
    pub region: &'static str,
    pub ip: String,
    pub country: &'static str,
    pub method: &'static str,
    pub host: &'static str,
    pub path: String,
    pub args: String,
    pub user_agent: &'static str,
    pub blocked_by: Option<(&'static str, &'static str)>,
    pub status: i32,
    pub uid: String,
}

impl WafRequest {
    pub fn to_v2(&self) -> Value {
        let (action, action_id, disposition, disposition_id, activity) = match self.blocked_by {
            Some(_) => ("Denied", 2, "Blocked", 2, (2, "Deny")),
            None => ("Allowed", 1, "Allowed", 1, (1, "Allow")),
        };
        let rule = self.blocked_by.map_or("Default_Action", |r| r.0);
        let rule_type = self.blocked_by.map_or("REGULAR", |r| r.1);
        json!({
            "metadata": {"product": {"feature": {"uid": format!("arn:aws:wafv2:{}:{}:regional/webacl/shop-acl/{}", self.region, self.account, "a1b2c3d4")}, "version": "1.0", "vendor_name": "AWS", "name": "AWS WAF"},
                         "labels": self.blocked_by.map(|r| vec![format!("awswaf:managed:aws:{}", r.0.to_ascii_lowercase())]).unwrap_or_default(),
                         "profiles": ["cloud", "datetime"], "version": "1.1.0"},
            "src_endpoint": {"svc_name": "ALB", "uid": format!("arn:aws:elasticloadbalancing:{}:{}:loadbalancer/app/shop-alb/50dc6c495c0c9188", self.region, self.account), "ip": self.ip, "location": {"country": self.country}},
            "http_request": {
                "url": {"path": self.path, "hostname": self.host},
                "version": "HTTP/1.1",
                "http_method": self.method,
                "uid": self.uid,
                "args": self.args,
                "http_headers": [{"name": "Host", "value": self.host}, {"name": "User-Agent", "value": self.user_agent}],
                "user_agent": self.user_agent,
                "x_forwarded_for": Value::Null,
                "referrer": Value::Null,
            },
            "firewall_rule": {"uid": rule, "type": rule_type, "condition": Value::Null, "match_location": self.blocked_by.map(|_| "QUERY_STRING"), "match_details": Value::Null, "rate_limit": Value::Null},
            "http_status": self.status,
            "time": self.time,
            "time_dt": fmt_ts(self.time),
            "class_name": "HTTP Activity",
            "class_uid": 4002,
            "category_name": "Network Activity",
            "category_uid": 4,
            "severity_id": 1,
            "severity": "Informational",
            "cloud": {"provider": "AWS"},
            "activity_name": activity.1,
            "activity_id": activity.0,
            "type_name": format!("HTTP Activity: {}", activity.1),
            "type_uid": 400200 + activity.0,
            "action": action,
            "action_id": action_id,
            "disposition": disposition,
            "disposition_id": disposition_id,
            "unmapped": {"webaclId": "shop-acl", "terminatingRuleType": rule_type},
            "accountid": self.account,
            "region": self.region,
            "asl_version": "2.0",
            "observables": [{"name": "src_endpoint.ip", "value": self.ip, "type": "IP Address", "type_id": 2}],
        })
    }
}

pub fn background_waf(
    rng: &mut Rng,
    clock: &super::Clock,
    n: u64,
    mut emit: impl FnMut(WafRequest),
) {
    let paths = [
        ("/", 30u32),
        ("/products", 25),
        ("/cart", 10),
        ("/api/v1/orders", 12),
        ("/login", 8),
        ("/static/app.js", 15),
    ];
    let countries = ["US", "KR", "DE", "GB", "JP", "FR", "BR", "IN"];
    for _ in 0..n {
        let t = clock.random_time(rng);
        let path = *rng.weighted(&paths);
        let bad_bot = rng.chance(0.02);
        emit(WafRequest {
            time: t,
            account: "111122223333",
            region: "us-east-1",
            ip: super::network::client_ip(rng),
            country: rng.pick::<&str>(&countries),
            method: if path == "/api/v1/orders" && rng.chance(0.4) {
                "POST"
            } else {
                "GET"
            },
            host: "shop.example.com",
            path: path.to_string(),
            args: if path == "/products" {
                format!("page={}", rng.range(1, 20))
            } else {
                String::new()
            },
            user_agent: if bad_bot {
                "python-requests/2.32.3"
            } else {
                super::world::BROWSER_UAS[rng.range(0, 4) as usize]
            },
            blocked_by: bad_bot
                .then_some(("AWS-AWSManagedRulesBotControlRuleSet", "MANAGED_RULE_GROUP")),
            status: if bad_bot { 403 } else { 200 },
            uid: rng.uuid(),
        });
    }
}
