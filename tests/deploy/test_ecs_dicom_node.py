"""The ECS plan's DICOM node (issue 16): reached through an internal NLB that admits only the
PACS, the same PACS settings and identity key as the senders, and no node without a PACS."""

from __future__ import annotations

from typing import Any

from deploy import config as config_mod
from deploy.ecs import build_plan
from deploy.plan import Step, validate
from tests.deploy.deploy_testkit import step, steps_of, task_definitions


def test_the_dicom_node_is_reached_through_an_internal_nlb_admitting_only_the_pacs(
    create_plan: list[Step], cfg: config_mod.Config
) -> None:
    assert cfg.pacs is not None
    nlb = step(create_plan, "nlb").params
    assert (nlb["Type"], nlb["Scheme"]) == ("network", "internal")
    assert nlb["Subnets"] == list(cfg.network.private_subnets)
    assert nlb["SecurityGroups"] == list(cfg.pacs.nlb_security_groups)
    tg = step(create_plan, "tg-dicom").params
    assert (tg["Protocol"], tg["Port"], tg["HealthCheckProtocol"]) == ("TCP", 11112, "TCP")
    listener = step(create_plan, "listener-dicom").params
    assert (listener["Protocol"], listener["Port"]) == ("TCP", 11112)
    assert listener["LoadBalancerArn"] == "{{nlb.arn}}"
    assert listener["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": "{{tg-dicom.arn}}"}]
    service = step(create_plan, "service-dicom-node").params
    assert service["loadBalancers"] == [
        {
            "targetGroupArn": "{{tg-dicom.arn}}",
            "containerName": "dicom-node",
            "containerPort": 11112,
        }
    ]
    ids = [s.id for s in create_plan]
    assert ids.index("listener-dicom") < ids.index("service-dicom-node")


def test_the_node_and_the_senders_share_the_pacs_settings_and_the_identity_key(
    create_plan: list[Step], cfg: config_mod.Config
) -> None:
    assert cfg.pacs is not None
    tds = task_definitions(create_plan)
    node = tds["dicom-node"]["containerDefinitions"][0]
    assert node["command"] == ["python", "-m", "backend.dicom_node"]
    assert node["image"] == cfg.image("api")
    assert node["portMappings"] == [{"name": "dicom", "containerPort": 11112, "protocol": "tcp"}]
    env = {e["name"]: e["value"] for e in node["environment"]}
    assert env["MEDSEGTEXT_DICOM_HOST"] == "0.0.0.0"
    assert env["MEDSEGTEXT_DICOM_CALLING_AETS"] == ",".join(cfg.pacs.calling_aets)
    assert env["MEDSEGTEXT_DICOM_SERVICE_ACCOUNT"] == cfg.pacs.service_account
    for name in ("api", "worker", "worker-gpu", "dicom-node"):
        c = tds[name]["containerDefinitions"][0]
        env = {e["name"]: e["value"] for e in c["environment"]}
        assert (
            env["MEDSEGTEXT_PACS_AE_TITLE"],
            env["MEDSEGTEXT_PACS_HOST"],
            env["MEDSEGTEXT_PACS_PORT"],
            env["MEDSEGTEXT_DICOM_AE_TITLE"],
        ) == (cfg.pacs.ae_title, cfg.pacs.host, str(cfg.pacs.port), cfg.pacs.node_ae_title), name
        (key,) = [s for s in c["secrets"] if s["name"] == "MEDSEGTEXT_IDENTITY_KEY"]
        assert key["valueFrom"] == cfg.secrets["identity_key"], name
    # the migration and the metrics publisher never see the identity key
    for name in ("migrate", "queue-metrics"):
        names = {s["name"] for s in tds[name]["containerDefinitions"][0]["secrets"]}
        assert "MEDSEGTEXT_IDENTITY_KEY" not in names, name


def test_without_a_pacs_there_is_no_node_and_nothing_to_send(example_data: dict[str, Any]) -> None:
    data = {k: v for k, v in example_data.items() if k != "pacs"}
    cfg = config_mod.parse(data)
    plan = build_plan(cfg)
    assert validate(plan) == []
    assert "dicom-node" not in task_definitions(plan)
    assert not [
        s for s in plan if s.id in ("nlb", "tg-dicom", "listener-dicom", "service-dicom-node")
    ]
    updates = {
        s.params["service"] for s in steps_of(build_plan(cfg, "update"), "ecs", "update_service")
    }
    assert "dicom-node" not in updates
    env = {
        e["name"] for e in task_definitions(plan)["api"]["containerDefinitions"][0]["environment"]
    }
    assert "MEDSEGTEXT_PACS_AE_TITLE" not in env
