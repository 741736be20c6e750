"""BEY-06: the three deployments (make run, make run-distributed, docker-compose.yaml) take their Airflow
settings from deploy/airflow_settings.py, so they cannot drift; the compose file has the shape of
Airflow 3's official one; the image holds no test package. Docker need not run here: the files are read."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys

import pytest
import yaml

from deploy.airflow_settings import (
    COMMON,
    COMPOSE,
    DISTRIBUTED,
    PASSWORDS_FILE,
    SECRETS,
    compose_environment,
    environment,
)
from tests.net_support import REPO

COMPOSE_FILE = REPO / "docker-compose.yaml"
AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
)
LONG_RUNNING = ("postgres", "redis", "sandbox", *AIRFLOW_SERVICES[:-1])


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())  # the merge keys (<<: *airflow-common) resolved


def _requirement_names(path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[=<>\[ ;]", line)[0].lower().replace("_", "-"))
    return names


def test_bey06_compose_environment_is_the_settings_source(compose):
    expected = compose_environment()
    for name in AIRFLOW_SERVICES:
        env = compose["services"][name]["environment"]
        airflow_env = {k: str(v) for k, v in env.items() if k.startswith("AIRFLOW")}
        assert airflow_env == expected, f"{name}: docker-compose.yaml differs from deploy/airflow_settings.py"


def test_bey06_every_setting_is_documented_and_every_deployment_sets_the_same_keys():
    documented = {s.env for s in COMMON + DISTRIBUTED}
    paths = {"dags": "/d", "plugins": "/p", "api_url": "http://h:1", "passwords_file": "/pw"}
    values = {s.env: "x" for s in SECRETS}
    standalone = environment("standalone", **paths, secret_values=values)
    distributed = environment("distributed", **paths, secret_values=values, metadata_db="postgresql://m", broker="r://")
    assert set(standalone) == {s.env for s in COMMON}
    assert set(distributed) == documented
    assert all(setting.purpose for setting in COMMON + DISTRIBUTED)
    # the executor-independent settings are the same everywhere but for the dags-paused policy
    same = {k for k in standalone if k != "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"}
    assert {k: standalone[k] for k in same} == {k: distributed[k] for k in same}
    assert standalone["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "False"
    assert distributed["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "True"
    compose_keys = {k.removesuffix("_CMD") for k in compose_environment()}
    assert compose_keys == documented


def test_bey06_compose_reads_the_shared_secrets_from_files_airflow_accepts_as_commands(compose):
    from airflow.configuration import conf

    env = compose_environment()
    for secret in SECRETS:
        section, key = secret.env.removeprefix("AIRFLOW__").lower().split("__")
        assert (section, key) in conf.sensitive_config_values, f"Airflow reads no {secret.env}_CMD"
        assert env[f"{secret.env}_CMD"] == f"cat /run/secrets/{secret.file}"
        assert secret.env not in env  # never a value in the file
    declared = {name: s["file"] for name, s in compose["secrets"].items()}
    for name in AIRFLOW_SERVICES:
        mounted = {s["target"]: declared[s["source"]] for s in compose["services"][name]["secrets"]}
        assert mounted == {
            **{s.file: f"./deploy/secrets/{s.file}" for s in SECRETS},
            PASSWORDS_FILE: f"./deploy/secrets/{PASSWORDS_FILE}",
        }
    assert "/deploy/secrets/" in (REPO / ".gitignore").read_text()


def test_bey06_compose_mounts_dags_plugins_and_a_logs_volume(compose):
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        volumes = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
        assert volumes[COMPOSE["dags"]] == "./dags"
        assert volumes[COMPOSE["plugins"]] == "./plugins"  # else the error-log view never loads
        assert volumes["/opt/airflow/logs"] == "airflow-logs"
        assert service["environment"]["AIRFLOW__CORE__PLUGINS_FOLDER"] == COMPOSE["plugins"]
    assert "airflow-logs" in compose["volumes"]


def test_bey06_compose_ports_are_loopback_only_with_health_checks_and_restarts(compose):
    services = compose["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"
    for name in LONG_RUNNING:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert services[name].get("restart") == "always", f"{name} is not restarted"
    assert services["airflow-init"]["restart"] == "no"
    worker_deps = services["airflow-worker"]["depends_on"]
    assert worker_deps["airflow-apiserver"]["condition"] == "service_healthy"
    for name in AIRFLOW_SERVICES[:-1]:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_bey06_compose_init_migrates_and_stores_the_state_database_variable_and_connections(compose):
    script = " ".join(compose["services"]["airflow-init"]["command"])
    assert "airflow db migrate" in script
    assert "scripts/prepare_databases.py" in script and "--create atqbo_state" in script
    assert "scripts/configure_local_airflow.py" in script and "--state-db postgresql://" in script
    dockerfile = (REPO / "Dockerfile").read_text()
    for path in ("scripts/prepare_databases.py", "scripts/configure_local_airflow.py", "sandbox", "plugins"):
        assert path in dockerfile


def test_bey06_the_image_installs_no_test_package():
    dockerfile = "\n".join(line for line in (REPO / "Dockerfile").read_text().splitlines() if line[:1] != "#")
    installed = re.findall(r"pip install [^\n]*-r (\S+)", dockerfile)
    assert installed == ["/opt/atqbo/requirements.txt"]
    assert "COPY --chown=airflow:root requirements.txt " in dockerfile
    assert "requirements-test" not in dockerfile and "requirements-clients" not in dockerfile
    runtime = _requirement_names(REPO / "requirements.txt")
    test_only = _requirement_names(REPO / "requirements-test.txt") | _requirement_names(
        REPO / "requirements-clients.txt"
    )
    assert {"pytest", "ruff", "playwright", "python-quickbooks", "py-autotask"} <= test_only
    assert runtime & test_only == set()
    assert {"apache-airflow-providers-celery", "redis", "celery"} <= runtime  # `airflow celery worker`
    pinned = [line for line in (REPO / "requirements.txt").read_text().splitlines() if line and line[0] != "#"]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[^=\s]+", line) for line in pinned)


def test_bey06_the_scripts_take_their_airflow_settings_from_the_source_alone():
    documented = {s.env for s in COMMON + DISTRIBUTED}
    for script in ("run.sh", "run_distributed.sh"):
        text = (REPO / "scripts" / script).read_text()
        assert "deploy/airflow_settings.py env" in text
        set_here = set(re.findall(r"export (AIRFLOW__\w+)=", text))
        assert set_here & documented == set(), f"scripts/{script} sets its own {set_here & documented}"


def test_bey06_env_prints_the_settings_and_keeps_the_secrets_private(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    cmd = [sys.executable, str(REPO / "deploy" / "airflow_settings.py"), "env", "distributed"]
    args = ["--repo", "/r", "--home", str(tmp_path), "--api-port", "9", "--metadata-db", "postgresql://m/a"]
    first = subprocess.run([*cmd, *args, "--broker", "redis://b"], capture_output=True, text=True, env=env, check=True)
    again = subprocess.run([*cmd, *args, "--broker", "redis://b"], capture_output=True, text=True, env=env, check=True)
    assert first.stdout == again.stdout  # the secrets are made once, then kept
    assert "export AIRFLOW__CORE__PLUGINS_FOLDER=/r/plugins" in first.stdout
    assert "export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:9/execution/" in first.stdout
    for secret in SECRETS:
        path = tmp_path / secret.file
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert f"export {secret.env}={path.read_text()}" in first.stdout
    described = subprocess.run([*cmd[:2], "describe"], capture_output=True, text=True, env=env, check=True).stdout
    assert all(s.env in described for s in COMMON + DISTRIBUTED)
    assert not any((tmp_path / s.file).read_text() in described for s in SECRETS)
    # a value the caller holds (a vault, a CI secret) wins over the kept file
    vault = {**env, "AIRFLOW__API__SECRET_KEY": "from-the-vault"}
    third = subprocess.run(
        [*cmd, *args, "--broker", "redis://b"], capture_output=True, text=True, env=vault, check=True
    )
    assert "export AIRFLOW__API__SECRET_KEY=from-the-vault" in third.stdout


def test_bey06_compose_secrets_command_makes_the_admin_password_file(tmp_path):
    script = str(REPO / "deploy" / "airflow_settings.py")
    subprocess.run([sys.executable, script, "secrets", str(tmp_path)], capture_output=True, check=True)
    assert set(json.loads((tmp_path / PASSWORDS_FILE).read_text())) == {"admin"}
    assert {p.name for p in tmp_path.iterdir()} == {s.file for s in SECRETS} | {PASSWORDS_FILE}
