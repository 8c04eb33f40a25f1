//! The demo organisation: accounts, regions, people, roles, services and a 10.x network of instances whose
//! addresses stay the same across CloudTrail, VPC Flow and DNS records.

use super::rng::Rng;

pub const ACCOUNTS: [(&str, &str); 3] = [
    ("111122223333", "prod"),
    ("444455556666", "dev"),
    ("551508107696", "security"),
];

/// Regions with their share of activity; `us-east-1` is the rollup region.
pub const REGIONS: [(&str, u32); 4] = [
    ("us-east-1", 50),
    ("us-west-2", 20),
    ("ap-northeast-2", 20),
    ("eu-west-1", 10),
];

pub const OFFICE_IP: &str = "54.216.116.106";
pub const OFFICE_IPS: [&str; 3] = ["54.216.116.106", "54.216.116.107", "3.38.117.21"];
pub const VPN_IP: &str = "13.125.44.201";

pub const BROWSER_UAS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
];
pub const CLI_UAS: [&str; 4] = [
    "aws-cli/2.22.4 md/awscrt#0.22.0 ua/2.0 os/macos#24.1.0 md/arch#arm64 lang/python#3.12.7 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/prompt#off md/command#ec2.describe-instances",
    "aws-cli/2.18.0 Python/3.12.6 Linux/6.1.112-124.190.amzn2023.x86_64 exe/x86_64.amzn.2023",
    "Boto3/1.35.71 md/Botocore#1.35.71 ua/2.0 os/linux#6.1.115 md/arch#x86_64 lang/python#3.11.10 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.71",
    "aws-sdk-go-v2/1.32.5 ua/2.1 os/linux lang/go#1.23.3 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.193.0",
];
pub const TERRAFORM_UA: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.78.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.5 ua/2.1 os/linux lang/go#1.23.3 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.193.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    IamUser,
    AssumedRole,
    Root,
    AwsService,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::IamUser => "IAMUser",
            Kind::AssumedRole => "AssumedRole",
            Kind::Root => "Root",
            Kind::AwsService => "AWSService",
        }
    }
}

/// Someone or something that calls AWS APIs.
#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: Kind,
    pub name: String,
    pub account: &'static str,
    pub arn: String,
    pub principal_id: String,
    pub access_key: Option<String>,
    /// Signs in to the console (IAM users and roles assumed through SSO).
    pub console: bool,
    pub mfa: bool,
    pub ips: Vec<String>,
    pub user_agents: Vec<&'static str>,
    /// For roles: the role ARN (session issuer). For services: the service principal.
    pub issuer: Option<String>,
    pub invoked_by: Option<String>,
    /// Relative activity.
    pub weight: u32,
}

#[derive(Debug, Clone)]
pub struct Instance {
    pub id: String,
    pub eni: String,
    pub ip: String,
    pub vpc: String,
    pub subnet: String,
    pub account: &'static str,
    pub region: &'static str,
    pub zone: String,
    pub role: &'static str,
}

#[derive(Debug, Clone)]
pub struct World {
    pub principals: Vec<Principal>,
    pub instances: Vec<Instance>,
    pub kms_keys: Vec<(String, &'static str, &'static str)>,
    pub buckets: Vec<&'static str>,
    pub functions: Vec<(String, &'static str, &'static str)>,
}

fn user(
    name: &str,
    account: &'static str,
    rng: &mut Rng,
    console: bool,
    mfa: bool,
    weight: u32,
) -> Principal {
    Principal {
        kind: Kind::IamUser,
        name: name.to_string(),
        account,
        arn: format!("arn:aws:iam::{account}:user/{name}"),
        principal_id: format!("AIDA{}", rng.upper_alnum(17)),
        access_key: Some(format!("AKIA{}", rng.upper_alnum(16))),
        console,
        mfa,
        ips: OFFICE_IPS
            .iter()
            .map(|s| s.to_string())
            .chain([VPN_IP.to_string()])
            .collect(),
        user_agents: if console {
            BROWSER_UAS.to_vec()
        } else {
            CLI_UAS.to_vec()
        },
        issuer: None,
        invoked_by: None,
        weight,
    }
}

fn role(
    role: &str,
    session: &str,
    account: &'static str,
    rng: &mut Rng,
    weight: u32,
    ips: Vec<String>,
    uas: Vec<&'static str>,
) -> Principal {
    let role_id = format!("AROA{}", rng.upper_alnum(17));
    Principal {
        kind: Kind::AssumedRole,
        name: role.to_string(),
        account,
        arn: format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
        principal_id: format!("{role_id}:{session}"),
        access_key: Some(format!("ASIA{}", rng.upper_alnum(16))),
        console: false,
        mfa: false,
        ips,
        user_agents: uas,
        issuer: Some(format!("arn:aws:iam::{account}:role/{role}")),
        invoked_by: None,
        weight,
    }
}

fn service(svc: &str, account: &'static str, weight: u32) -> Principal {
    Principal {
        kind: Kind::AwsService,
        name: svc.to_string(),
        account,
        arn: String::new(),
        principal_id: String::new(),
        access_key: None,
        console: false,
        mfa: false,
        ips: vec![svc.to_string()],
        user_agents: vec![if svc.starts_with("kms") {
            "kms.amazonaws.com"
        } else {
            "AWS Internal"
        }],
        issuer: None,
        invoked_by: Some(svc.to_string()),
        weight,
    }
}

impl World {
    pub fn new(seed: u64) -> World {
        let mut rng = Rng::stream(seed, "world");
        let (prod, dev, sec) = (ACCOUNTS[0].0, ACCOUNTS[1].0, ACCOUNTS[2].0);
        let mut instances = Vec::new();
        let roles = ["web", "web", "app", "app", "app", "db", "bastion", "batch"];
        for (ai, (account, _)) in ACCOUNTS.iter().enumerate() {
            for (ri, (region, _)) in REGIONS.iter().enumerate() {
                let n = if ai == 0 { 8 } else { 3 };
                let vpc = format!("vpc-0{}", rng.hex(16));
                for k in 0..n {
                    let role = roles[k % roles.len()];
                    let subnet_no = if role == "web" || role == "bastion" {
                        1
                    } else {
                        10 + (k as u64 % 3)
                    };
                    instances.push(Instance {
                        id: format!("i-0{}", rng.hex(16)),
                        eni: format!("eni-0{}", rng.hex(16)),
                        ip: format!(
                            "10.{}.{}.{}",
                            ai * 16 + ri,
                            subnet_no,
                            10 + k * 7 + rng.range(0, 5) as usize
                        ),
                        vpc: vpc.clone(),
                        subnet: format!("subnet-0{}", rng.hex(16)),
                        account,
                        region,
                        zone: format!("{region}{}", ["a", "b", "c"][k % 3]),
                        role,
                    });
                }
            }
        }
        let instance_ips: Vec<String> = instances
            .iter()
            .filter(|i| i.account == prod)
            .map(|i| i.ip.clone())
            .collect();
        let principals = vec![
            user("alice", prod, &mut rng, true, true, 30),
            user("bob", prod, &mut rng, true, true, 25),
            user("carol", prod, &mut rng, true, true, 20),
            user("dave", dev, &mut rng, true, false, 15),
            user("erin", dev, &mut rng, true, true, 15),
            user("frank", prod, &mut rng, true, false, 8),
            user("DemoUser", sec, &mut rng, true, false, 10),
            user("analyst-jane", sec, &mut rng, true, true, 12),
            user("ci-deployer", prod, &mut rng, false, false, 40),
            user("backup-svc", prod, &mut rng, false, false, 10),
            role(
                "AdminRole",
                "alice",
                prod,
                &mut rng,
                20,
                OFFICE_IPS.iter().map(|s| s.to_string()).collect(),
                BROWSER_UAS.to_vec(),
            ),
            role(
                "ReadOnlyRole",
                "bob",
                prod,
                &mut rng,
                15,
                OFFICE_IPS.iter().map(|s| s.to_string()).collect(),
                BROWSER_UAS.to_vec(),
            ),
            role(
                "EC2InstanceRole",
                "i-0a1b2c3d4e5f60718",
                prod,
                &mut rng,
                60,
                instance_ips.clone(),
                vec![CLI_UAS[2], CLI_UAS[3]],
            ),
            role(
                "LambdaExecRole",
                "order-processor",
                prod,
                &mut rng,
                50,
                vec!["lambda.amazonaws.com".into()],
                vec![CLI_UAS[2]],
            ),
            role(
                "TerraformRole",
                "terraform",
                dev,
                &mut rng,
                15,
                vec![VPN_IP.into()],
                vec![TERRAFORM_UA],
            ),
            role(
                "SecurityAuditRole",
                "analyst-jane",
                sec,
                &mut rng,
                12,
                vec![OFFICE_IP.into()],
                vec![CLI_UAS[0]],
            ),
            service("ec2.amazonaws.com", prod, 10),
            service("autoscaling.amazonaws.com", prod, 8),
            service("config.amazonaws.com", prod, 15),
            service("cloudformation.amazonaws.com", dev, 5),
            service("kms.amazonaws.com", prod, 3),
        ];
        let kms_keys = vec![
            (
                format!("arn:aws:kms:us-east-1:{prod}:key/{}", rng.uuid()),
                prod,
                "us-east-1",
            ),
            (
                format!("arn:aws:kms:us-east-1:{prod}:key/{}", rng.uuid()),
                prod,
                "us-east-1",
            ),
            (
                format!("arn:aws:kms:ap-northeast-2:{prod}:key/{}", rng.uuid()),
                prod,
                "ap-northeast-2",
            ),
            (
                format!("arn:aws:kms:us-west-2:{dev}:key/{}", rng.uuid()),
                dev,
                "us-west-2",
            ),
        ];
        let functions = vec![
            (
                format!("arn:aws:lambda:us-east-1:{prod}:function:order-processor"),
                prod,
                "us-east-1",
            ),
            (
                format!("arn:aws:lambda:us-east-1:{prod}:function:image-resizer"),
                prod,
                "us-east-1",
            ),
            (
                format!("arn:aws:lambda:ap-northeast-2:{prod}:function:report-builder"),
                prod,
                "ap-northeast-2",
            ),
            (
                format!("arn:aws:lambda:us-west-2:{dev}:function:slack-notifier"),
                dev,
                "us-west-2",
            ),
        ];
        World {
            principals,
            instances,
            kms_keys,
            buckets: vec![
                "acme-prod-assets",
                "acme-finance-reports",
                "acme-logs-archive",
                "acme-dev-scratch",
            ],
            functions,
        }
    }

    pub fn principal(&self, name: &str) -> &Principal {
        self.principals
            .iter()
            .find(|p| p.name == name)
            .unwrap_or(&self.principals[0])
    }

    pub fn instances_with_role(&self, role: &str) -> Vec<&Instance> {
        self.instances.iter().filter(|i| i.role == role).collect()
    }
}
