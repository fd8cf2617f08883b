"""deploy/kubernetes: valid against Kubernetes' own schemas, and keeping the bot's promises.

No cluster here: every manifest is validated offline, strictly (no unknown field), with the
schemas the `kubernetes-validate` package ships, for the oldest and the newest Kubernetes
version it knows; then what the bot needs is read from them.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot.config import FileConfig
from bot.settings import secret_variable_names

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "deploy" / "kubernetes"
DOCKERFILE = REPO / "Dockerfile"
SECRET_NAME = "creators-onboard-env"
VERSIONS = ("1.29.0", kubernetes_validate.latest_version())


def manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            assert isinstance(doc, dict), path
            docs.append(doc)
    return docs


def one(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        d
        for d in manifests()
        if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


def container() -> dict[str, Any]:
    (found,) = one("StatefulSet")["spec"]["template"]["spec"]["containers"]
    assert isinstance(found, dict)
    return found


def env() -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container()["env"]}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_for_kubernetes(version: str) -> None:
    docs = manifests()
    assert {d["kind"] for d in docs} == {"StatefulSet", "Service", "ConfigMap"}
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_rejects_a_wrong_manifest() -> None:
    """The schemas are really applied: an unknown field and a wrong type both fail."""
    broken = one("StatefulSet")
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="livenessProbes"):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)
    broken = one("StatefulSet")
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    assert kustomization["kind"] == "Kustomization"
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_each_pod_name_is_its_executor_id() -> None:
    statefulset = one("StatefulSet")
    assert env()["DBOS__VMID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    # The StatefulSet's governing Service exists and is headless.
    governing = one("Service", statefulset["spec"]["serviceName"])
    assert governing["spec"]["clusterIP"] == "None"


def test_probes_ask_healthz_and_readyz_on_the_bots_port() -> None:
    c = container()
    (port,) = c["ports"]
    assert port["containerPort"] == int(env()["PORT"]["value"])
    expose = re.search(r"^EXPOSE (\d+)$", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)
    assert expose and int(expose[1]) == port["containerPort"]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
    service = one("Service", "creators-onboard")
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    labels = one("StatefulSet")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


def test_secrets_are_referenced_never_written() -> None:
    c = container()
    assert c["envFrom"] == [{"secretRef": {"name": SECRET_NAME}}]
    assert env()["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": SECRET_NAME,
        "key": "DATABASE_URL",
    }
    # No secret's value in a manifest, and no Secret object committed at all.
    for name in secret_variable_names():
        assert name not in env()
    assert "Secret" not in {d["kind"] for d in manifests()}
    # The Secret is made from the documented .env file, under the name used here.
    how = f"kubectl create secret generic {SECRET_NAME} --from-env-file=deploy/.env"
    assert how in (REPO / "deploy" / ".env.example").read_text(encoding="utf-8")
    assert how in (REPO / "README.md").read_text(encoding="utf-8")


def test_the_config_map_is_the_example_configuration_mounted_where_the_bot_reads_it() -> None:
    config_map = one("ConfigMap")
    (key,) = config_map["data"]
    text = config_map["data"][key]
    example = (REPO / "creators-onboard.example.yml").read_text(encoding="utf-8")
    assert text == example, "run ./scripts/sync-configmap after changing the example YAML"
    FileConfig.model_validate(yaml.safe_load(text))
    pod = one("StatefulSet")["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if "configMap" in v]
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]
    (mount,) = [m for m in container()["volumeMounts"] if m["name"] == volume["name"]]
    assert f"{mount['mountPath']}/{key}" == env()["CREATORS_ONBOARD_CONFIG"]["value"]
    assert mount["readOnly"] is True


def test_runs_as_the_images_non_root_user_with_nothing_to_spare() -> None:
    pod = one("StatefulSet")["spec"]["template"]["spec"]
    user = re.search(r"^USER (\d+):(\d+)$", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)
    assert user is not None
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True
    assert (security["runAsUser"], security["runAsGroup"]) == (int(user[1]), int(user[2]))
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    own = container()["securityContext"]
    assert own["allowPrivilegeEscalation"] is False
    assert own["readOnlyRootFilesystem"] is True
    assert own["capabilities"] == {"drop": ["ALL"]}
    # A read-only root still needs somewhere to write: HOME (/data, where op keeps its
    # state) and /tmp, both on the pod's own volumes.
    mounts = {m["mountPath"] for m in container()["volumeMounts"]}
    assert {"/data", "/tmp"} <= mounts


def test_the_image_is_this_version_of_the_bot() -> None:
    with (REPO / "pyproject.toml").open("rb") as f:
        version = tomllib.load(f)["project"]["version"]
    assert container()["image"] == f"creators-onboard:{version}"
    assert container()["args"] == ["serve"]
