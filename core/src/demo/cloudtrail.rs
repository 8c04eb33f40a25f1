//! CloudTrail events (management, S3 data, Lambda data) and their OCSF encodings: source version 2
//! (OCSF 1.1.0) and 1 (OCSF 1.0.0-rc.2), following the mappings in AWS's published samples.

use serde_json::{Map, Value, json};

use super::rng::Rng;
use super::world::{Kind, Principal};
use super::{Clock, fmt_ts};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trail {
    Management,
    S3Data,
    LambdaData,
}

/// One CloudTrail record, independent of its OCSF encoding.
#[derive(Debug, Clone)]
pub struct CtEvent {
    pub time: i64,
    pub trail: Trail,
    pub account: &'static str,
    pub region: String,
    pub service: String,
    pub operation: String,
    pub kind: Kind,
    pub actor_name: String,
    pub actor_arn: String,
    pub principal_id: String,
    pub actor_account: String,
    pub access_key: Option<String>,
    pub issuer: Option<String>,
    pub invoked_by: Option<String>,
    pub session_mfa: bool,
    pub src: String,
    pub user_agent: String,
    pub error: Option<(String, String)>,
    pub request: Option<Value>,
    pub response: Option<Value>,
    pub resources: Vec<(String, String)>,
    /// ConsoleLogin: whether MFA was used.
    pub mfa_used: Option<bool>,
    /// Account Change: the user acted upon.
    pub target_user: Option<(String, String)>,
    pub uid: String,
    pub request_id: String,
}

impl CtEvent {
    pub fn new(
        rng: &mut Rng,
        time: i64,
        p: &Principal,
        region: &str,
        service: &str,
        operation: &str,
    ) -> CtEvent {
        let src = p.ips[rng.range(0, p.ips.len() as u64) as usize].clone();
        let user_agent =
            p.user_agents[rng.range(0, p.user_agents.len() as u64) as usize].to_string();
        CtEvent {
            time,
            trail: Trail::Management,
            account: p.account,
            region: region.to_string(),
            service: service.to_string(),
            operation: operation.to_string(),
            kind: p.kind,
            actor_name: p.name.clone(),
            actor_arn: p.arn.clone(),
            principal_id: p.principal_id.clone(),
            actor_account: p.account.to_string(),
            access_key: p.access_key.clone(),
            issuer: p.issuer.clone(),
            invoked_by: p.invoked_by.clone(),
            session_mfa: p.mfa && p.console,
            src,
            user_agent,
            error: None,
            request: None,
            response: None,
            resources: vec![],
            mfa_used: None,
            target_user: None,
            uid: rng.uuid(),
            request_id: rng.uuid(),
        }
    }

    pub fn failed(mut self, code: &str, message: &str) -> Self {
        self.error = Some((code.to_string(), message.to_string()));
        self
    }

    fn is_auth(&self) -> bool {
        matches!(
            self.operation.as_str(),
            "ConsoleLogin"
                | "AssumeRole"
                | "AssumeRoleWithSAML"
                | "AssumeRoleWithWebIdentity"
                | "CheckMfa"
                | "GetFederationToken"
        )
    }

    /// Account Change activity, when the operation is one.
    fn account_change(&self) -> Option<(i32, &'static str)> {
        if self.service != "iam.amazonaws.com" {
            return None;
        }
        let op = self.operation.as_str();
        Some(match op {
            "CreateUser" | "CreateRole" | "CreateAccessKey" | "CreateLoginProfile" => (1, "Create"),
            "ChangePassword" => (3, "Password Change"),
            "UpdateLoginProfile" => (4, "Password Reset"),
            "DeleteUser" | "DeleteRole" | "DeleteAccessKey" => (6, "Delete"),
            "AttachRolePolicy"
            | "AttachUserPolicy"
            | "PutUserPolicy"
            | "PutRolePolicy"
            | "AddRoleToInstanceProfile" => (7, "Attach Policy"),
            "DetachRolePolicy"
            | "DetachUserPolicy"
            | "DeleteUserPolicy"
            | "RemoveRoleFromInstanceProfile" => (8, "Detach Policy"),
            "EnableMFADevice" => (10, "MFA Factor Enable"),
            "DeactivateMFADevice" => (11, "MFA Factor Disable"),
            _ => return None,
        })
    }

    fn api_activity(&self) -> (i32, &'static str) {
        let op = self.operation.as_str();
        let starts = |ps: &[&str]| ps.iter().any(|p| op.starts_with(p));
        if starts(&[
            "Describe", "List", "Get", "Head", "Lookup", "Search", "Check", "Select", "Scan",
            "Query",
        ]) {
            (2, "Read")
        } else if starts(&[
            "Create", "Run", "Allocate", "Import", "Copy", "Put", "Register", "Restore",
            "Generate", "Invoke",
        ]) {
            (1, "Create")
        } else if starts(&[
            "Delete",
            "Terminate",
            "Deregister",
            "Release",
            "Remove",
            "Untag",
        ]) {
            (4, "Delete")
        } else if starts(&[
            "Update",
            "Modify",
            "Attach",
            "Detach",
            "Associate",
            "Set",
            "Start",
            "Stop",
            "Enable",
            "Disable",
            "Authorize",
            "Revoke",
            "Tag",
            "Add",
            "Rotate",
            "Reboot",
            "Encrypt",
            "Decrypt",
            "ReEncrypt",
        ]) {
            (3, "Update")
        } else {
            (99, "Other")
        }
    }

    fn status(&self) -> &'static str {
        if self.error.is_some() {
            "Failure"
        } else {
            "Success"
        }
    }

    fn event_type(&self) -> &'static str {
        if self.operation == "ConsoleLogin" {
            "AwsConsoleSignIn"
        } else if self.kind == Kind::AwsService && self.operation == "RotateKey" {
            "AwsServiceEvent"
        } else {
            "AwsApiCall"
        }
    }

    fn src_ip(&self) -> Option<&str> {
        self.src
            .parse::<std::net::IpAddr>()
            .is_ok()
            .then_some(self.src.as_str())
    }

    fn src_domain(&self) -> Option<&str> {
        (self.src_ip().is_none()).then_some(self.src.as_str())
    }

    fn feature(&self) -> &'static str {
        match self.trail {
            Trail::Management => "Management",
            Trail::S3Data | Trail::LambdaData => "Data",
        }
    }

    fn unmapped(&self, flatten_request: bool) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("eventType".into(), json!(self.event_type()));
        m.insert("recipientAccountId".into(), json!(self.account));
        m.insert(
            "managementEvent".into(),
            json!((self.trail == Trail::Management).to_string()),
        );
        let read_only = self.api_activity().0 == 2;
        m.insert("readOnly".into(), json!(read_only.to_string()));
        if let Some(mfa) = self.mfa_used {
            m.insert(
                "additionalEventData.MFAUsed".into(),
                json!(if mfa { "Yes" } else { "No" }),
            );
            m.insert("additionalEventData.MobileVersion".into(), json!("No"));
            m.insert(
                "responseElements.ConsoleLogin".into(),
                json!(if self.error.is_some() {
                    "Failure"
                } else {
                    "Success"
                }),
            );
        }
        if flatten_request {
            for (prefix, v) in [
                ("requestParameters", &self.request),
                ("responseElements", &self.response),
            ] {
                if let Some(Value::Object(obj)) = v {
                    for (k, v) in obj {
                        let s = match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        m.insert(format!("{prefix}.{k}"), json!(s));
                    }
                }
            }
        }
        m
    }

    fn class(&self) -> (i32, &'static str, i32, &'static str) {
        if self.is_auth() {
            let (id, name) = if self.operation == "CheckMfa" {
                (99, "Other")
            } else {
                (1, "Logon")
            };
            (3002, "Authentication", id, name)
        } else if let Some((id, name)) = self.account_change() {
            (3001, "Account Change", id, name)
        } else {
            let (id, name) = self.api_activity();
            (6003, "API Activity", id, name)
        }
    }

    fn dst_svc(&self) -> String {
        if self.operation == "ConsoleLogin" {
            "https://console.aws.amazon.com/console/home".into()
        } else {
            self.service.clone()
        }
    }

    /// Source version 2 (OCSF 1.1.0).
    pub fn to_v2(&self) -> Value {
        let (class_uid, class_name, activity_id, activity_name) = self.class();
        let category = if class_uid == 6003 {
            (6, "Application Activity")
        } else {
            (3, "Identity & Access Management")
        };
        let mut observables = Vec::new();
        if let Some(ip) = self.src_ip() {
            observables.push(
                json!({"name": "src_endpoint.ip", "value": ip, "type": "IP Address", "type_id": 2}),
            );
        }
        if !self.actor_arn.is_empty() {
            observables.push(json!({"name": "actor.user.uid", "value": self.actor_arn, "type": "Resource UID", "type_id": 10}));
        }
        let resources: Vec<Value> = self
            .resources
            .iter()
            .map(|(uid, t)| json!({"uid": uid, "owner": {"account": {"uid": self.account}}, "type": t}))
            .collect();
        let created = self.time - 3_600_000;
        json!({
            "metadata": {
                "product": {"version": "1.11", "name": "CloudTrail", "vendor_name": "AWS", "feature": {"name": self.feature()}},
                "event_code": self.event_type(),
                "uid": self.uid,
                "profiles": ["cloud", "datetime"],
                "version": "1.1.0",
            },
            "time": self.time,
            "time_dt": fmt_ts(self.time),
            "cloud": {"region": self.region, "provider": "AWS"},
            "api": {
                "response": {
                    "error": self.error.as_ref().map(|e| &e.0),
                    "message": self.error.as_ref().map(|e| &e.1),
                    "data": self.response.as_ref().map(Value::to_string),
                },
                "operation": self.operation,
                "version": Value::Null,
                "service": {"name": self.service},
                "request": {"data": self.request.as_ref().map(Value::to_string), "uid": self.request_id},
            },
            "dst_endpoint": {"svc_name": self.dst_svc()},
            "actor": {
                "user": {
                    "type": self.kind.as_str(),
                    "name": (self.kind != Kind::AwsService).then_some(&self.actor_name),
                    "uid_alt": (!self.principal_id.is_empty()).then_some(&self.principal_id),
                    "uid": (!self.actor_arn.is_empty()).then_some(&self.actor_arn),
                    "account": {"uid": self.actor_account},
                    "credential_uid": self.access_key,
                },
                "session": {
                    "created_time_dt": self.issuer.as_ref().map(|_| fmt_ts(created)),
                    "is_mfa": self.session_mfa,
                    "issuer": self.issuer,
                },
                "invoked_by": self.invoked_by,
                "idp": {"name": Value::Null},
            },
            "http_request": {"user_agent": self.user_agent},
            "src_endpoint": {"uid": Value::Null, "ip": self.src_ip(), "domain": self.src_domain()},
            "session": {
                "uid": self.issuer.as_ref().map(|_| &self.principal_id),
                "uid_alt": Value::Null,
                "credential_uid": self.access_key,
                "issuer": self.issuer,
            },
            "policy": {"uid": Value::Null},
            "resources": resources,
            "class_name": class_name,
            "class_uid": class_uid,
            "category_name": category.1,
            "category_uid": category.0,
            "severity_id": 1,
            "severity": "Informational",
            "user": self.target_user.as_ref().map(|(arn, name)| json!({"uid_alt": Value::Null, "uid": arn, "name": name})),
            "activity_name": activity_name,
            "activity_id": activity_id,
            "type_uid": i64::from(class_uid) * 100 + i64::from(activity_id),
            "type_name": format!("{class_name}: {activity_name}"),
            "status": self.status(),
            "is_mfa": self.mfa_used,
            "unmapped": self.unmapped(false),
            "accountid": self.account,
            "region": self.region,
            "asl_version": "2.0",
            "observables": observables,
        })
    }

    /// Source version 1 (OCSF 1.0.0-rc.2): API Activity is class 3005, identities put the ARN in `uuid`,
    /// request parameters are flattened into `unmapped`.
    pub fn to_v1(&self) -> Value {
        let (class_uid, class_name, activity_id, activity_name) = self.class();
        let class_uid = if class_uid == 6003 { 3005 } else { class_uid };
        let status_id = if self.error.is_some() { 2 } else { 1 };
        let resources: Vec<Value> = self
            .resources
            .iter()
            .map(|(uid, t)| json!({"uid": uid, "account_uid": self.account, "type": t}))
            .collect();
        json!({
            "metadata": {
                "product": {"version": "1.09", "name": "CloudTrail", "vendor_name": "AWS", "feature": {"name": self.feature()}},
                "uid": self.uid,
                "profiles": ["cloud"],
                "version": "1.0.0-rc.2",
            },
            "time": self.time,
            "cloud": {"region": self.region, "provider": "AWS"},
            "api": {
                "response": {"error": self.error.as_ref().map(|e| &e.0), "message": self.error.as_ref().map(|e| &e.1)},
                "operation": self.operation,
                "version": Value::Null,
                "service": {"name": self.service},
                "request": {"uid": self.request_id},
            },
            "dst_endpoint": {"svc_name": self.dst_svc()},
            "actor": {
                "user": {
                    "type": self.kind.as_str(),
                    "name": (self.kind != Kind::AwsService).then_some(&self.actor_name),
                    "uid": (!self.principal_id.is_empty()).then_some(&self.principal_id),
                    "uuid": (!self.actor_arn.is_empty()).then_some(&self.actor_arn),
                    "account_uid": self.actor_account,
                    "credential_uid": self.access_key,
                },
                "session": {
                    "created_time": self.issuer.as_ref().map(|_| self.time - 3_600_000),
                    "mfa": self.session_mfa,
                    "issuer": self.issuer,
                },
                "invoked_by": self.invoked_by,
                "idp": {"name": Value::Null},
            },
            "http_request": {"user_agent": self.user_agent},
            "src_endpoint": {"uid": Value::Null, "ip": self.src_ip(), "domain": self.src_domain()},
            "class_name": class_name,
            "class_uid": class_uid,
            "category_name": "Audit Activity",
            "category_uid": 3,
            "severity_id": 1,
            "severity": "Informational",
            "user": self.target_user.as_ref().map(|(arn, name)| json!({"uid": Value::Null, "uuid": arn, "name": name})),
            "activity_name": activity_name,
            "activity_id": activity_id,
            "type_uid": class_uid * 100 + activity_id,
            "type_name": format!("{class_name}: {activity_name}"),
            "status": self.status(),
            "status_id": status_id,
            "mfa": self.mfa_used,
            "unmapped": self.unmapped(true),
            "resources": resources,
            "region": self.region,
            "accountid": self.account,
            "eventday": super::eventday(self.time),
        })
    }
}

/// (service, operation, weight, resource type) of background management activity.
const OPS: &[(&str, &str, u32, &str)] = &[
    (
        "ec2.amazonaws.com",
        "DescribeInstances",
        400,
        "AWS::EC2::Instance",
    ),
    (
        "ec2.amazonaws.com",
        "DescribeSecurityGroups",
        120,
        "AWS::EC2::SecurityGroup",
    ),
    (
        "ec2.amazonaws.com",
        "DescribeVolumes",
        80,
        "AWS::EC2::Volume",
    ),
    (
        "ec2.amazonaws.com",
        "DescribeSubnets",
        60,
        "AWS::EC2::Subnet",
    ),
    ("ec2.amazonaws.com", "DescribeVpcs", 50, "AWS::EC2::VPC"),
    ("ec2.amazonaws.com", "RunInstances", 6, "AWS::EC2::Instance"),
    (
        "ec2.amazonaws.com",
        "StartInstances",
        5,
        "AWS::EC2::Instance",
    ),
    (
        "ec2.amazonaws.com",
        "StopInstances",
        5,
        "AWS::EC2::Instance",
    ),
    (
        "ec2.amazonaws.com",
        "TerminateInstances",
        3,
        "AWS::EC2::Instance",
    ),
    ("ec2.amazonaws.com", "CreateTags", 12, "AWS::EC2::Instance"),
    ("ec2.amazonaws.com", "DeleteTags", 3, "AWS::EC2::Instance"),
    (
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        3,
        "AWS::EC2::SecurityGroup",
    ),
    (
        "ec2.amazonaws.com",
        "RevokeSecurityGroupIngress",
        2,
        "AWS::EC2::SecurityGroup",
    ),
    (
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupEgress",
        1,
        "AWS::EC2::SecurityGroup",
    ),
    ("s3.amazonaws.com", "ListBuckets", 80, "AWS::S3::Bucket"),
    ("s3.amazonaws.com", "GetBucketPolicy", 40, "AWS::S3::Bucket"),
    ("s3.amazonaws.com", "GetBucketAcl", 40, "AWS::S3::Bucket"),
    ("s3.amazonaws.com", "PutBucketPolicy", 2, "AWS::S3::Bucket"),
    ("iam.amazonaws.com", "ListUsers", 30, "AWS::IAM::User"),
    ("iam.amazonaws.com", "GetUser", 30, "AWS::IAM::User"),
    ("iam.amazonaws.com", "ListRoles", 30, "AWS::IAM::Role"),
    ("iam.amazonaws.com", "GetRole", 40, "AWS::IAM::Role"),
    (
        "iam.amazonaws.com",
        "ListAttachedRolePolicies",
        25,
        "AWS::IAM::Role",
    ),
    ("iam.amazonaws.com", "CreateAccessKey", 1, "AWS::IAM::User"),
    ("iam.amazonaws.com", "AttachRolePolicy", 2, "AWS::IAM::Role"),
    ("iam.amazonaws.com", "CreateRole", 1, "AWS::IAM::Role"),
    (
        "sts.amazonaws.com",
        "GetCallerIdentity",
        200,
        "AWS::IAM::User",
    ),
    ("sts.amazonaws.com", "AssumeRole", 150, "AWS::IAM::Role"),
    ("kms.amazonaws.com", "Decrypt", 300, "AWS::KMS::Key"),
    ("kms.amazonaws.com", "GenerateDataKey", 120, "AWS::KMS::Key"),
    ("kms.amazonaws.com", "Encrypt", 40, "AWS::KMS::Key"),
    ("kms.amazonaws.com", "DescribeKey", 40, "AWS::KMS::Key"),
    (
        "rds.amazonaws.com",
        "DescribeDBInstances",
        60,
        "AWS::RDS::DBInstance",
    ),
    (
        "rds.amazonaws.com",
        "DescribeDBSnapshots",
        20,
        "AWS::RDS::DBSnapshot",
    ),
    (
        "rds.amazonaws.com",
        "CreateDBSnapshot",
        3,
        "AWS::RDS::DBSnapshot",
    ),
    (
        "rds.amazonaws.com",
        "StartDBInstance",
        2,
        "AWS::RDS::DBInstance",
    ),
    (
        "rds.amazonaws.com",
        "StopDBInstance",
        2,
        "AWS::RDS::DBInstance",
    ),
    (
        "rds.amazonaws.com",
        "AddTagsToResource",
        3,
        "AWS::RDS::DBInstance",
    ),
    (
        "rds.amazonaws.com",
        "RemoveTagsFromResource",
        1,
        "AWS::RDS::DBInstance",
    ),
    (
        "lambda.amazonaws.com",
        "ListFunctions20150331",
        40,
        "AWS::Lambda::Function",
    ),
    (
        "lambda.amazonaws.com",
        "GetFunction20150331v2",
        30,
        "AWS::Lambda::Function",
    ),
    (
        "lambda.amazonaws.com",
        "UpdateFunctionCode20150331v2",
        4,
        "AWS::Lambda::Function",
    ),
    (
        "cloudtrail.amazonaws.com",
        "LookupEvents",
        20,
        "AWS::CloudTrail::Trail",
    ),
    (
        "cloudtrail.amazonaws.com",
        "DescribeTrails",
        15,
        "AWS::CloudTrail::Trail",
    ),
    (
        "ssm.amazonaws.com",
        "GetParameter",
        90,
        "AWS::SSM::Parameter",
    ),
    (
        "monitoring.amazonaws.com",
        "DescribeAlarms",
        40,
        "AWS::CloudWatch::Alarm",
    ),
    (
        "logs.amazonaws.com",
        "DescribeLogGroups",
        40,
        "AWS::Logs::LogGroup",
    ),
    (
        "tagging.amazonaws.com",
        "TagResources",
        3,
        "AWS::ResourceGroupsTaggingAPI::Resource",
    ),
    (
        "tagging.amazonaws.com",
        "UntagResources",
        1,
        "AWS::ResourceGroupsTaggingAPI::Resource",
    ),
    (
        "config.amazonaws.com",
        "PutEvaluations",
        30,
        "AWS::Config::ConfigRule",
    ),
];

/// Errors by service: (code, message).
fn error_for(service: &str, rng: &mut Rng) -> (&'static str, &'static str) {
    match service {
        "ec2.amazonaws.com" => *rng.pick(&[
            ("Client.UnauthorizedOperation", "You are not authorized to perform this operation."),
            ("Client.InvalidPermission.NotFound", "The specified rule does not exist in this security group."),
            ("Client.RequestLimitExceeded", "Request limit exceeded."),
        ]),
        "iam.amazonaws.com" => *rng.pick(&[
            ("AccessDenied", "User is not authorized to perform: iam:ListUsers"),
            ("NoSuchEntityException", "The user with name svc-legacy cannot be found."),
        ]),
        "kms.amazonaws.com" => *rng.pick(&[
            ("AccessDeniedException", "User is not authorized to perform: kms:Decrypt on this resource because no identity-based policy allows the kms:Decrypt action"),
            ("InvalidCiphertextException", "The ciphertext refers to a customer master key that does not exist."),
        ]),
        "s3.amazonaws.com" => *rng.pick(&[("AccessDenied", "Access Denied"), ("NoSuchBucketPolicy", "The bucket policy does not exist")]),
        "ssm.amazonaws.com" => ("ParameterNotFound", "Parameter /prod/db/password-old not found."),
        "rds.amazonaws.com" => *rng.pick(&[
            ("AccessDenied", "User is not authorized to perform: rds:DescribeDBInstances"),
            ("DBInstanceNotFound", "DBInstance orders-db-replica-2 not found."),
        ]),
        "sts.amazonaws.com" => *rng.pick(&[
            ("AccessDenied", "User is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::551508107696:role/SecurityAuditRole"),
            ("ExpiredTokenException", "The security token included in the request is expired"),
        ]),
        "lambda.amazonaws.com" => *rng.pick(&[
            ("ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:111122223333:function:order-processor-v0"),
            ("TooManyRequestsException", "Rate Exceeded."),
        ]),
        "cloudtrail.amazonaws.com" => ("TrailNotFoundException", "Unknown trail: org-trail-old for the user: 111122223333"),
        "logs.amazonaws.com" => ("ResourceNotFoundException", "The specified log group does not exist."),
        "cloudformation.amazonaws.com" => ("ValidationError", "Stack with id shop-legacy does not exist"),
        "monitoring.amazonaws.com" => ("Throttling", "Rate exceeded"),
        "config.amazonaws.com" => ("NoSuchConfigRuleException", "The ConfigRule 's3-bucket-versioning-enabled' provided in the request is invalid."),
        "tagging.amazonaws.com" => ("ThrottledException", "Rate exceeded"),
        _ => *rng.pick(&[
            ("AccessDenied", "User is not authorized to perform this action"),
            ("ThrottlingException", "Rate exceeded"),
        ]),
    }
}

/// Request and resources for an operation.
pub fn fill(ev: &mut CtEvent, rng: &mut Rng, world: &super::world::World, rtype: &str) {
    let acct = ev.account;
    let region = ev.region.clone();
    let (req, res): (Value, Option<(String, String)>) = match rtype {
        "AWS::EC2::Instance" => {
            let i = rng.pick(&world.instances);
            (
                json!({"instancesSet": {"items": [{"instanceId": i.id}]}}),
                Some((i.id.clone(), rtype.into())),
            )
        }
        "AWS::EC2::SecurityGroup" => {
            let sg = format!("sg-0{}", rng.hex(16));
            let port = *rng.pick(&[443u16, 80, 8080, 5432, 3306, 22]);
            let cidr = *rng.pick(&[
                "10.0.0.0/8",
                "172.16.0.0/12",
                "54.216.116.106/32",
                "10.16.0.0/16",
            ]);
            (
                json!({"groupId": sg, "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": port, "toPort": port, "ipRanges": {"items": [{"cidrIp": cidr}]}}]}}),
                Some((
                    format!("arn:aws:ec2:{region}:{acct}:security-group/{sg}"),
                    rtype.into(),
                )),
            )
        }
        "AWS::S3::Bucket" => {
            let b = rng.pick(&world.buckets);
            (
                json!({"bucketName": b, "Host": format!("{b}.s3.amazonaws.com")}),
                Some((format!("arn:aws:s3:::{b}"), rtype.into())),
            )
        }
        "AWS::KMS::Key" => {
            let (k, _, _) = rng.pick(&world.kms_keys);
            (
                json!({"keyId": k, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
                Some((k.clone(), rtype.into())),
            )
        }
        "AWS::RDS::DBInstance" => {
            let db = *rng.pick(&["orders-db", "users-db", "analytics-db"]);
            (
                json!({"dBInstanceIdentifier": db}),
                Some((format!("arn:aws:rds:{region}:{acct}:db:{db}"), rtype.into())),
            )
        }
        "AWS::Lambda::Function" => {
            let (f, _, _) = rng.pick(&world.functions);
            (json!({"functionName": f}), Some((f.clone(), rtype.into())))
        }
        "AWS::IAM::Role" => {
            let r = *rng.pick(&[
                "AdminRole",
                "ReadOnlyRole",
                "EC2InstanceRole",
                "LambdaExecRole",
            ]);
            (
                json!({"roleName": r}),
                Some((format!("arn:aws:iam::{acct}:role/{r}"), rtype.into())),
            )
        }
        "AWS::IAM::User" => (json!({}), None),
        "AWS::SSM::Parameter" => {
            let p = *rng.pick(&["/prod/db/host", "/prod/api/key", "/shared/feature-flags"]);
            (
                json!({"name": p, "withDecryption": true}),
                Some((
                    format!("arn:aws:ssm:{region}:{acct}:parameter{p}"),
                    rtype.into(),
                )),
            )
        }
        _ => (json!({}), None),
    };
    ev.request = Some(req);
    if let Some(r) = res {
        ev.resources.push(r);
    }
}

/// Background management events: `n` of them between the clock's start and end.
pub fn background(
    seed: u64,
    world: &super::world::World,
    clock: &Clock,
    n: u64,
    mut emit: impl FnMut(CtEvent),
) {
    let mut rng = Rng::stream(seed, "cloudtrail");
    let people: Vec<(&Principal, u32)> = world.principals.iter().map(|p| (p, p.weight)).collect();
    let ops: Vec<((&str, &str, &str), u32)> =
        OPS.iter().map(|(s, o, w, r)| ((*s, *o, *r), *w)).collect();
    let regions: Vec<(&str, u32)> = super::world::REGIONS.to_vec();
    for _ in 0..n {
        let t = clock.random_time(&mut rng);
        let p = *rng.weighted(&people);
        // Console users sign in now and then; everyone calls APIs.
        if p.console && p.kind == Kind::IamUser && rng.chance(0.05) {
            let mut ev = CtEvent::new(
                &mut rng,
                t,
                p,
                "us-east-1",
                "signin.amazonaws.com",
                "ConsoleLogin",
            );
            ev.access_key = None;
            ev.mfa_used = Some(p.mfa);
            ev.session_mfa = p.mfa;
            if rng.chance(0.06) {
                ev = ev.failed("Failed authentication", "Failed authentication");
            }
            ev.response = Some(
                json!({"ConsoleLogin": if ev.error.is_some() { "Failure" } else { "Success" }}),
            );
            emit(ev);
            continue;
        }
        let (service, op, rtype) = *rng.weighted(&ops);
        let (service, op, rtype) = match (p.kind, service) {
            // Services act on their own APIs.
            (Kind::AwsService, _) => {
                let svc = p.name.as_str();
                match svc {
                    "config.amazonaws.com" => (
                        "config.amazonaws.com",
                        "PutEvaluations",
                        "AWS::Config::ConfigRule",
                    ),
                    "autoscaling.amazonaws.com" => (
                        "ec2.amazonaws.com",
                        "DescribeInstances",
                        "AWS::EC2::Instance",
                    ),
                    "kms.amazonaws.com" => ("kms.amazonaws.com", "DescribeKey", "AWS::KMS::Key"),
                    "cloudformation.amazonaws.com" => (
                        "cloudformation.amazonaws.com",
                        "DescribeStacks",
                        "AWS::CloudFormation::Stack",
                    ),
                    _ => (
                        "ec2.amazonaws.com",
                        "DescribeInstances",
                        "AWS::EC2::Instance",
                    ),
                }
            }
            (_, s) if p.name == "LambdaExecRole" && rng.chance(0.7) => {
                let _ = s;
                (
                    "kms.amazonaws.com",
                    if rng.chance(0.75) {
                        "Decrypt"
                    } else {
                        "GenerateDataKey"
                    },
                    "AWS::KMS::Key",
                )
            }
            _ => (service, op, rtype),
        };
        let region = *rng.weighted(&regions);
        let mut ev = CtEvent::new(&mut rng, t, p, region, service, op);
        fill(&mut ev, &mut rng, world, rtype);
        // Realistic error rate: mostly reads by roles without the permission, some throttling.
        let error_rate = if p.name == "ReadOnlyRole"
            && !op.starts_with("Describe")
            && !op.starts_with("List")
            && !op.starts_with("Get")
        {
            0.6
        } else {
            0.025
        };
        if rng.chance(error_rate) {
            let (code, msg) = error_for(service, &mut rng);
            ev = ev.failed(code, msg);
        }
        if op == "AssumeRole" && ev.error.is_none() {
            ev.response = Some(
                json!({"assumedRoleUser": {"arn": format!("arn:aws:sts::{}:assumed-role/ReadOnlyRole/{}", ev.account, p.name)}}),
            );
        }
        emit(ev);
    }
}
