"""docker-compose, the Dockerfile, the Grafana dashboard and the Kubernetes manifests
against the real code: every ``streamer`` command and flag they use exists (parsed by
the CLI itself), every ``STREAMER_*`` variable is a setting, topic and group names match
the topology, and every metric the dashboard queries is one a runtime's registry exports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
import yaml

from streamer.cli import app
from streamer.settings import StreamerSettings
from streamer.stream import StreamRuntime, Topology
from streamer.stream.monitoring import RuntimeMonitor

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
MANIFESTS = {
    path.name: list(yaml.safe_load_all(path.read_text()))
    for path in (ROOT / "deploy/kubernetes").glob("*.yaml")
}
SUPPORT_TICKETS = Topology.from_file(ROOT / "topologies/support-tickets.yaml")

SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
    "info": ("_info",),
}


def exported_metric_names(tmp_path: Path) -> set[str]:
    """Every series name a runtime's registry exports (its own and the cloud detectors'),
    observed yet or not."""
    runtime = StreamRuntime(SUPPORT_TICKETS, StreamerSettings(data_dir=tmp_path, workers=1))
    RuntimeMonitor(runtime)
    return {
        family.name + suffix
        for family in runtime.registry.collect()
        for suffix in SUFFIXES.get(family.type, ("",))
    }


def streamer_services() -> dict[str, list[str]]:
    """Compose services that run the pii-streamer image, with their command."""
    return {
        name: service["command"]
        for name, service in COMPOSE["services"].items()
        if service.get("image") == "pii-streamer:latest"
    }


def containers() -> Iterator[dict[str, Any]]:
    for docs in MANIFESTS.values():
        for doc in docs:
            if doc and doc.get("kind") == "Deployment":
                yield from doc["spec"]["template"]["spec"]["containers"]


def parse_command(args: list[str]) -> tuple[str, dict[str, Any]]:
    """Parse ``streamer ARGS`` with the CLI's own parser (no command runs): unknown
    commands, unknown flags, missing values and bad values fail here as they would."""
    command: Any = typer.main.get_command(app)
    context = command.context_class(command, info_name="streamer")
    names = []
    rest = list(args)
    while hasattr(command, "resolve_command"):  # a group: `streamer keys list`, say
        name, command, rest = command.resolve_command(context, rest)
        names.append(name)
        context = command.context_class(command, info_name=name, parent=context)
    with command.make_context(" ".join(names), rest, parent=context.parent) as parsed:
        return " ".join(names), dict(parsed.params)


def test_every_streamer_command_in_compose_and_kubernetes_parses_with_the_real_cli() -> None:
    commands = [*streamer_services().values(), *(c["args"] for c in containers())]
    assert len(commands) >= 6
    for command in commands:
        parse_command(command)  # raises click.UsageError on anything the CLI lacks


def test_the_parser_used_above_refuses_what_the_cli_refuses() -> None:
    # Typer's BadParameter is a UsageError of the click it runs on (vendored or not).
    usage_error = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
    with pytest.raises(usage_error, match="--no-such-flag"):
        parse_command(["run", "--no-such-flag", "1"])
    with pytest.raises(usage_error, match="no-such-command"):
        parse_command(["no-such-command"])
    with pytest.raises(typer.BadParameter):
        parse_command(["run", "--metrics-port", "not-a-port"])
    with pytest.raises(usage_error, match="--shout"):
        parse_command(["keys", "list", "--shout"])
    name, params = parse_command(["keys", "list", "--json"])
    assert name == "keys list" and params["as_json"] is True


def test_every_streamer_variable_in_the_deploy_files_is_a_setting() -> None:
    known = {f"STREAMER_{name.upper()}" for name in StreamerSettings.model_fields}
    names = set(re.findall(r"\bSTREAMER_[A-Z_]+\b", (ROOT / "Dockerfile").read_text()))
    for service in COMPOSE["services"].values():
        names |= {n for n in service.get("environment", {}) if n.startswith("STREAMER_")}
    for container in containers():
        names |= {e["name"] for e in container.get("env", []) if e["name"].startswith("STREAMER_")}
    [secret] = MANIFESTS["secret.example.yaml"]
    names |= set(secret["stringData"])
    assert names, "no STREAMER_* variable found"
    assert names <= known, f"not settings: {sorted(names - known)}"


def test_compose_runs_kafka_in_kraft_mode_with_the_whole_stack() -> None:
    services = COMPOSE["services"]
    assert {"kafka", "processor", "prometheus", "grafana", "azure-emulator", "aws-emulator"} <= set(
        services
    )
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    processor = services["processor"]
    assert processor["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert processor["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    grafana_volumes = " ".join(services["grafana"]["volumes"])
    assert "deploy/grafana/dashboards" in grafana_volumes


def test_compose_names_the_topology_topics_ports_and_listeners_consistently() -> None:
    services = COMPOSE["services"]
    _, run = parse_command(services["processor"]["command"])
    port = run["metrics_port"]
    assert port is not None
    assert f"{port}:{port}" in services["processor"]["ports"]
    assert f"localhost:{port}/readyz" in " ".join(services["processor"]["healthcheck"]["test"])
    topology = Topology.from_file(ROOT / run["topology"])
    _, produce = parse_command(services["sample-traffic"]["command"])
    assert produce["topic"] in topology.inputs
    _, topics = parse_command(services["topics"]["command"])
    assert topics["topology"] == run["topology"]

    # Containers reach Kafka on the listener it advertises to them.
    kafka = services["kafka"]["environment"]
    advertised = dict(item.split("://") for item in kafka["KAFKA_ADVERTISED_LISTENERS"].split(","))
    bootstrap = services["processor"]["environment"]["STREAMER_BOOTSTRAP_SERVERS"]
    assert bootstrap == advertised[kafka["KAFKA_INTER_BROKER_LISTENER_NAME"]]

    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    [job] = prometheus["scrape_configs"]
    [discovery] = job["dns_sd_configs"]
    assert discovery["names"] == ["processor"] and discovery["port"] == port

    for emulator in ("azure-emulator", "aws-emulator"):
        _, options = parse_command(services[emulator]["command"])
        assert f"{options['port']}:{options['port']}" in services[emulator]["ports"]
        assert options["host"] == "0.0.0.0"


def test_dashboard_queries_name_only_exported_metrics(tmp_path: Path) -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/pii-streamer.json").read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(expressions) >= 10
    queried = {name for expr in expressions for name in re.findall(r"\bstreamer_[a-z_]+", expr)}
    exported = exported_metric_names(tmp_path)
    missing = sorted(queried - exported)
    assert not missing, f"dashboard queries metrics the code does not export: {missing}"
    # The operator's questions each have a panel: throughput, lag, latency, pool, breakers.
    for name in (
        "streamer_events_consumed_total",
        "streamer_consumer_lag",
        "streamer_end_to_end_latency_seconds_bucket",
        "streamer_worker_busy_seconds_total",
        "streamer_cloud_breaker_state",
    ):
        assert name in queried, name


def test_kubernetes_deployment_has_probes_resources_and_lag_autoscaling() -> None:
    [deployment] = MANIFESTS["deployment.yaml"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    _, run = parse_command(container["args"])
    [port] = [p for p in container["ports"] if p["name"] == "metrics"]
    assert port["containerPort"] == run["metrics_port"]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(run["metrics_port"])

    # The KEDA trigger watches the group and topic the mounted topology runs.
    kustomization = MANIFESTS["kustomization.yaml"][0]
    [generator] = kustomization["configMapGenerator"]
    [mounted] = generator["files"]
    topology = Topology.from_file((ROOT / "deploy/kubernetes" / mounted.split("=")[1]).resolve())
    assert run["topology"].name == mounted.split("=")[0]
    [scaled] = MANIFESTS["keda-scaledobject.yaml"]
    assert scaled["kind"] == "ScaledObject"
    assert scaled["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    [trigger] = scaled["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["consumerGroup"] == topology.group
    assert trigger["metadata"]["topic"] in topology.inputs
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert trigger["metadata"]["bootstrapServers"] == env["STREAMER_BOOTSTRAP_SERVERS"]
    # More replicas than input partitions would only add idle, never-ready members.
    assert scaled["spec"]["maxReplicaCount"] <= topology.topics.partitions


def test_readme_documents_every_exported_metric() -> None:
    from streamer.observability.metrics import STREAM_METRICS

    readme = (ROOT / "README.md").read_text()
    operations = readme[readme.index("## Operations") :]
    missing = [s.exported_name for s in STREAM_METRICS if f"`{s.exported_name}`" not in operations]
    assert not missing, f"README's Operations section does not list: {missing}"


def test_kustomize_reads_only_files_inside_its_directory() -> None:
    # `kubectl apply -k` refuses files outside the kustomization's directory ("security;
    # file ... is not in or below ..."); the topology was ../../topologies/support-tickets.yaml.
    directory = ROOT / "deploy/kubernetes"
    kustomization = MANIFESTS["kustomization.yaml"][0]
    paths = list(kustomization["resources"])
    for generator in kustomization["configMapGenerator"]:
        paths += [entry.split("=")[-1] for entry in generator["files"]]
    for path in paths:
        resolved = (directory / path).resolve()
        assert resolved.is_relative_to(directory) and resolved.is_file(), path
    copy = directory / "support-tickets.yaml"
    assert copy.read_text() == (ROOT / "topologies/support-tickets.yaml").read_text(), (
        "deploy/kubernetes/support-tickets.yaml must stay a copy of the topology it mounts"
    )
