//! VPC Flow Log records and Route 53 Resolver query logs, in OCSF 1.1.0 (v2) and 1.0.0-rc.2 (v1).

use serde_json::{Value, json};

use super::Clock;
use super::fmt_ts;
use super::rng::Rng;
use super::world::{Instance, World};

/// One flow-log record (an aggregation window of one 5-tuple).
#[derive(Debug, Clone)]
pub struct Flow {
    pub start: i64,
    pub end: i64,
    pub account: &'static str,
    pub region: &'static str,
    pub zone: String,
    pub src_ip: String,
    pub src_port: u16,
    pub dst_ip: String,
    pub dst_port: u16,
    pub protocol: u8,
    pub packets: u64,
    pub bytes: u64,
    pub accepted: bool,
    /// The instance whose interface logged the record.
    pub eni: String,
    pub instance: String,
    pub vpc: String,
    pub subnet: String,
    /// true: the logging instance is the destination.
    pub inbound: bool,
    pub tcp_flags: u8,
}

impl Flow {
    pub fn new(
        i: &Instance,
        start: i64,
        inbound: bool,
        peer_ip: &str,
        peer_port: u16,
        local_port: u16,
        protocol: u8,
    ) -> Flow {
        let (src_ip, src_port, dst_ip, dst_port) = if inbound {
            (peer_ip.to_string(), peer_port, i.ip.clone(), local_port)
        } else {
            (i.ip.clone(), local_port, peer_ip.to_string(), peer_port)
        };
        Flow {
            start,
            end: start + 60_000,
            account: i.account,
            region: i.region,
            zone: i.zone.clone(),
            src_ip,
            src_port,
            dst_ip,
            dst_port,
            protocol,
            packets: 1,
            bytes: 40,
            accepted: true,
            eni: i.eni.clone(),
            instance: i.id.clone(),
            vpc: i.vpc.clone(),
            subnet: i.subnet.clone(),
            inbound,
            tcp_flags: if protocol == 6 { 19 } else { 0 },
        }
    }

    fn endpoint(&self, local: bool, ip: &str, port: u16) -> Value {
        if local {
            json!({"port": port, "svc_name": "-", "ip": ip, "intermediate_ips": Value::Null, "interface_uid": self.eni,
                   "vpc_uid": self.vpc, "instance_uid": self.instance, "subnet_uid": self.subnet})
        } else {
            json!({"port": port, "svc_name": "-", "ip": ip, "intermediate_ips": Value::Null, "interface_uid": Value::Null,
                   "vpc_uid": Value::Null, "instance_uid": Value::Null, "subnet_uid": Value::Null})
        }
    }

    fn common(&self) -> (i32, &'static str, &'static str, i32, &'static str) {
        if self.accepted {
            (6, "Traffic", "Allowed", 1, "Allowed")
        } else {
            (5, "Refuse", "Denied", 2, "Blocked")
        }
    }

    pub fn to_v2(&self) -> Value {
        let (activity_id, activity_name, action, action_id, disposition) = self.common();
        let direction = if self.inbound {
            (1, "Inbound")
        } else {
            (2, "Outbound")
        };
        json!({
            "metadata": {"product": {"version": "5", "name": "Amazon VPC", "feature": {"name": "Flowlogs"}, "vendor_name": "AWS"},
                         "profiles": ["cloud", "security_control", "datetime"], "version": "1.1.0"},
            "cloud": {"account": {"uid": self.account}, "region": self.region, "zone": self.zone, "provider": "AWS"},
            "src_endpoint": self.endpoint(!self.inbound, &self.src_ip, self.src_port),
            "dst_endpoint": self.endpoint(self.inbound, &self.dst_ip, self.dst_port),
            "connection_info": {"protocol_num": self.protocol, "tcp_flags": self.tcp_flags, "protocol_ver": "IPv4",
                                "boundary_id": 99, "boundary": "-", "direction_id": direction.0, "direction": direction.1},
            "traffic": {"packets": self.packets, "bytes": self.bytes},
            "time": self.start,
            "time_dt": fmt_ts(self.start),
            "start_time_dt": fmt_ts(self.start),
            "end_time_dt": fmt_ts(self.end),
            "status_code": "OK",
            "severity_id": 1,
            "severity": "Informational",
            "class_name": "Network Activity",
            "class_uid": 4001,
            "category_name": "Network Activity",
            "category_uid": 4,
            "activity_name": activity_name,
            "activity_id": activity_id,
            "action": action,
            "action_id": action_id,
            "disposition": disposition,
            "type_uid": 400100 + activity_id,
            "type_name": format!("Network Activity: {activity_name}"),
            "accountid": self.account,
            "region": self.region,
            "asl_version": "2.0",
            "unmapped": {"sublocation_id": "-", "sublocation_type": "-"},
            "observables": [
                {"name": "src_endpoint.ip", "value": self.src_ip, "type": "IP Address", "type_id": 2},
                {"name": "dst_endpoint.ip", "value": self.dst_ip, "type": "IP Address", "type_id": 2},
            ],
        })
    }

    pub fn to_v1(&self) -> Value {
        let (activity_id, activity_name, _, disposition_id, disposition) = self.common();
        let direction = if self.inbound {
            (1, "Inbound")
        } else {
            (2, "Outbound")
        };
        json!({
            "metadata": {"product": {"version": "5", "name": "Amazon VPC", "feature": {"name": "Flowlogs"}, "vendor_name": "AWS"},
                         "profiles": ["cloud", "security_control"], "version": "1.0.0-rc.2"},
            "cloud": {"account_uid": self.account, "region": self.region, "zone": self.zone, "provider": "AWS"},
            "src_endpoint": self.endpoint(!self.inbound, &self.src_ip, self.src_port),
            "dst_endpoint": self.endpoint(self.inbound, &self.dst_ip, self.dst_port),
            "connection_info": {"protocol_num": self.protocol, "tcp_flags": self.tcp_flags, "protocol_ver": "IPv4",
                                "boundary_id": 99, "boundary": "-", "direction_id": direction.0, "direction": direction.1},
            "traffic": {"packets": self.packets, "bytes": self.bytes},
            "time": self.start,
            "start_time": self.start,
            "end_time": self.end,
            "status_code": "OK",
            "severity_id": 1,
            "severity": "Informational",
            "class_name": "Network Activity",
            "class_uid": 4001,
            "category_name": "Network Activity",
            "category_uid": 4,
            "activity_name": activity_name,
            "activity_id": activity_id,
            "disposition": disposition,
            "disposition_id": disposition_id,
            "type_uid": 400100 + activity_id,
            "type_name": format!("Network Activity: {activity_name}"),
            "unmapped": {"sublocation_id": "-", "sublocation_type": "-"},
            "region": self.region,
            "accountid": self.account,
            "eventday": super::eventday(self.start),
        })
    }
}

/// Internet clients, AWS endpoints and scanners the network talks to.
const AWS_ENDPOINTS: [&str; 6] = [
    "52.216.8.21",
    "52.94.236.248",
    "3.5.12.100",
    "54.239.28.85",
    "52.119.160.12",
    "18.67.52.10",
];

pub fn client_ip(rng: &mut Rng) -> String {
    // Public-looking client addresses, avoiding 10/8 and the office range.
    let a = *rng.pick(&[
        24u64, 31, 46, 58, 61, 73, 81, 93, 104, 112, 121, 138, 151, 175, 188, 203, 211,
    ]);
    format!(
        "{a}.{}.{}.{}",
        rng.range(0, 256),
        rng.range(0, 256),
        rng.range(1, 255)
    )
}

/// Background flows.
pub fn background_flows(
    seed: u64,
    world: &World,
    clock: &Clock,
    n: u64,
    mut emit: impl FnMut(Flow),
) {
    let mut rng = Rng::stream(seed, "vpc_flow");
    let web = world.instances_with_role("web");
    let app = world.instances_with_role("app");
    let db = world.instances_with_role("db");
    let bastion = world.instances_with_role("bastion");
    let all: Vec<&Instance> = world.instances.iter().collect();
    let kinds = [(0u8, 45u32), (1, 20), (2, 12), (3, 10), (4, 8), (5, 5)];
    for _ in 0..n {
        let t = clock.random_time(&mut rng);
        let eph = rng.range(32768, 61000) as u16;
        let mut f = match *rng.weighted(&kinds) {
            0 => {
                // Internet clients to web servers.
                let i = *rng.pick(&web);
                let mut f = Flow::new(
                    i,
                    t,
                    true,
                    &client_ip(&mut rng),
                    eph,
                    *rng.pick(&[443u16, 443, 443, 80]),
                    6,
                );
                f.packets = rng.heavy(12.0);
                f.bytes = f.packets * rng.range(80, 1400);
                f
            }
            1 => {
                // Instances calling AWS endpoints and package mirrors.
                let i = *rng.pick(&all);
                let mut f = Flow::new(i, t, false, rng.pick::<&str>(&AWS_ENDPOINTS), 443, eph, 6);
                f.packets = rng.heavy(20.0);
                f.bytes = f.packets * rng.range(100, 1400);
                f
            }
            2 => {
                // web -> app, app -> db inside the VPC.
                if rng.chance(0.5) {
                    let (a, b) = (*rng.pick(&web), *rng.pick(&app));
                    let mut f = Flow::new(b, t, true, &a.ip, eph, 8080, 6);
                    f.packets = rng.heavy(30.0);
                    f.bytes = f.packets * rng.range(200, 1400);
                    f
                } else {
                    let (a, b) = (*rng.pick(&app), *rng.pick(&db));
                    let mut f = Flow::new(b, t, true, &a.ip, eph, *rng.pick(&[5432u16, 3306]), 6);
                    f.packets = rng.heavy(40.0);
                    f.bytes = f.packets * rng.range(200, 1400);
                    f
                }
            }
            3 => {
                // DNS to the VPC resolver.
                let i = *rng.pick(&all);
                let mut f = Flow::new(i, t, false, &resolver_ip(&i.ip), 53, eph, 17);
                f.packets = rng.range(1, 4);
                f.bytes = f.packets * rng.range(60, 200);
                f
            }
            4 => {
                // Internet background noise: probes of SSH, RDP, Telnet, SMB; rejected by security groups.
                let i = *rng.pick(&web);
                let port = *rng.pick(&[22u16, 3389, 23, 445, 1433, 5900, 8443, 6379]);
                let mut f = Flow::new(i, t, true, &client_ip(&mut rng), eph, port, 6);
                f.accepted = port == 22 && rng.chance(0.05);
                f.tcp_flags = 2;
                f
            }
            _ => {
                // Admins through the bastion.
                let b = *rng.pick(&bastion);
                let mut f = Flow::new(
                    b,
                    t,
                    true,
                    rng.pick::<&str>(&super::world::OFFICE_IPS),
                    eph,
                    22,
                    6,
                );
                f.packets = rng.heavy(200.0);
                f.bytes = f.packets * rng.range(60, 400);
                f
            }
        };
        if f.accepted && rng.chance(0.01) {
            f.accepted = false;
        }
        emit(f);
    }
}

/// The VPC resolver (base + 2) for an instance's network.
pub fn resolver_ip(ip: &str) -> String {
    let parts: Vec<&str> = ip.split('.').collect();
    format!(
        "{}.{}.0.2",
        parts.first().unwrap_or(&"10"),
        parts.get(1).unwrap_or(&"0")
    )
}

/// One Route 53 Resolver query.
#[derive(Debug, Clone)]
pub struct Dns {
    pub time: i64,
    pub instance: Instance,
    pub src_port: u16,
    pub hostname: String,
    pub qtype: &'static str,
    pub rcode: (i32, &'static str),
    pub answers: Vec<(&'static str, String)>,
    pub blocked: bool,
}

impl Dns {
    pub fn to_v2(&self) -> Value {
        let i = &self.instance;
        let answers: Vec<Value> = self
            .answers
            .iter()
            .map(|(t, r)| json!({"type": t, "rdata": r, "class": "IN"}))
            .collect();
        let (disposition, action, action_id) = if self.blocked {
            ("Blocked", "Denied", 2)
        } else {
            ("Allowed", "Allowed", 1)
        };
        json!({
            "metadata": {"product": {"version": "1.100000", "name": "Route 53", "feature": {"name": "Resolver Query Logs"}, "vendor_name": "AWS"},
                         "profiles": ["cloud", "security_control", "datetime"], "version": "1.1.0"},
            "cloud": {"account": {"uid": i.account}, "region": i.region, "provider": "AWS"},
            "src_endpoint": {"vpc_uid": i.vpc, "ip": i.ip, "port": self.src_port, "instance_uid": i.id},
            "time": self.time,
            "time_dt": fmt_ts(self.time),
            "query": {"hostname": self.hostname, "type": self.qtype, "class": "IN"},
            "answers": answers,
            "connection_info": {"protocol_name": "UDP", "direction": "Unknown", "direction_id": 0},
            "dst_endpoint": {"instance_uid": Value::Null, "interface_uid": Value::Null},
            "firewall_rule": {"uid": self.blocked.then_some("rslvr-frg-0b1d2c3e4f5a6b7c8")},
            "severity_id": 1,
            "severity": "Informational",
            "class_name": "DNS Activity",
            "class_uid": 4003,
            "category_name": "Network Activity",
            "category_uid": 4,
            "activity_id": 2,
            "activity_name": "Response",
            "type_uid": 400302,
            "type_name": "DNS Activity: Response",
            "rcode_id": self.rcode.0,
            "rcode": self.rcode.1,
            "disposition": disposition,
            "action": action,
            "action_id": action_id,
            "unmapped": {},
            "accountid": i.account,
            "region": i.region,
            "asl_version": "2.0",
            "observables": [{"name": "query.hostname", "value": self.hostname, "type": "Hostname", "type_id": 1}],
        })
    }
}

/// What instances look up, by weight. `{region}` is the instance's Region: SDKs resolve the regional
/// endpoint of a service (`s3.us-west-2.amazonaws.com.`), older clients and the CLI's S3 commands the global
/// ones (`s3.amazonaws.com.`, `sts.amazonaws.com.`), and virtual-hosted S3 requests the bucket's name.
const DOMAINS: [(&str, u32); 19] = [
    ("sts.amazonaws.com.", 12),
    ("sts.{region}.amazonaws.com.", 18),
    ("s3.amazonaws.com.", 10),
    ("s3.{region}.amazonaws.com.", 18),
    ("acme-prod-assets.s3.amazonaws.com.", 4),
    ("dynamodb.{region}.amazonaws.com.", 15),
    ("kms.{region}.amazonaws.com.", 12),
    ("ssm.{region}.amazonaws.com.", 10),
    ("ec2.{region}.amazonaws.com.", 6),
    ("logs.{region}.amazonaws.com.", 8),
    ("api.ecr.{region}.amazonaws.com.", 4),
    ("api.github.com.", 6),
    ("registry.npmjs.org.", 5),
    ("pypi.org.", 5),
    (
        "orders-db.cluster-c9akciq32.us-east-1.rds.amazonaws.com.",
        14,
    ),
    ("www.google.com.", 4),
    ("time.aws.com.", 6),
    ("updates.example-vendor.com.", 2),
    ("secretsmanager.{region}.amazonaws.com.", 3),
];

pub fn background_dns(seed: u64, world: &World, clock: &Clock, n: u64, mut emit: impl FnMut(Dns)) {
    let mut rng = Rng::stream(seed, "route53");
    let domains: Vec<(&str, u32)> = DOMAINS.to_vec();
    for _ in 0..n {
        let t = clock.random_time(&mut rng);
        let i = rng.pick(&world.instances).clone();
        let host = *rng.weighted(&domains);
        let nx = rng.chance(0.02);
        let hostname = if nx {
            format!("internal-svc-{}.corp.local.", rng.range(1, 40))
        } else {
            host.replace("{region}", i.region)
        };
        let qtype = if rng.chance(0.85) { "A" } else { "AAAA" };
        let answers = if nx {
            vec![]
        } else if qtype == "A" {
            vec![(
                "A",
                format!(
                    "{}.{}.{}.{}",
                    rng.range(3, 60),
                    rng.range(0, 256),
                    rng.range(0, 256),
                    rng.range(1, 255)
                ),
            )]
        } else {
            vec![("AAAA", format!("2600:1f18:{}::{}", rng.hex(4), rng.hex(4)))]
        };
        emit(Dns {
            time: t,
            instance: i,
            src_port: rng.range(1024, 65535) as u16,
            hostname,
            qtype,
            rcode: if nx { (3, "NXDomain") } else { (0, "NoError") },
            answers,
            blocked: false,
        });
    }
}
