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
        // Security Lake keeps a finding's evidence as JSON text in `evidences[].data` (the column has only
        // `data` and `actor`) and lists its IPs and hostnames in `observables`, where queries find them.
        let evidences: Vec<Value> = match (&self.evidence_ip, &self.evidence_domain) {
            (Some(ip), _) => vec![
                json!({"data": json!({"src_endpoint": {"ip": ip, "location": {"country": "NL"}}}).to_string()}),
            ],
            (None, Some(d)) => vec![json!({"data": json!({"query": {"hostname": d}}).to_string()})],
            _ => vec![],
        };
        let mut observables = vec![
            json!({"name": "resource.uid", "value": self.resource.0, "type": "Resource UID", "type_id": 10}),
        ];
        if let Some(ip) = &self.evidence_ip {
            observables.push(json!({"name": "evidences.src_endpoint.ip", "value": ip, "type": "IP Address", "type_id": 2}));
        }
        if let Some(d) = &self.evidence_domain {
            observables.push(json!({"name": "evidences.query.hostname", "value": d, "type": "Hostname", "type_id": 1}));
        }
        let mut unmapped = json!({"ProductFields.aws/securityhub/ProductName": self.product, "RecordState": "ACTIVE"});
        if let (Some(ip), "GuardDuty") = (&self.evidence_ip, self.product) {
            unmapped["ProductFields.aws/guardduty/service/action/remoteIpDetails/ipAddressV4"] =
                json!(ip);
        }
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
            "unmapped": unmapped,
            "accountid": self.account,
            "region": self.region,
            "asl_version": "2.0",
            "observables": observables,
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

/// Background GuardDuty findings, as every account with GuardDuty on has them: internet noise against
/// exposed instances and low-severity S3 and network behaviour findings (own random stream, so the other
/// sources do not change with it).
pub fn background_guardduty(
    seed: u64,
    instances: &[Instance],
    buckets: &[&str],
    clock: &super::Clock,
    n: u64,
    mut emit: impl FnMut(Finding),
) {
    let mut rng = Rng::stream(seed, "guardduty");
    // (type, severity index into SEVERITIES, weight)
    let types: [((&str, usize), u32); 6] = [
        (("Recon:EC2/PortProbeUnprotectedPort", 1), 40),
        (("UnauthorizedAccess:EC2/SSHBruteForce", 1), 25),
        (("Recon:EC2/Portscan", 2), 10),
        (("Behavior:EC2/NetworkPortUnusual", 2), 8),
        (("Policy:S3/BucketBlockPublicAccessDisabled", 1), 7),
        (("Discovery:S3/AnomalousBehavior", 1), 10),
    ];
    for _ in 0..n {
        let t = clock.random_time(&mut rng);
        let i = rng.pick(instances).clone();
        let (ty, sev) = *rng.weighted(&types);
        let ip = super::network::client_ip(&mut rng);
        let bucket = *rng.pick(buckets);
        let (title, resource, evidence) = match ty {
            "Recon:EC2/PortProbeUnprotectedPort" => (
                format!("Unprotected port on EC2 instance {} is being probed.", i.id),
                (
                    format!("arn:aws:ec2:{}:{}:instance/{}", i.region, i.account, i.id),
                    "AwsEc2Instance",
                ),
                Some(ip),
            ),
            "UnauthorizedAccess:EC2/SSHBruteForce" => (
                format!(
                    "{ip} is performing SSH brute force attacks against {}.",
                    i.id
                ),
                (
                    format!("arn:aws:ec2:{}:{}:instance/{}", i.region, i.account, i.id),
                    "AwsEc2Instance",
                ),
                Some(ip),
            ),
            "Recon:EC2/Portscan" => (
                format!(
                    "EC2 instance {} is performing outbound port scans against a remote host.",
                    i.id
                ),
                (
                    format!("arn:aws:ec2:{}:{}:instance/{}", i.region, i.account, i.id),
                    "AwsEc2Instance",
                ),
                Some(ip),
            ),
            "Behavior:EC2/NetworkPortUnusual" => (
                format!(
                    "EC2 instance {} is communicating with a remote host on an unusual server port.",
                    i.id
                ),
                (
                    format!("arn:aws:ec2:{}:{}:instance/{}", i.region, i.account, i.id),
                    "AwsEc2Instance",
                ),
                Some(ip),
            ),
            "Policy:S3/BucketBlockPublicAccessDisabled" => (
                format!("Amazon S3 Block Public Access was disabled for S3 bucket {bucket}."),
                (format!("arn:aws:s3:::{bucket}"), "AwsS3Bucket"),
                None,
            ),
            _ => (
                format!("An IAM entity invoked an S3 API in a suspicious way on bucket {bucket}."),
                (format!("arn:aws:s3:::{bucket}"), "AwsS3Bucket"),
                None,
            ),
        };
        let region = i.region.to_string();
        emit(Finding {
            time: t,
            account: i.account,
            uid: format!(
                "arn:aws:guardduty:{region}:{}:detector/{}/finding/{}",
                i.account,
                rng.hex(32),
                rng.hex(32)
            ),
            region,
            product: "GuardDuty",
            types: vec![format!("TTPs/{ty}")],
            desc: title.clone(),
            title,
            severity: SEVERITIES[sev],
            status: if rng.chance(0.7) { "New" } else { "Resolved" },
            resource: (resource.0, resource.1.to_string()),
            cves: vec![],
            compliance: None,
            evidence_ip: evidence,
            evidence_domain: None,
        });
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
    /// The resource's API group (`coordination.k8s.io`, `apps`); `None` for the core group.
    pub group: Option<&'static str>,
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
        let qualified = match self.group {
            Some(g) => format!("{}.{g}", self.resource),
            None => self.resource.to_string(),
        };
        let (error, error_message) = match self.code {
            403 => (
                Some("Forbidden"),
                Some(format!(
                    "{qualified} is forbidden: User \"{}\" cannot {} resource \"{}\"",
                    self.user, self.verb, self.resource
                )),
            ),
            409 => (
                Some("Conflict"),
                Some(format!(
                    "Operation cannot be fulfilled on {qualified} \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                    self.name
                )),
            ),
            _ => (None, None),
        };
        // The request URI as the API server logs it: core resources under /api/v1, others under
        // /apis/<group>/v1; a list or watch has no name.
        let root = match self.group {
            Some(g) => format!("/apis/{g}/v1"),
            None => "/api/v1".to_string(),
        };
        let name = if self.name.is_empty() {
            String::new()
        } else {
            format!("/{}", self.name)
        };
        let path = match self.namespace {
            Some(ns) => format!("{root}/namespaces/{ns}/{}{name}", self.resource),
            None => format!("{root}/{}{name}", self.resource),
        };
        let path = if self.verb == "watch" {
            format!("{path}?watch=true")
        } else {
            path
        };
        json!({
            "metadata": {"log_level": "RequestResponse", "product": {"version": "audit.k8s.io/v1", "vendor_name": "AWS", "name": "Amazon EKS", "feature": {"name": "Elastic Kubernetes Service"}},
                         "profiles": ["cloud", "datetime"], "version": "1.1.0"},
            "api": {
                "request": {"uid": self.uid, "containers": Value::Null},
                "operation": self.verb,
                "version": "v1",
                "response": {"code": self.code, "message": Value::Null, "error": error, "error_message": error_message, "containers": Value::Null},
                "group": {"name": self.group},
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
    let group = |resource: &str| match resource {
        "deployments" => Some("apps"),
        "leases" => Some("coordination.k8s.io"),
        _ => None,
    };
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
            group: group(resource),
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

/// Kubernetes control-plane traffic, as every EKS cluster's audit log is full of it (sampled: a real cluster
/// renews each lease every few seconds): kube-controller-manager and kube-scheduler leader election on
/// `coordination.k8s.io` leases in `kube-system` (`get` then `update`), their informers' `list`/`watch`
/// requests, and the add-on service accounts (CoreDNS, the VPC CNI, kube-proxy) reading what they serve.
pub fn control_plane_eks(seed: u64, clock: &super::Clock, n: u64, mut emit: impl FnMut(EksEvent)) {
    let mut rng = Rng::stream(seed, "eks-control-plane");
    struct Component {
        user: &'static str,
        groups: &'static [&'static str],
        ua: &'static str,
        weight: u32,
    }
    let components = [
        Component {
            user: "system:kube-controller-manager",
            groups: &["system:authenticated"],
            ua: "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/abc1234/leader-election",
            weight: 35,
        },
        Component {
            user: "system:kube-scheduler",
            groups: &["system:authenticated"],
            ua: "kube-scheduler/v1.31.2 (linux/amd64) kubernetes/abc1234/leader-election",
            weight: 30,
        },
        Component {
            user: "system:serviceaccount:kube-system:coredns",
            groups: &[
                "system:serviceaccounts",
                "system:serviceaccounts:kube-system",
                "system:authenticated",
            ],
            ua: "coredns/v1.11.3 (linux/amd64) kubernetes/abc1234",
            weight: 12,
        },
        Component {
            user: "system:serviceaccount:kube-system:aws-node",
            groups: &[
                "system:serviceaccounts",
                "system:serviceaccounts:kube-system",
                "system:authenticated",
            ],
            ua: "amazon-vpc-cni-k8s/v1.19.0 (linux/amd64)",
            weight: 12,
        },
        Component {
            user: "system:serviceaccount:kube-system:kube-proxy",
            groups: &[
                "system:serviceaccounts",
                "system:serviceaccounts:kube-system",
                "system:authenticated",
            ],
            ua: "kube-proxy/v1.31.2 (linux/amd64) kubernetes/abc1234",
            weight: 11,
        },
    ];
    let weights: Vec<(usize, u32)> = components
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.weight))
        .collect();
    for _ in 0..n {
        let t = clock.random_time(&mut rng);
        let c = &components[*rng.weighted(&weights)];
        // (verb, group, resource, namespace, name)
        #[allow(clippy::type_complexity)]
        let (verb, group, resource, namespace, name): (
            &'static str,
            Option<&'static str>,
            &'static str,
            Option<&'static str>,
            String,
        ) = match c.user {
            "system:kube-controller-manager" | "system:kube-scheduler" => {
                let lease = c.user.trim_start_matches("system:");
                match rng.range(0, 10) {
                    // Leader election: read the lease, then renew it.
                    0..=3 => (
                        "get",
                        Some("coordination.k8s.io"),
                        "leases",
                        Some("kube-system"),
                        lease.into(),
                    ),
                    4..=7 => (
                        "update",
                        Some("coordination.k8s.io"),
                        "leases",
                        Some("kube-system"),
                        lease.into(),
                    ),
                    8 => (
                        "watch",
                        None,
                        if lease == "kube-scheduler" {
                            "pods"
                        } else {
                            "nodes"
                        },
                        None,
                        String::new(),
                    ),
                    _ => ("list", Some("apps"), "replicasets", None, String::new()),
                }
            }
            "system:serviceaccount:kube-system:coredns" => (
                "watch",
                Some("discovery.k8s.io"),
                "endpointslices",
                None,
                String::new(),
            ),
            "system:serviceaccount:kube-system:aws-node" => {
                if rng.chance(0.5) {
                    (
                        "get",
                        None,
                        "nodes",
                        None,
                        format!("ip-10-0-10-{}.ec2.internal", rng.range(10, 60)),
                    )
                } else {
                    ("list", None, "pods", None, String::new())
                }
            }
            _ => ("watch", None, "services", None, String::new()),
        };
        emit(EksEvent {
            time: t,
            account: "111122223333",
            region: "us-east-1",
            user: c.user.into(),
            groups: c.groups.to_vec(),
            verb,
            group,
            resource,
            namespace,
            name,
            // A lease renewed by a standby instance conflicts now and then.
            code: if verb == "update" && rng.chance(0.02) {
                409
            } else {
                200
            },
            // The managed control plane's addresses in the cluster VPC.
            src_ip: if c.user.starts_with("system:kube-") {
                format!("10.0.46.{}", rng.range(40, 50))
            } else {
                format!("10.0.10.{}", rng.range(10, 60))
            },
            user_agent: c.ua,
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
        let (action, action_id, disposition, disposition_id) = match self.blocked_by {
            Some(_) => ("Denied", 2, "Blocked", 2),
            None => ("Allowed", 1, "Allowed", 1),
        };
        // HTTP Activity's activities are the request's method (OCSF 1.1.0 class 4002).
        let activity = match self.method {
            "CONNECT" => (1, "Connect"),
            "DELETE" => (2, "Delete"),
            "GET" => (3, "Get"),
            "HEAD" => (4, "Head"),
            "OPTIONS" => (5, "Options"),
            "POST" => (6, "Post"),
            "PUT" => (7, "Put"),
            "TRACE" => (8, "Trace"),
            _ => (99, "Other"),
        };
        let rule = self.blocked_by.map_or("Default_Action", |r| r.0);
        let rule_type = self.blocked_by.map_or("REGULAR", |r| r.1);
        // What matched, as WAF's terminatingRuleMatchDetails say it: a managed group's inspected location
        // and condition, a regex pattern set's match in the path, a rate-based rule's limit.
        #[allow(clippy::type_complexity)]
        let (condition, location, details, rate_limit): (
            Option<&str>,
            Option<&str>,
            Option<Vec<String>>,
            Option<i32>,
        ) = match (self.blocked_by, rule_type) {
            (None, _) => (None, None, None, None),
            (_, "RATE_BASED") => (None, None, None, Some(100)),
            (_, "REGEX") => (
                Some("REGEX_PATTERN_SET"),
                Some("URI_PATH"),
                Some(vec![self.path.clone()]),
                None,
            ),
            (Some((r, _)), _) if r.contains("SQLi") => (
                Some("SQL_INJECTION"),
                Some("QUERY_STRING"),
                Some(vec![self.args.clone()]),
                None,
            ),
            (Some((r, _)), _) if r.contains("BotControl") => (
                Some("SIGNAL_NON_BROWSER_USER_AGENT"),
                Some("HEADER"),
                Some(vec![self.user_agent.to_string()]),
                None,
            ),
            _ => (
                Some("BYTE_MATCH"),
                Some("URI_PATH"),
                Some(vec![self.path.clone()]),
                None,
            ),
        };
        json!({
            "metadata": {"product": {"feature": {"uid": format!("arn:aws:wafv2:{}:{}:regional/webacl/shop-acl/{}", self.region, self.account, "a1b2c3d4")}, "version": "1.0", "vendor_name": "AWS", "name": "AWS WAF"},
                         "labels": self.blocked_by.filter(|r| r.1 == "MANAGED_RULE_GROUP").map(|r| vec![format!("awswaf:managed:aws:{}", r.0.trim_start_matches("AWS-AWSManagedRules").to_ascii_lowercase())]).unwrap_or_default(),
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
            "firewall_rule": {"uid": rule, "type": rule_type, "condition": condition, "match_location": location, "match_details": details, "rate_limit": rate_limit},
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
            method: if (path == "/api/v1/orders" && rng.chance(0.4))
                || (path == "/login" && rng.chance(0.6))
            {
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
