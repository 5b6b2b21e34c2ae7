"""docker-compose, the Grafana dashboard and the Kubernetes manifests: structure, and that
every metric the dashboard queries is one the code exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from streamer.cloud.metrics import CloudMetrics
from streamer.observability.metrics import StreamMetrics

ROOT = Path(__file__).resolve().parents[3]


SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
    "info": ("_info",),
}


def exported_metric_names() -> set[str]:
    """Every series name the processor can export, labelled or not yet observed."""
    registry = StreamMetrics().registry
    CloudMetrics.for_registry(registry)
    return {
        family.name + suffix
        for family in registry.collect()
        for suffix in SUFFIXES.get(family.type, ("",))
    }


def test_compose_runs_kafka_in_kraft_mode_with_the_whole_stack() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"kafka", "processor", "prometheus", "grafana", "azure-emulator", "aws-emulator"} <= set(
        services
    )
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    processor = services["processor"]
    assert "--metrics-port" in processor["command"]
    assert processor["depends_on"]["kafka"]["condition"] == "service_healthy"
    grafana_volumes = " ".join(services["grafana"]["volumes"])
    assert "deploy/grafana/dashboards" in grafana_volumes
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
    assert targets == ["processor:9400"]


def test_dashboard_queries_name_only_exported_metrics() -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/pii-streamer.json").read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(expressions) >= 10
    queried = {name for expr in expressions for name in re.findall(r"\bstreamer_[a-z_]+", expr)}
    exported = exported_metric_names()
    missing = sorted(queried - exported)
    assert not missing, f"dashboard queries metrics the code does not export: {missing}"


def test_kubernetes_deployment_has_probes_resources_and_lag_autoscaling() -> None:
    docs = {
        path.name: list(yaml.safe_load_all(path.read_text()))
        for path in (ROOT / "deploy/kubernetes").glob("*.yaml")
    }
    [deployment] = docs["deployment.yaml"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    [scaled] = docs["keda-scaledobject.yaml"]
    assert scaled["kind"] == "ScaledObject"
    assert scaled["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert scaled["spec"]["triggers"][0]["type"] == "kafka"
