"""The application load balancer: HTTPS on 443 (HTTP on 80 only redirects), ``/api/*`` to the API
target group, everything else (pages, Reflex's websocket and uploads) to the frontend. With a
PACS, an internal network load balancer passes DICOM (TCP 11112) to the DICOM node; its security
groups (config pacs.nlb_security_groups) admit only the PACS's addresses."""

from __future__ import annotations

from deploy.config import Config
from deploy.containers import API_PORT, FRONTEND_PORT, NODE_PORT
from deploy.ecs.infra import tags
from deploy.plan import Step

API_PATHS = ["/api/*"]
API_RULE_PRIORITY = 10
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
#: The portal keeps each user's session in one frontend process's memory (rxconfig.py), so a
#: browser must keep reaching the same task: as long as an API session lasts (12 h).
STICKINESS_S = 12 * 3600


def _target_group(cfg: Config, key: str, port: int, health_path: str) -> Step:
    return Step(
        f"tg-{key}",
        "elbv2",
        "create_target_group",
        {
            "Name": f"{cfg.name}-{key}",
            "Protocol": "HTTP",
            "ProtocolVersion": "HTTP1",
            "Port": port,
            "VpcId": cfg.network.vpc_id,
            "TargetType": "ip",
            "HealthCheckProtocol": "HTTP",
            "HealthCheckPath": health_path,
            "HealthCheckIntervalSeconds": 15,
            "HealthCheckTimeoutSeconds": 5,
            "HealthyThresholdCount": 2,
            "UnhealthyThresholdCount": 3,
            "Matcher": {"HttpCode": "200"},
            "Tags": tags(cfg),
        },
        outputs={"arn": "TargetGroups.0.TargetGroupArn"},
    )


def dicom_steps(cfg: Config) -> list[Step]:
    """The node's way in: an internal NLB in the private subnets (the PACS reaches the VPC over
    the hospital's VPN or Direct Connect), TCP passed through to the node's tasks. The TCP
    health check opens a connection and closes it, which the node does not count against its
    associations (backend.dicom_node.admission)."""
    if cfg.pacs is None:
        return []
    return [
        Step(
            "nlb",
            "elbv2",
            "create_load_balancer",
            {
                "Name": f"{cfg.name}-dicom",
                "Subnets": list(cfg.network.private_subnets),
                "SecurityGroups": list(cfg.pacs.nlb_security_groups),
                "Scheme": "internal",
                "Type": "network",
                "IpAddressType": "ipv4",
                "Tags": tags(cfg),
            },
            outputs={"arn": "LoadBalancers.0.LoadBalancerArn", "dns": "LoadBalancers.0.DNSName"},
            note=f"register the node at the PACS: AE title {cfg.pacs.node_ae_title}, the 'dns' "
            f"output, port {NODE_PORT}",
        ),
        Step(
            "tg-dicom",
            "elbv2",
            "create_target_group",
            {
                "Name": f"{cfg.name}-dicom",
                "Protocol": "TCP",
                "Port": NODE_PORT,
                "VpcId": cfg.network.vpc_id,
                "TargetType": "ip",
                "HealthCheckProtocol": "TCP",
                "HealthCheckIntervalSeconds": 30,
                "HealthyThresholdCount": 2,
                "UnhealthyThresholdCount": 2,
                "Tags": tags(cfg),
            },
            outputs={"arn": "TargetGroups.0.TargetGroupArn"},
        ),
        Step(
            "listener-dicom",
            "elbv2",
            "create_listener",
            {
                "LoadBalancerArn": "{{nlb.arn}}",
                "Protocol": "TCP",
                "Port": NODE_PORT,
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": "{{tg-dicom.arn}}"}],
                "Tags": tags(cfg),
            },
            outputs={"arn": "Listeners.0.ListenerArn"},
        ),
    ]


def steps(cfg: Config) -> list[Step]:
    return [
        Step(
            "alb",
            "elbv2",
            "create_load_balancer",
            {
                "Name": f"{cfg.name}-alb",
                "Subnets": list(cfg.network.public_subnets),
                "SecurityGroups": list(cfg.network.alb_security_groups),
                "Scheme": "internet-facing",
                "Type": "application",
                "IpAddressType": "ipv4",
                "Tags": tags(cfg),
            },
            outputs={"arn": "LoadBalancers.0.LoadBalancerArn", "dns": "LoadBalancers.0.DNSName"},
            note="point the public_url's DNS name at the 'dns' output",
        ),
        Step(
            "alb-attributes",
            "elbv2",
            "modify_load_balancer_attributes",
            {
                "LoadBalancerArn": "{{alb.arn}}",
                "Attributes": [
                    {"Key": "deletion_protection.enabled", "Value": "true"},
                    {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
                    # Reflex keeps a websocket open; 64 MiB uploads on slow hospital links.
                    {"Key": "idle_timeout.timeout_seconds", "Value": "300"},
                ],
            },
        ),
        # Readiness (database, Redis, S3) decides whether the ALB sends a task requests;
        # liveness (/api/health) is the container health check that restarts it.
        _target_group(cfg, "api", API_PORT, "/api/ready"),
        _target_group(cfg, "frontend", FRONTEND_PORT, "/ping"),
        Step(
            "tg-api-attributes",
            "elbv2",
            "modify_target_group_attributes",
            {
                "TargetGroupArn": "{{tg-api.arn}}",
                "Attributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}],
            },
        ),
        Step(
            "tg-frontend-attributes",
            "elbv2",
            "modify_target_group_attributes",
            {
                "TargetGroupArn": "{{tg-frontend.arn}}",
                "Attributes": [
                    {"Key": "stickiness.enabled", "Value": "true"},
                    {"Key": "stickiness.type", "Value": "lb_cookie"},
                    {"Key": "stickiness.lb_cookie.duration_seconds", "Value": str(STICKINESS_S)},
                    {"Key": "deregistration_delay.timeout_seconds", "Value": "30"},
                ],
            },
        ),
        Step(
            "listener-https",
            "elbv2",
            "create_listener",
            {
                "LoadBalancerArn": "{{alb.arn}}",
                "Protocol": "HTTPS",
                "Port": 443,
                "SslPolicy": TLS_POLICY,
                "Certificates": [{"CertificateArn": cfg.network.certificate_arn}],
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": "{{tg-frontend.arn}}"}],
                "Tags": tags(cfg),
            },
            outputs={"arn": "Listeners.0.ListenerArn"},
        ),
        Step(
            "listener-http",
            "elbv2",
            "create_listener",
            {
                "LoadBalancerArn": "{{alb.arn}}",
                "Protocol": "HTTP",
                "Port": 80,
                "DefaultActions": [
                    {
                        "Type": "redirect",
                        "RedirectConfig": {
                            "Protocol": "HTTPS",
                            "Port": "443",
                            "StatusCode": "HTTP_301",
                        },
                    }
                ],
                "Tags": tags(cfg),
            },
            outputs={"arn": "Listeners.0.ListenerArn"},
        ),
        Step(
            "rule-api",
            "elbv2",
            "create_rule",
            {
                "ListenerArn": "{{listener-https.arn}}",
                "Priority": API_RULE_PRIORITY,
                "Conditions": [
                    {"Field": "path-pattern", "PathPatternConfig": {"Values": API_PATHS}}
                ],
                "Actions": [{"Type": "forward", "TargetGroupArn": "{{tg-api.arn}}"}],
                "Tags": tags(cfg),
            },
            outputs={"arn": "Rules.0.RuleArn"},
        ),
        *dicom_steps(cfg),
    ]
