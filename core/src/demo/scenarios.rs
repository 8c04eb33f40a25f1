//! Planted scenarios: the security stories a demo lake must let analysts find, each with the facts a test can
//! assert (who, from where, when, how many), written to the manifest under `demo.scenarios`.

use serde_json::{Value, json};

use super::cloudtrail::{CtEvent, Trail, fill};
use super::network::{Dns, Flow};
use super::others::{EksEvent, Finding, WafRequest};
use super::rng::Rng;
use super::world::{Kind, Principal, World};
use super::writer::Sinks;
use super::{Clock, HOUR, ts};

pub const PORT_SCANNER: &str = "185.220.101.47";
pub const THIEF_IP: &str = "45.137.21.9";
pub const THIEF_UA: &str = "python-requests/2.31.0";
pub const C2_DOMAIN: &str = "update.x0r-cdn.top.";
pub const C2_IP: &str = "193.142.146.35";
pub const SQLI_IP: &str = "91.240.118.172";
pub const DEMO_USER: &str = "arn:aws:iam::551508107696:user/DemoUser";
/// Hosts that probe the shop for credential files, with the country WAF geolocates them to.
pub const PROBERS: [(&str, &str); 8] = [
    ("43.153.88.10", "SG"),
    ("61.177.172.140", "CN"),
    ("194.26.29.113", "RU"),
    ("80.94.95.226", "RO"),
    ("138.197.77.21", "US"),
    ("45.148.10.95", "NL"),
    ("177.54.144.20", "BR"),
    ("14.225.205.30", "VN"),
];
pub const BRUTE_IP: &str = "5.188.206.14";
/// Where the EC2 instance role's stolen credentials are used from.
pub const EXFIL_IP: &str = "146.70.199.21";

/// Background S3 object access and Lambda invocations (CloudTrail data events).
pub fn data_events(
    seed: u64,
    world: &World,
    clock: &Clock,
    n_s3: u64,
    n_lambda: u64,
    mut emit: impl FnMut(CtEvent),
) {
    let mut rng = Rng::stream(seed, "data-events");
    let readers: Vec<&Principal> = world
        .principals
        .iter()
        .filter(|p| {
            matches!(
                p.name.as_str(),
                "EC2InstanceRole" | "LambdaExecRole" | "backup-svc" | "ci-deployer"
            )
        })
        .collect();
    let ops = [
        ("GetObject", 60u32),
        ("PutObject", 25),
        ("HeadObject", 10),
        ("DeleteObject", 2),
        ("ListObjects", 3),
    ];
    for _ in 0..n_s3 {
        let t = clock.random_time(&mut rng);
        let p = *rng.pick(&readers);
        let op = *rng.weighted(&ops);
        let bucket = *rng.pick(&world.buckets);
        let key = format!(
            "{}/{}/{}.json",
            ["orders", "images", "exports", "tmp"][rng.range(0, 4) as usize],
            rng.range(2024, 2027),
            rng.hex(12)
        );
        let mut ev = CtEvent::new(&mut rng, t, p, "us-east-1", "s3.amazonaws.com", op);
        ev.trail = Trail::S3Data;
        ev.request = Some(
            json!({"bucketName": bucket, "key": key, "Host": format!("{bucket}.s3.us-east-1.amazonaws.com")}),
        );
        ev.resources = vec![
            (
                format!("arn:aws:s3:::{bucket}/{key}"),
                "AWS::S3::Object".into(),
            ),
            (format!("arn:aws:s3:::{bucket}"), "AWS::S3::Bucket".into()),
        ];
        if rng.chance(0.01) {
            ev = ev.failed("AccessDenied", "Access Denied");
        }
        emit(ev);
    }
    let invoker = world.principal("LambdaExecRole").clone();
    for _ in 0..n_lambda {
        let t = clock.random_time(&mut rng);
        let (f, account, region) = rng.pick(&world.functions).clone();
        let mut ev = CtEvent::new(
            &mut rng,
            t,
            &invoker,
            region,
            "lambda.amazonaws.com",
            "Invoke",
        );
        ev.trail = Trail::LambdaData;
        ev.account = account;
        ev.invoked_by = Some("apigateway.amazonaws.com".into());
        ev.src = "apigateway.amazonaws.com".into();
        ev.request = Some(json!({"functionName": f, "invocationType": "RequestResponse"}));
        ev.resources = vec![(f.clone(), "AWS::Lambda::Function".into())];
        if rng.chance(0.02) {
            ev = ev.failed("TooManyRequestsException", "Rate Exceeded.");
        }
        emit(ev);
    }
}

fn console_login(rng: &mut Rng, t: i64, p: &Principal, ip: &str, mfa: bool, ok: bool) -> CtEvent {
    let mut ev = CtEvent::new(
        rng,
        t,
        p,
        "us-east-1",
        "signin.amazonaws.com",
        "ConsoleLogin",
    );
    ev.src = ip.to_string();
    ev.access_key = None;
    ev.mfa_used = Some(mfa);
    ev.session_mfa = mfa;
    ev.user_agent = super::world::BROWSER_UAS[0].into();
    if !ok {
        ev = ev.failed("Failed authentication", "Failed authentication");
    }
    ev.response = Some(json!({"ConsoleLogin": if ok { "Success" } else { "Failure" }}));
    ev
}

/// Plants every scenario and returns their facts.
pub(super) fn plant(seed: u64, world: &World, clock: &Clock, sinks: &mut Sinks) -> Value {
    let mut rng = Rng::stream(seed, "scenarios");
    let mut facts = serde_json::Map::new();

    // 1. Port scan: one external IP probes many ports of one web server within 20 minutes; mostly refused.
    let target = world.instances_with_role("web")[0].clone();
    let start = clock.at(3, 2, 10);
    let mut ports: Vec<u16> = (1..=1024).filter(|p| p % 3 != 0 || *p < 100).collect();
    ports.truncate(700);
    let mut accepted = 0;
    for (k, port) in ports.iter().enumerate() {
        let mut f = Flow::new(
            &target,
            start + (k as i64 * 1_700),
            true,
            PORT_SCANNER,
            rng.range(40000, 65000) as u16,
            *port,
            6,
        );
        f.accepted = matches!(port, 80 | 443);
        accepted += u32::from(f.accepted);
        f.tcp_flags = 2;
        sinks.flow(&f);
    }
    facts.insert("port_scan".into(), json!({
        "scanner_ip": PORT_SCANNER, "target_ip": target.ip, "target_instance": target.id, "distinct_ports": ports.len(),
        "accepted": accepted, "start": ts(start), "end": ts(start + ports.len() as i64 * 1_700),
    }));

    // 2. Credential theft: failed console logins for frank, then frank's access key used from a new IP with an
    //    unusual user agent for reconnaissance and reads of the finance bucket.
    let frank = world.principal("frank").clone();
    let t0 = clock.at(4, 22, 40);
    for k in 0..6 {
        sinks.cloudtrail(&console_login(
            &mut rng,
            t0 + k * 45_000,
            &frank,
            THIEF_IP,
            false,
            false,
        ));
    }
    let recon = [
        "GetCallerIdentity",
        "ListUsers",
        "ListRoles",
        "ListAccessKeys",
        "GetAccountAuthorizationDetails",
        "ListBuckets",
        "DescribeInstances",
        "ListAttachedUserPolicies",
        "DescribeSecurityGroups",
        "ListSecrets",
    ];
    let t1 = t0 + 2 * HOUR;
    for (k, op) in recon.iter().enumerate() {
        let service = match *op {
            "GetCallerIdentity" => "sts.amazonaws.com",
            "ListBuckets" => "s3.amazonaws.com",
            "DescribeInstances" | "DescribeSecurityGroups" => "ec2.amazonaws.com",
            "ListSecrets" => "secretsmanager.amazonaws.com",
            _ => "iam.amazonaws.com",
        };
        for region in ["us-east-1", "us-west-2", "ap-northeast-2"] {
            let jitter = rng.range(0, 5_000) as i64;
            let mut ev = CtEvent::new(
                &mut rng,
                t1 + k as i64 * 20_000 + jitter,
                &frank,
                region,
                service,
                op,
            );
            ev.src = THIEF_IP.into();
            ev.user_agent = THIEF_UA.into();
            if *op == "GetAccountAuthorizationDetails" || *op == "ListSecrets" {
                ev = ev.failed(
                    "AccessDenied",
                    &format!("User: {} is not authorized to perform: {}", frank.arn, op),
                );
            }
            sinks.cloudtrail(&ev);
            if service != "ec2.amazonaws.com" {
                break;
            }
        }
    }
    let mut objects = 0;
    for k in 0..120 {
        let mut ev = CtEvent::new(
            &mut rng,
            t1 + HOUR + k * 7_000,
            &frank,
            "us-east-1",
            "s3.amazonaws.com",
            "GetObject",
        );
        ev.trail = Trail::S3Data;
        ev.src = THIEF_IP.into();
        ev.user_agent = THIEF_UA.into();
        let key = format!("reports/2026/q{}/ledger-{:03}.xlsx", 1 + k % 4, k);
        ev.request = Some(json!({"bucketName": "acme-finance-reports", "key": key}));
        ev.resources = vec![(
            format!("arn:aws:s3:::acme-finance-reports/{key}"),
            "AWS::S3::Object".into(),
        )];
        sinks.cloudtrail(&ev);
        objects += 1;
    }
    facts.insert("credential_theft".into(), json!({
        "user": frank.arn, "user_name": frank.name, "attacker_ip": THIEF_IP, "user_agent": THIEF_UA,
        "access_key": frank.access_key, "failed_logins": 6, "failed_logins_start": ts(t0),
        "recon_operations": recon, "recon_start": ts(t1), "bucket": "acme-finance-reports", "objects_read": objects,
    }));

    // 3. Root account usage in prod.
    let root = Principal {
        kind: Kind::Root,
        name: "111122223333".into(),
        account: "111122223333",
        arn: "arn:aws:iam::111122223333:root".into(),
        principal_id: "111122223333".into(),
        access_key: None,
        console: true,
        mfa: true,
        ips: vec!["54.216.116.106".into()],
        user_agents: vec![super::world::BROWSER_UAS[1]],
        issuer: None,
        invoked_by: None,
        weight: 0,
    };
    let tr = clock.at(2, 9, 5);
    sinks.cloudtrail(&console_login(
        &mut rng,
        tr,
        &root,
        "54.216.116.106",
        true,
        true,
    ));
    let root_ops = [
        ("iam.amazonaws.com", "GetAccountSummary"),
        ("iam.amazonaws.com", "UpdateAccountPasswordPolicy"),
        ("billing.amazonaws.com", "GetBillingPreferences"),
        ("iam.amazonaws.com", "ListMFADevices"),
    ];
    for (k, (svc, op)) in root_ops.iter().enumerate() {
        let ev = CtEvent::new(
            &mut rng,
            tr + (k as i64 + 1) * 60_000,
            &root,
            "us-east-1",
            svc,
            op,
        );
        sinks.cloudtrail(&ev);
    }
    facts.insert("root_usage".into(), json!({"account": "111122223333", "events": 1 + root_ops.len(), "first": ts(tr), "source_ip": "54.216.116.106"}));

    // 4. DemoUser signs in without MFA (several times), and from the office IP.
    let demo = world.principal("DemoUser").clone();
    let mut demo_logins = Vec::new();
    for d in [1, 3, 6, 9] {
        let t = clock.at(d, 10, 15);
        sinks.cloudtrail(&console_login(
            &mut rng,
            t,
            &demo,
            "54.216.116.106",
            false,
            true,
        ));
        demo_logins.push(ts(t));
    }
    facts.insert(
        "demo_user_logins".into(),
        json!({"user": DEMO_USER, "mfa": false, "times": demo_logins, "ip": "54.216.116.106"}),
    );

    // 5. Security group opened to the world on SSH, then closed.
    let dave = world.principal("dave").clone();
    let ts_open = clock.at(5, 14, 2);
    let sg = format!("sg-0{}", rng.hex(16));
    for (op, t) in [
        ("AuthorizeSecurityGroupIngress", ts_open),
        ("RevokeSecurityGroupIngress", ts_open + 3 * HOUR),
    ] {
        let mut ev = CtEvent::new(&mut rng, t, &dave, "us-west-2", "ec2.amazonaws.com", op);
        ev.request = Some(
            json!({"groupId": sg, "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}),
        );
        ev.resources = vec![(
            format!("arn:aws:ec2:us-west-2:{}:security-group/{sg}", dave.account),
            "AWS::EC2::SecurityGroup".into(),
        )];
        sinks.cloudtrail(&ev);
    }
    facts.insert("open_ssh_security_group".into(), json!({"group_id": sg, "user": dave.arn, "cidr": "0.0.0.0/0", "port": 22, "opened": ts(ts_open), "closed": ts(ts_open + 3 * HOUR)}));

    // 6. KMS key rotation: enabled by alice, then rotated by the KMS service.
    let alice = world.principal("alice").clone();
    let key = world.kms_keys[0].0.clone();
    let te = clock.at(12, 11, 30);
    let mut ev = CtEvent::new(
        &mut rng,
        te,
        &alice,
        "us-east-1",
        "kms.amazonaws.com",
        "EnableKeyRotation",
    );
    ev.request = Some(json!({"keyId": key, "rotationPeriodInDays": 365}));
    ev.resources = vec![(key.clone(), "AWS::KMS::Key".into())];
    sinks.cloudtrail(&ev);
    let kms = world.principal("kms.amazonaws.com").clone();
    let trot = clock.at(7, 0, 0) + 17 * 60_000;
    let mut ev = CtEvent::new(
        &mut rng,
        trot,
        &kms,
        "us-east-1",
        "kms.amazonaws.com",
        "RotateKey",
    );
    ev.request = None;
    ev.resources = vec![(key.clone(), "AWS::KMS::Key".into())];
    sinks.cloudtrail(&ev);
    facts.insert("kms_rotation".into(), json!({"key": key, "enabled_by": alice.arn, "enabled": ts(te), "rotated": ts(trot), "heaviest_decrypt_caller": "LambdaExecRole"}));

    // 7. RDS snapshot restores and EC2 / RDS lifecycle actions.
    let admin = world.principal("AdminRole").clone();
    let mut restores = Vec::new();
    for (d, db) in [(8, "orders-db-restore-test"), (2, "orders-db-forensics")] {
        let t = clock.at(d, 15, 20);
        let mut ev = CtEvent::new(
            &mut rng,
            t,
            &admin,
            "us-east-1",
            "rds.amazonaws.com",
            "RestoreDBInstanceFromDBSnapshot",
        );
        ev.request = Some(
            json!({"dBInstanceIdentifier": db, "dBSnapshotIdentifier": "rds:orders-db-2026-11-01-03-10"}),
        );
        ev.resources = vec![(
            format!("arn:aws:rds:us-east-1:{}:db:{db}", admin.account),
            "AWS::RDS::DBInstance".into(),
        )];
        sinks.cloudtrail(&ev);
        restores.push(json!({"db": db, "time": ts(t)}));
    }
    for (k, (svc, op)) in [
        ("rds.amazonaws.com", "StopDBInstance"),
        ("rds.amazonaws.com", "StartDBInstance"),
        ("rds.amazonaws.com", "DeleteDBInstance"),
        ("ec2.amazonaws.com", "StopInstances"),
        ("ec2.amazonaws.com", "StartInstances"),
        ("ec2.amazonaws.com", "TerminateInstances"),
    ]
    .iter()
    .enumerate()
    {
        let mut ev = CtEvent::new(
            &mut rng,
            clock.at(6, 16, 0) + k as i64 * 600_000,
            &admin,
            "us-east-1",
            svc,
            op,
        );
        fill(
            &mut ev,
            &mut rng,
            world,
            if svc.starts_with("rds") {
                "AWS::RDS::DBInstance"
            } else {
                "AWS::EC2::Instance"
            },
        );
        sinks.cloudtrail(&ev);
    }
    facts.insert("rds_snapshot_restores".into(), Value::Array(restores));

    // 8. Early-morning access: carol signs in at 03:12 and works for a while.
    let carol = world.principal("carol").clone();
    let tm = clock.at(1, 3, 12);
    sinks.cloudtrail(&console_login(
        &mut rng,
        tm,
        &carol,
        super::world::VPN_IP,
        true,
        true,
    ));
    for k in 0..8 {
        let mut ev = CtEvent::new(
            &mut rng,
            tm + (k + 1) * 240_000,
            &carol,
            "us-east-1",
            "ec2.amazonaws.com",
            "DescribeInstances",
        );
        ev.src = super::world::VPN_IP.into();
        sinks.cloudtrail(&ev);
    }
    facts.insert(
        "early_morning".into(),
        json!({"user": carol.arn, "login": ts(tm), "ip": super::world::VPN_IP}),
    );

    // 9. DNS beaconing to a suspicious domain from one app server, with matching flows.
    let victim = world.instances_with_role("app")[1].clone();
    let tb = clock.at(5, 1, 0);
    let mut beacons = 0;
    for k in 0..96 {
        let t = tb + k * 15 * 60_000 + rng.range(0, 30_000) as i64;
        sinks.dns(&Dns {
            time: t,
            instance: victim.clone(),
            src_port: rng.range(1024, 65535) as u16,
            hostname: C2_DOMAIN.into(),
            qtype: "A",
            rcode: (0, "NoError"),
            answers: vec![("A", C2_IP.into())],
            blocked: false,
        });
        let mut f = Flow::new(
            &victim,
            t + 500,
            false,
            C2_IP,
            443,
            rng.range(32768, 61000) as u16,
            6,
        );
        f.packets = 12;
        f.bytes = 4_200;
        sinks.flow(&f);
        beacons += 1;
    }
    facts.insert("dns_beacon".into(), json!({"domain": C2_DOMAIN, "resolved_ip": C2_IP, "instance_ip": victim.ip, "instance": victim.id, "queries": beacons, "start": ts(tb)}));

    // 10. GuardDuty findings for the stories above.
    let gd = |t: i64,
              account: &'static str,
              region: &str,
              ty: &str,
              title: &str,
              sev: (i32, &'static str),
              res: (String, String),
              ip: Option<&str>,
              domain: Option<&str>,
              rng: &mut Rng| Finding {
        time: t,
        account,
        region: region.into(),
        product: "GuardDuty",
        types: vec![format!("TTPs/{ty}")],
        title: title.into(),
        desc: title.into(),
        severity: sev,
        status: "New",
        resource: res,
        cves: vec![],
        compliance: None,
        evidence_ip: ip.map(str::to_string),
        evidence_domain: domain.map(str::to_string),
        uid: format!(
            "arn:aws:guardduty:{region}:{account}:detector/{}/finding/{}",
            rng.hex(32),
            rng.hex(32)
        ),
    };
    let inst = |i: &super::world::Instance| {
        (
            format!("arn:aws:ec2:{}:{}:instance/{}", i.region, i.account, i.id),
            "AwsEc2Instance".to_string(),
        )
    };
    let sev = super::others::SEVERITIES;
    let gd_findings = [
        gd(
            start + 30 * 60_000,
            target.account,
            target.region,
            "Recon:EC2/PortProbeUnprotectedPort",
            &format!(
                "Unprotected port on EC2 instance {} is being probed.",
                target.id
            ),
            sev[1],
            inst(&target),
            Some(PORT_SCANNER),
            None,
            &mut rng,
        ),
        gd(
            t1 + 30 * 60_000,
            frank.account,
            "us-east-1",
            "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
            "API GetCallerIdentity was invoked from a known malicious IP address.",
            sev[3],
            (frank.arn.clone(), "AwsIamUser".into()),
            Some(THIEF_IP),
            None,
            &mut rng,
        ),
        gd(
            t1 + 2 * HOUR,
            frank.account,
            "us-east-1",
            "Exfiltration:S3/AnomalousBehavior",
            "Anomalous S3 GetObject requests from user frank.",
            sev[3],
            (
                "arn:aws:s3:::acme-finance-reports".into(),
                "AwsS3Bucket".into(),
            ),
            Some(THIEF_IP),
            None,
            &mut rng,
        ),
        gd(
            tr + 10 * 60_000,
            "111122223333",
            "us-east-1",
            "Policy:IAMUser/RootCredentialUsage",
            "API GetAccountSummary was invoked using root credentials.",
            sev[1],
            ("arn:aws:iam::111122223333:root".into(), "AwsIamUser".into()),
            Some("54.216.116.106"),
            None,
            &mut rng,
        ),
        gd(
            tb + HOUR,
            victim.account,
            victim.region,
            "Backdoor:EC2/C&CActivity.B!DNS",
            &format!(
                "EC2 instance {} is querying a domain name associated with a known command and control server.",
                victim.id
            ),
            sev[3],
            inst(&victim),
            None,
            Some(C2_DOMAIN),
            &mut rng,
        ),
    ];
    for f in &gd_findings {
        sinks.finding(f);
    }
    facts.insert(
        "guardduty_findings".into(),
        json!(
            gd_findings
                .iter()
                .map(|f| json!({"type": f.types[0], "severity": f.severity.1}))
                .collect::<Vec<_>>()
        ),
    );

    // 11. WAF: a SQL injection burst from one IP, blocked.
    let tw = clock.at(2, 20, 0);
    for k in 0..60 {
        sinks.waf(&WafRequest {
            time: tw + k * 5_000,
            account: "111122223333",
            region: "us-east-1",
            ip: SQLI_IP.into(),
            country: "RU",
            method: "GET",
            host: "shop.example.com",
            path: "/products".into(),
            args: format!("id=1%27%20OR%20%271%27=%27{k}"),
            user_agent: "sqlmap/1.8.11#stable (https://sqlmap.org)",
            blocked_by: Some(("AWS-AWSManagedRulesSQLiRuleSet", "MANAGED_RULE_GROUP")),
            status: 403,
            uid: rng.uuid(),
        });
    }
    facts.insert("waf_sqli".into(), json!({"ip": SQLI_IP, "requests": 60, "rule": "AWS-AWSManagedRulesSQLiRuleSet", "start": ts(tw)}));

    // 12. EKS: anonymous requests denied, and a secret read by an unusual identity.
    let tk = clock.at(3, 4, 30);
    for k in 0..15 {
        sinks.eks(&EksEvent {
            time: tk + k * 20_000,
            account: "111122223333",
            region: "us-east-1",
            user: "system:anonymous".into(),
            groups: vec!["system:unauthenticated"],
            verb: "list",
            group: None,
            resource: "secrets",
            namespace: Some("kube-system"),
            name: String::new(),
            code: 403,
            src_ip: PORT_SCANNER.into(),
            user_agent: "curl/8.5.0",
            uid: rng.uuid(),
        });
    }
    facts.insert("eks_anonymous".into(), json!({"user": "system:anonymous", "requests": 15, "src_ip": PORT_SCANNER, "start": ts(tk)}));

    // 13. WAF: hosts in several countries probe for credential and config files. A REGEX pattern-set rule
    //     blocks the well-known paths; a path it does not list gets through (404).
    let paths: [(&str, bool); 7] = [
        ("/.aws/credentials", true),
        ("/.aws/config", true),
        ("/.env", true),
        ("/.git/config", true),
        ("/wp-config.php.bak", true),
        ("/.docker/config.json", true),
        ("/config/secrets.yml", false),
    ];
    let tp = clock.at(6, 3, 15);
    let (mut probes, mut probes_blocked) = (0, 0);
    for (pi, (ip, country)) in PROBERS.iter().enumerate() {
        let t_ip = tp + pi as i64 * 7 * HOUR;
        for (k, (path, listed)) in paths.iter().enumerate() {
            let method = if *path == "/.env" && pi % 2 == 0 {
                "POST"
            } else {
                "GET"
            };
            sinks.waf(&WafRequest {
                time: t_ip + k as i64 * 2_500 + rng.range(0, 1_000) as i64,
                account: "111122223333",
                region: "us-east-1",
                ip: (*ip).into(),
                country,
                method,
                host: "shop.example.com",
                path: (*path).into(),
                args: String::new(),
                user_agent: "Mozilla/5.0 zgrab/0.x",
                blocked_by: listed.then_some(("BlockSensitiveFilePaths", "REGEX")),
                status: if *listed { 403 } else { 404 },
                uid: rng.uuid(),
            });
            probes += 1;
            probes_blocked += u32::from(*listed);
        }
    }
    facts.insert("waf_credential_probes".into(), json!({
        "ips": PROBERS.iter().map(|p| p.0).collect::<Vec<_>>(),
        "countries": PROBERS.iter().map(|p| p.1).collect::<Vec<_>>(),
        "paths": paths.iter().map(|p| p.0).collect::<Vec<_>>(),
        "requests": probes, "blocked": probes_blocked, "rule": "BlockSensitiveFilePaths", "start": ts(tp),
    }));

    // 14. WAF: a password-guessing burst against /login; the rate-based rule blocks it past 100 requests
    //     in five minutes.
    let tl = clock.at(1, 23, 5);
    let (mut tries, mut limited) = (0, 0);
    for k in 0..400i64 {
        let blocked = k >= 100;
        sinks.waf(&WafRequest {
            time: tl + k * 1_200,
            account: "111122223333",
            region: "us-east-1",
            ip: BRUTE_IP.into(),
            country: "RU",
            method: "POST",
            host: "shop.example.com",
            path: "/login".into(),
            args: String::new(),
            user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0",
            blocked_by: blocked.then_some(("LoginRateLimit", "RATE_BASED")),
            status: if blocked { 403 } else { 401 },
            uid: rng.uuid(),
        });
        tries += 1;
        limited += u32::from(blocked);
    }
    facts.insert("waf_login_rate_limit".into(), json!({"ip": BRUTE_IP, "requests": tries, "blocked": limited, "rule": "LoginRateLimit", "start": ts(tl)}));

    // 15. The EC2 instance role's temporary credentials, taken from an instance, are used from outside AWS;
    //     GuardDuty reports InstanceCredentialExfiltration.OutsideAWS.
    let role = world.principal("EC2InstanceRole").clone();
    let te = clock.at(2, 5, 40);
    //     First the attacker makes the shop fetch the instance metadata service's credentials URL (an SSRF
    //     through an image-proxy parameter); the WAF has no rule for it and lets it through.
    let ssrf =
        "url=http://169.254.169.254/latest/meta-data/iam/security-credentials/EC2InstanceRole";
    for k in 0..3i64 {
        sinks.waf(&WafRequest {
            time: te - 50 * 60_000 + k * 90_000,
            account: "111122223333",
            region: "us-east-1",
            ip: EXFIL_IP.into(),
            country: "NL",
            method: "GET",
            host: "shop.example.com",
            path: "/api/v1/image-proxy".into(),
            args: ssrf.into(),
            user_agent: "curl/8.5.0",
            blocked_by: None,
            status: 200,
            uid: rng.uuid(),
        });
    }
    let calls = [
        ("sts.amazonaws.com", "GetCallerIdentity", None),
        ("s3.amazonaws.com", "ListBuckets", None),
        ("ec2.amazonaws.com", "DescribeInstances", None),
        (
            "iam.amazonaws.com",
            "ListAttachedRolePolicies",
            Some("AccessDenied"),
        ),
        ("secretsmanager.amazonaws.com", "ListSecrets", None),
        (
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            Some("AccessDeniedException"),
        ),
        ("ssm.amazonaws.com", "GetParametersByPath", None),
    ];
    for (k, (service, op, err)) in calls.iter().enumerate() {
        let mut ev = CtEvent::new(
            &mut rng,
            te + k as i64 * 40_000,
            &role,
            "us-east-1",
            service,
            op,
        );
        ev.src = EXFIL_IP.into();
        ev.user_agent = super::world::CLI_UAS[1].into();
        if let Some(code) = err {
            ev = ev.failed(
                code,
                &format!("User: {} is not authorized to perform: {op}", role.arn),
            );
        }
        sinks.cloudtrail(&ev);
    }
    let exfil = gd(
        te + 20 * 60_000,
        role.account,
        "us-east-1",
        "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
        &format!(
            "Credentials created exclusively for an EC2 instance using instance role {} have been used from external IP address {EXFIL_IP}.",
            role.name
        ),
        sev[3],
        (role.issuer.clone().unwrap_or_default(), "AwsIamRole".into()),
        Some(EXFIL_IP),
        None,
        &mut rng,
    );
    sinks.finding(&exfil);
    facts.insert("instance_credential_exfiltration".into(), json!({
        "role": role.issuer, "session": role.arn, "access_key": role.access_key, "ip": EXFIL_IP,
        "operations": calls.iter().map(|c| c.1).collect::<Vec<_>>(), "finding_type": exfil.types[0], "start": ts(te),
        "ssrf_requests": 3, "ssrf_path": "/api/v1/image-proxy",
    }));
    Value::Object(facts)
}
