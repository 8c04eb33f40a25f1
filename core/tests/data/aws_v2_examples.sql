-- Example queries for Amazon Security Lake source version 2 (OCSF 1.1.0). The CloudTrail, VPC Flow and Security
-- Hub queries are the Security Lake User Guide's published examples (cloudtrail-, vpc-, security-hub-query-
-- examples-sourceversion2), kept as published, including their quirks ('192.0.2.1.' with a trailing dot, the
-- missing space in ='198'AND). The Route 53, EKS and WAF queries follow the same pattern over the columns of the
-- reference schemas in ../shared/reference/security-lake/, as do the ones after "Further examples" at the end: the
-- questions the guide's source-version-2 pages ask of WAF (Post requests from one IP, MANAGED_RULE_GROUP, REGEX and
-- rate-based matches, denied Get requests for .aws/credentials and their countries), EKS (leader election on
-- coordination.k8s.io, the controller manager's and scheduler's requests, service-account watches), Route 53
-- (lookups of AWS service endpoints), Security Hub (GuardDuty finding types) and CloudTrail (error codes by service).
-- Each block: a "-- name:" line, then "-- expect: rows" (the demo lake must return rows) or "-- expect: runs"
-- (the filter names a documentation placeholder such as 192.0.2.1 that the demo lake does not contain), then the
-- query. Every query runs unchanged through the guard and the local engine.

-- name: cloudtrail unauthorized attempts in the last 7 days
-- expect: rows
SELECT
    time_dt,
    api.service.name,
    api.operation,
    api.response.error,
    api.response.message,
    api.response.data,
    cloud.region,
    actor.user.uid,
    src_endpoint.ip,
    http_request.user_agent
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND api.response.error in (
    'Client.UnauthorizedOperation',
    'Client.InvalidPermission.NotFound',
    'Client.OperationNotPermitted',
    'AccessDenied')
ORDER BY time desc
LIMIT 25

-- name: cloudtrail activity from source IP 192.0.2.1 in the last 7 days
-- expect: runs
SELECT
    api.request.uid,
    time_dt,
    api.service.name,
    api.operation,
    cloud.region,
    actor.user.uid,
    src_endpoint.ip,
    http_request.user_agent
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND src_endpoint.ip = '192.0.2.1.'
ORDER BY time desc
LIMIT 25

-- name: cloudtrail all IAM activity in the last 7 days
-- expect: rows
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND api.service.name = 'iam.amazonaws.com'
ORDER BY time desc
LIMIT 25

-- name: cloudtrail credential AIDACKCEVSQ6C2EXAMPLE used in the last 7 days
-- expect: runs
SELECT
    actor.user.uid,
    actor.user.uid_alt,
    actor.user.credential_uid,
    actor.user.name,
    actor.user.type,
    time_dt,
    api.service.name,
    api.operation,
    cloud.region
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND actor.user.credential_uid = 'AIDACKCEVSQ6C2EXAMPLE'
ORDER BY time desc
LIMIT 25

-- name: cloudtrail failed records in the last 7 days
-- expect: rows
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND status = 'Failure'
ORDER BY time desc
LIMIT 25

-- name: vpc flow traffic in specific regions in the last 7 days
-- expect: rows
SELECT * FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND region in ('us-east-1','us-east-2','us-west-2')
LIMIT 25

-- name: vpc flow activity from 192.0.2.1 port 22 in the last 7 days
-- expect: runs
SELECT * FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND src_endpoint.ip = '192.0.2.1'
AND src_endpoint.port = 22
LIMIT 25

-- name: vpc flow count of distinct destination IPs in the last 7 days
-- expect: rows
SELECT COUNT(DISTINCT dst_endpoint.ip) AS "Total"
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
LIMIT 25

-- name: vpc flow traffic originating from 198.51.100.0/24 in the last 7 days
-- expect: runs
SELECT * FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND split_part(src_endpoint.ip,'.',1)='198'AND split_part(src_endpoint.ip,'.',2)='51'
LIMIT 25

-- name: vpc flow all HTTPS traffic in the last 7 days
-- expect: rows
SELECT dst_endpoint.ip as dst, src_endpoint.ip as src, traffic.packets
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND dst_endpoint.port = 443
GROUP BY
    dst_endpoint.ip,
    traffic.packets,
    src_endpoint.ip
ORDER BY traffic.packets DESC
LIMIT 25

-- name: vpc flow order by packet count for connections to port 443
-- expect: rows
SELECT traffic.packets,
    dst_endpoint.ip
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND dst_endpoint.port = 443
GROUP BY
    traffic.packets,
    dst_endpoint.ip
ORDER BY traffic.packets DESC
LIMIT 25

-- name: vpc flow inbound rejected traffic in the last 7 days
-- expect: rows
SELECT * FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND action = 'Denied'
AND connection_info.direction = 'Inbound'
LIMIT 25

-- name: route53 queries from one instance in the last 7 days
-- expect: runs
SELECT
    time_dt,
    src_endpoint.instance_uid,
    src_endpoint.ip,
    src_endpoint.port,
    query.hostname,
    rcode,
    answers
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_route53_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND src_endpoint.instance_uid = 'i-1234567890abcdef0'
ORDER BY time DESC
LIMIT 25

-- name: route53 queries that resulted in NXDOMAIN in the last 7 days
-- expect: rows
SELECT
    src_endpoint.instance_uid,
    src_endpoint.ip,
    src_endpoint.port,
    query.hostname,
    rcode
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_route53_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND rcode = 'NXDomain'
LIMIT 25

-- name: route53 queries for one hostname in the last 7 days
-- expect: runs
SELECT
    time_dt,
    src_endpoint.instance_uid,
    src_endpoint.ip,
    src_endpoint.port,
    query.hostname,
    rcode,
    answers
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_route53_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND query.hostname = 'example.com.'
ORDER BY time DESC
LIMIT 25

-- name: security hub new findings with severity >= MEDIUM in the last 7 days
-- expect: rows
SELECT
    time_dt,
    finding_info,
    severity_id,
    status
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_sh_findings_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND severity_id >= 3
AND status = 'New'
ORDER BY time DESC
LIMIT 25

-- name: security hub duplicate findings in the last 7 days
-- expect: rows
SELECT
    finding_info.uid,
    MAX(time_dt) AS time,
    ARBITRARY(region) AS region,
    ARBITRARY(accountid) AS accountid,
    ARBITRARY(finding_info) AS finding,
    ARBITRARY(vulnerabilities) AS vulnerabilities
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_sh_findings_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
GROUP BY finding_info.uid
LIMIT 25

-- name: security hub all non-informational findings in the last 7 days
-- expect: rows
SELECT
    time_dt,
    finding_info.title,
    finding_info,
    severity
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_sh_findings_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND severity != 'Informational'
LIMIT 25

-- name: security hub findings where the resource is an S3 bucket
-- expect: rows
SELECT
    time_dt,
    severity,
    finding_info,
    resources
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_sh_findings_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND any_match(resources, element -> element.type = 'AwsS3Bucket')
LIMIT 25

-- name: security hub findings with a CVSS score above 1.0
-- expect: rows
SELECT
    DISTINCT finding_info.uid,
    time_dt,
    metadata,
    vulnerabilities
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_sh_findings_2_0",
    UNNEST(vulnerabilities) as t(vulnerability),
    UNNEST(vulnerability.cve.cvss) as t(cvs)
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND cvs.base_score > 1.0
AND vulnerabilities is NOT NULL
LIMIT 25

-- name: security hub count of findings by product
-- expect: rows
SELECT
    metadata.product.feature.name,
    count(*)
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_sh_findings_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
GROUP BY metadata.product.feature.name
ORDER BY metadata.product.feature.name
LIMIT 25

-- name: eks anonymous requests in the last 7 days
-- expect: rows
SELECT
    time_dt,
    api.operation,
    http_request.url.path,
    actor.user.name,
    src_endpoint.ip,
    http_request.user_agent
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_eks_audit_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND actor.user.name = 'system:anonymous'
ORDER BY time DESC
LIMIT 25

-- name: eks requests against the kube-system namespace in the last 7 days
-- expect: rows
SELECT
    time_dt,
    api.operation,
    actor.user.name,
    src_endpoint.ip,
    resources
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_eks_audit_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND any_match(resources, r -> r.namespace = 'kube-system')
ORDER BY time DESC
LIMIT 25

-- name: waf blocked requests in the last 7 days
-- expect: rows
SELECT
    time_dt,
    activity_name,
    src_endpoint.ip,
    http_request.url.path,
    http_request.user_agent,
    firewall_rule,
    disposition
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_waf_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND disposition = 'Blocked'
ORDER BY time DESC
LIMIT 25

-- name: waf top client IPs in the last 7 days
-- expect: rows
SELECT
    src_endpoint.ip,
    src_endpoint.location.country,
    count(*) AS requests
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_waf_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
GROUP BY src_endpoint.ip, src_endpoint.location.country
ORDER BY requests DESC
LIMIT 25

-- Further examples

-- name: waf post requests from one source IP in the last 7 days
-- expect: rows
SELECT
    time_dt,
    activity_name,
    src_endpoint.ip,
    http_request.url.path,
    http_request.url.hostname,
    http_request.http_method,
    http_request.http_headers
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_waf_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND src_endpoint.ip = '5.188.206.14'
AND activity_name = 'Post'
LIMIT 25

-- name: waf requests that matched a MANAGED_RULE_GROUP rule in the last 7 days
-- expect: rows
SELECT
    time_dt,
    activity_name,
    src_endpoint.ip,
    http_request.url.path,
    http_request.url.hostname,
    http_request.http_method,
    firewall_rule.uid,
    firewall_rule.type,
    firewall_rule.condition,
    firewall_rule.match_location,
    firewall_rule.match_details,
    firewall_rule.rate_limit
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_waf_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND firewall_rule.type = 'MANAGED_RULE_GROUP'
LIMIT 25

-- name: waf requests that matched a REGEX rule in the last 7 days
-- expect: rows
SELECT
    time_dt,
    activity_name,
    src_endpoint.ip,
    http_request.url.path,
    http_request.url.hostname,
    http_request.http_method,
    firewall_rule.uid,
    firewall_rule.type,
    firewall_rule.condition,
    firewall_rule.match_location,
    firewall_rule.match_details,
    firewall_rule.rate_limit
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_waf_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND firewall_rule.type = 'REGEX'
LIMIT 25

-- name: waf requests blocked by a rate-based rule in the last 7 days
-- expect: rows
SELECT
    time_dt,
    src_endpoint.ip,
    http_request.url.path,
    firewall_rule.uid,
    firewall_rule.rate_limit
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_waf_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND firewall_rule.type = 'RATE_BASED'
AND action = 'Denied'
LIMIT 25

-- name: waf denied Get requests for AWS credentials in the last 7 days
-- expect: rows
SELECT
    time_dt,
    activity_name,
    action,
    src_endpoint.ip,
    http_request.url.path,
    http_request.url.hostname,
    http_request.http_method,
    firewall_rule.uid,
    firewall_rule.type
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_waf_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND http_request.url.path LIKE '%.aws/credentials%'
AND action = 'Denied'
AND activity_name = 'Get'
LIMIT 25

-- name: waf requests for AWS credentials by country in the last 7 days
-- expect: rows
SELECT
    src_endpoint.location.country,
    count(*) AS requests
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_waf_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND http_request.url.path LIKE '%.aws/credentials%'
GROUP BY src_endpoint.location.country
ORDER BY requests DESC
LIMIT 25

-- name: eks leader election lease renewals in the last 7 days
-- expect: rows
SELECT
    time_dt,
    api.operation,
    actor.user.name,
    http_request.url.path,
    api.response.code
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_eks_audit_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND api.group.name = 'coordination.k8s.io'
AND api.operation = 'update'
AND any_match(resources, r -> r.type = 'leases' AND r.namespace = 'kube-system')
ORDER BY time DESC
LIMIT 25

-- name: eks requests by the controller manager and the scheduler in the last 7 days
-- expect: rows
SELECT
    actor.user.name,
    api.operation,
    count(*) AS requests
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_eks_audit_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND actor.user.name IN ('system:kube-controller-manager', 'system:kube-scheduler')
GROUP BY actor.user.name, api.operation
ORDER BY requests DESC
LIMIT 25

-- name: eks watch requests by service accounts in the last 7 days
-- expect: rows
SELECT
    time_dt,
    actor.user.name,
    http_request.url.path,
    http_request.user_agent
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_eks_audit_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND actor.user.name LIKE 'system:serviceaccount:%'
AND api.operation = 'watch'
ORDER BY time DESC
LIMIT 25

-- name: eks failed requests by response code in the last 7 days
-- expect: rows
SELECT
    api.response.code,
    api.response.error,
    count(*) AS requests
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_eks_audit_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND api.response.code >= 400
GROUP BY api.response.code, api.response.error
LIMIT 25

-- name: route53 lookups of S3 endpoints in the last 7 days
-- expect: rows
SELECT
    time_dt,
    src_endpoint.instance_uid,
    src_endpoint.ip,
    query.hostname,
    rcode,
    answers
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_route53_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND (query.hostname = 's3.amazonaws.com.' OR query.hostname LIKE 's3.%.amazonaws.com.')
ORDER BY time DESC
LIMIT 25

-- name: route53 most queried AWS service endpoints in the last 7 days
-- expect: rows
SELECT
    query.hostname,
    count(*) AS queries
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_route53_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND query.hostname LIKE '%.amazonaws.com.'
GROUP BY query.hostname
ORDER BY queries DESC
LIMIT 25

-- name: security hub GuardDuty findings by type in the last 7 days
-- expect: rows
SELECT
    t AS finding_type,
    count(*) AS findings
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_sh_findings_2_0"
CROSS JOIN UNNEST(finding_info.types) AS u(t)
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND metadata.product.name = 'GuardDuty'
GROUP BY t
ORDER BY findings DESC
LIMIT 25

-- name: security hub InstanceCredentialExfiltration findings in the last 7 days
-- expect: rows
SELECT
    time_dt,
    finding_info.title,
    finding_info.types,
    severity,
    resources,
    evidences
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_sh_findings_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND any_match(finding_info.types, t -> t LIKE '%InstanceCredentialExfiltration%')
LIMIT 25

-- name: cloudtrail error codes by service in the last 7 days
-- expect: rows
SELECT
    api.service.name,
    api.response.error,
    count(*) AS failures
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND api.response.error IS NOT NULL
GROUP BY api.service.name, api.response.error
ORDER BY failures DESC
LIMIT 25
