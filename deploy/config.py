"""The one deployment config file (YAML or JSON) that the ECS and SageMaker generators read.

Every field is checked on load; a bad file is refused with ``ConfigError`` naming the file, the
field and the reason. See deploy/ecs/config.example.yaml for the annotated example.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

# Fargate task sizes: CPU units -> the memory sizes (MiB) Fargate accepts with them.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
BACKENDS = ("local", "sagemaker")
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,18}[a-z0-9]$")
ACCOUNT_RE = re.compile(r"^\d{12}$")
REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
SECRET_ARN_RE = re.compile(r"^arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]+:\d{12}:.+$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SECRET_NAMES = ("database_url", "redis_url", "secret_key", "identity_key")
#: The S3 prefix of uploaded model versions: backend.models_registry.service.MODEL_PREFIX (fixed
#: in the backend; a test keeps the two equal).
REGISTRY_PREFIX = "models/"


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file, field and reason."""


@dataclass(frozen=True)
class TaskSize:
    cpu: int
    memory: int
    desired: int = 1
    min: int = 1
    max: int = 1


@dataclass(frozen=True)
class Network:
    vpc_id: str
    vpc_cidr: str  # the VPC's (primary) IPv4 CIDR: the ALB and the portal's tasks are in it
    public_subnets: tuple[str, ...]
    private_subnets: tuple[str, ...]
    alb_security_groups: tuple[str, ...]
    task_security_groups: tuple[str, ...]
    certificate_arn: str


@dataclass(frozen=True)
class Storage:
    bucket: str
    prefix: str
    table: str
    kms_key_arn: str | None = None


@dataclass(frozen=True)
class Gpu:
    instance_type: str
    ami_ssm_parameter: str
    max_instances: int


@dataclass(frozen=True)
class Autoscaling:
    metric_namespace: str
    backlog_per_worker: int
    gpu_scale_out_depth: int
    gpu_scale_in_depth: int
    api_cpu_target: int


@dataclass(frozen=True)
class SageMaker:
    endpoint: str
    instance_type: str
    initial_instance_count: int
    min: int
    max: int
    invocations_per_instance: int
    model_prefix: str


@dataclass(frozen=True)
class Pacs:
    """The hospital PACS and the DICOM node that receives from it (backend.dicom_node)."""

    ae_title: str  # the PACS's AE title: results go to it, searches and imports ask it
    host: str
    port: int
    node_ae_title: str  # the node's AE title, as the PACS knows it
    calling_aets: tuple[str, ...]  # who may send to the node (the PACS's AE titles)
    service_account: str  # the clinician account that owns the node's cases
    nlb_security_groups: tuple[str, ...]  # admit only the PACS's addresses on NODE_PORT


@dataclass(frozen=True)
class Config:
    source: str
    name: str
    account_id: str
    region: str
    public_url: str
    network: Network
    registry: str
    image_tag: str
    storage: Storage
    secrets: dict[str, str]
    inference_backend: str
    services: dict[str, TaskSize]
    gpu: Gpu
    autoscaling: Autoscaling
    log_retention_days: int
    alarm_topic_arn: str | None
    sagemaker: SageMaker
    pacs: Pacs | None = None  # None: no DICOM node, nothing sent to a PACS

    @property
    def partition(self) -> str:
        return (
            "aws-cn"
            if self.region.startswith("cn-")
            else ("aws-us-gov" if "-gov-" in self.region else "aws")
        )

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account_id if account else ''}:{resource}"
        )

    def image(self, component: str) -> str:
        return f"{self.registry}/{self.name}/{component}:{self.image_tag}"


class _Reader:
    """Typed access to the parsed document, with errors that name the field."""

    def __init__(self, source: str, data: Any, path: str = ""):
        self.source, self.data, self.path = source, data, path
        if not isinstance(data, dict):
            self.fail("must be a mapping")

    def fail(self, reason: str, key: str | None = None) -> NoReturn:
        where = ".".join(p for p in (self.path, key) if p) or "(top level)"
        raise ConfigError(f"{self.source}: {where}: {reason}")

    def sub(self, key: str) -> _Reader:
        return _Reader(self.source, self.get(key, dict), f"{self.path}.{key}".strip("."))

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data or self.data[key] is None:
            if default is ...:
                self.fail("is required", key)
            return default
        value = self.data[key]
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.fail(f"must be a {names}, not {type(value).__name__}", key)
        return value

    def text(self, key: str, pattern: re.Pattern[str] | None = None, default: Any = ...) -> Any:
        value = self.get(key, str, default)
        if isinstance(value, str) and pattern is not None and not pattern.match(value):
            self.fail(f"{value!r} is not valid (expected {pattern.pattern})", key)
        return value

    def number(self, key: str, low: int, high: int, default: Any = ...) -> int:
        value = self.get(key, int, default)
        if not low <= value <= high:
            self.fail(f"{value} is outside {low}..{high}", key)
        return int(value)

    def strings(self, key: str, prefix: str, at_least: int = 1) -> tuple[str, ...]:
        values = self.get(key, list)
        if len(values) < at_least or not all(
            isinstance(v, str) and v.startswith(prefix) for v in values
        ):
            self.fail(f"must list at least {at_least} id(s) starting with {prefix!r}", key)
        return tuple(values)


def _vpc_cidr(r: _Reader) -> str:
    """The VPC's private IPv4 CIDR: the API believes X-Forwarded-For from inside it."""
    value = r.text("vpc_cidr")
    try:
        net = ipaddress.IPv4Network(value)
    except ValueError as e:
        if "host bits set" not in str(e):
            r.fail(f"{value!r} is not an IPv4 network (e.g. 10.0.0.0/16)", "vpc_cidr")
        r.fail(
            f"{value!r} has host bits set (the network is "
            f"{ipaddress.IPv4Network(value, strict=False)})",
            "vpc_cidr",
        )
    if not net.is_private:
        r.fail(
            f"{value!r} is not a private range: the API would believe forwarded client "
            "addresses from outside the VPC",
            "vpc_cidr",
        )
    if not 16 <= net.prefixlen <= 28:
        r.fail(f"{value!r}: a VPC's CIDR is /16 to /28", "vpc_cidr")
    return str(net)


def _task_size(r: _Reader, name: str, fargate: bool, scaled: bool) -> TaskSize:
    s = r.sub(name)
    cpu, memory = s.get("cpu", int), s.get("memory", int)
    if fargate:
        allowed = FARGATE_SIZES.get(cpu, ())
        if not allowed:
            s.fail(f"{cpu} is not a Fargate CPU size ({', '.join(map(str, FARGATE_SIZES))})", "cpu")
        if memory not in allowed:
            s.fail(
                f"{memory} MiB is not a Fargate memory size for {cpu} CPU units "
                f"({allowed[0]}..{allowed[-1]})",
                "memory",
            )
    desired = s.number("desired", 0, 1000, 1)
    low = s.number("min", 0, 1000, desired) if scaled else desired
    high = s.number("max", 0, 1000, desired) if scaled else desired
    if not low <= desired <= high:
        s.fail(f"needs min <= desired <= max (got {low}, {desired}, {high})")
    return TaskSize(cpu, memory, desired, low, high)


AE_TITLE_RE = re.compile(r"^[ -~]{1,16}$")


def _pacs(r: _Reader) -> Pacs | None:
    if r.data.get("pacs") is None:
        return None
    p = r.sub("pacs")
    titles = p.get("calling_aets", list)
    if not titles or not all(
        isinstance(t, str) and AE_TITLE_RE.match(t) and t.strip() for t in titles
    ):
        p.fail(
            "must list the AE titles that may send to the node (1-16 printable characters each)",
            "calling_aets",
        )
    return Pacs(
        ae_title=p.text("ae_title", AE_TITLE_RE),
        host=p.text("host"),
        port=p.number("port", 1, 65535),
        node_ae_title=p.text("node_ae_title", AE_TITLE_RE, "MEDSEGTEXT"),
        calling_aets=tuple(titles),
        service_account=p.text("service_account", re.compile(r"^[^@\s]+@[^@\s]+$")),
        nlb_security_groups=p.strings("nlb_security_groups", "sg-"),
    )


def parse(data: Any, source: str = "<config>") -> Config:
    r = _Reader(source, data)
    name = r.text("name", NAME_RE)
    net = r.sub("network")
    network = Network(
        vpc_id=net.text("vpc_id", re.compile(r"^vpc-[0-9a-f]+$")),
        vpc_cidr=_vpc_cidr(net),
        public_subnets=net.strings("public_subnets", "subnet-", 2),
        private_subnets=net.strings("private_subnets", "subnet-", 2),
        alb_security_groups=net.strings("alb_security_groups", "sg-"),
        task_security_groups=net.strings("task_security_groups", "sg-"),
        certificate_arn=net.text("certificate_arn", re.compile(r"^arn:aws[a-z-]*:acm:")),
    )
    img = r.sub("images")
    st = r.sub("storage")
    prefix = st.text("prefix", re.compile(r"^([A-Za-z0-9_.-]+/)*$"))
    storage = Storage(
        st.text("bucket", BUCKET_RE),
        prefix,
        st.text("table"),
        st.text("kms_key_arn", re.compile(r"^arn:aws[a-z-]*:kms:"), None),
    )
    sec = r.sub("secrets")
    secrets = {k: sec.text(k, SECRET_ARN_RE) for k in SECRET_NAMES}
    inf = r.sub("inference")
    backend = inf.text("backend")
    if backend not in BACKENDS:
        inf.fail(f"{backend!r} is not one of {', '.join(BACKENDS)}", "backend")
    svc = r.sub("services")
    services = {
        "api": _task_size(svc, "api", fargate=True, scaled=True),
        "frontend": _task_size(svc, "frontend", fargate=True, scaled=False),
        "worker": _task_size(svc, "worker", fargate=True, scaled=True),
        "worker_gpu": _task_size(svc, "worker_gpu", fargate=False, scaled=True),
        "queue_metrics": _task_size(svc, "queue_metrics", fargate=True, scaled=False),
        "migrate": _task_size(svc, "migrate", fargate=True, scaled=False),
    }
    pacs = _pacs(r)
    if pacs is not None:
        services["dicom_node"] = _task_size(svc, "dicom_node", fargate=True, scaled=False)
    if services["worker"].min < 1:
        svc.sub("worker").fail(
            "min must be at least 1: its scaling metric is queued images "
            "per running worker, which has no value with none running"
        )
    g = r.sub("gpu")
    gpu = Gpu(
        g.text("instance_type", re.compile(r"^(g4dn|g5|g6|g6e|p3|p4d|p5)\.")),
        g.text("ami_ssm_parameter", re.compile(r"^/aws/service/ecs/")),
        g.number("max_instances", 0, 100),
    )
    a = r.sub("autoscaling")
    scaling = Autoscaling(
        a.text("metric_namespace", re.compile(r"^[A-Za-z0-9/_.#:-]{1,255}$")),
        a.number("backlog_per_worker", 1, 1_000_000),
        a.number("gpu_scale_out_depth", 1, 10_000_000),
        a.number("gpu_scale_in_depth", 0, 10_000_000),
        a.number("api_cpu_target", 10, 90),
    )
    if scaling.metric_namespace.startswith("AWS/"):
        a.fail("the AWS/ namespace is reserved for AWS's own metrics", "metric_namespace")
    if scaling.gpu_scale_in_depth >= scaling.gpu_scale_out_depth:
        a.fail("gpu_scale_in_depth must be below gpu_scale_out_depth")
    sm = r.sub("sagemaker")
    sagemaker = SageMaker(
        sm.text("endpoint", re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")),
        sm.text("instance_type", re.compile(r"^ml\.")),
        sm.number("initial_instance_count", 1, 100),
        sm.number("min", 1, 100),
        sm.number("max", 1, 100),
        sm.number("invocations_per_instance", 1, 1_000_000),
        sm.text("model_prefix", re.compile(r"^([A-Za-z0-9_.-]+/)*$")),
    )
    if not sagemaker.min <= sagemaker.initial_instance_count <= sagemaker.max:
        sm.fail("needs min <= initial_instance_count <= max")
    # The SageMaker role may read its prefix: it must hold no case files or registry models.
    mine = sagemaker.model_prefix
    for other in (storage.prefix, REGISTRY_PREFIX):
        if not mine or not other or mine.startswith(other) or other.startswith(mine):
            sm.fail(
                f"{mine!r} overlaps {other!r}: give the SageMaker archives their own prefix",
                "model_prefix",
            )
    public_url = r.text("public_url", re.compile(r"^https://[a-z0-9.-]+(:\d+)?$"))
    tag = img.text("tag", TAG_RE)
    if tag == "latest":
        img.fail("'latest' is mutable; deploy an immutable tag (a version or commit)", "tag")
    return Config(
        source=source,
        name=name,
        account_id=r.text("account_id", ACCOUNT_RE),
        region=r.text("region", REGION_RE),
        public_url=public_url,
        network=network,
        registry=img.text("registry", re.compile(r"^[a-z0-9.-]+(:\d+)?$")),
        image_tag=tag,
        storage=storage,
        secrets=secrets,
        inference_backend=backend,
        services=services,
        gpu=gpu,
        autoscaling=scaling,
        log_retention_days=r.number("log_retention_days", 1, 3653),
        alarm_topic_arn=r.text("alarm_topic_arn", re.compile(r"^arn:aws[a-z-]*:sns:"), None),
        sagemaker=sagemaker,
        pacs=pacs,
    )


def load(path: str | Path) -> Config:
    """Read and check a .yaml/.yml or .json config file."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ConfigError(f"{p}: cannot read: {e.strerror or e}") from None
    if p.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{p}: not valid JSON: {e}") from None
    elif p.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:  # pragma: no cover - PyYAML ships with litestar
            raise ConfigError(f"{p}: reading YAML needs PyYAML (or use a .json file)") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError(f"{p}: not valid YAML: {e}") from None
    else:
        raise ConfigError(f"{p}: expected a .yaml, .yml or .json file")
    return parse(data, str(p))
