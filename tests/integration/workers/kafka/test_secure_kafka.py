"""The workers against a Kafka that wants mutual TLS or SASL (PLAIN, SCRAM), as
managed Kafka services do: options and FISHSHOP_* variables both work."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fishshop_workers.embedded.kafka import EmbeddedBroker, free_port
from tests.conftest import operator_process
from tests.support.certs import make_certificates
from tests.support.cluster import Cluster
from tests.support.processes import Worker, run_fishshop
from tests.support.shops import (
    apply,
    condition,
    get,
    namespace_of_its_own,
    small_shop,
    wait_for,
    wait_ready,
)

pytestmark = [pytest.mark.broker, pytest.mark.slow]

SCRAM_USER = ("bob", "bob-secret")
PLAIN_USER = ("alice", "alice-secret")
SCRAM_512_USER = ("carol", "carol-secret")


@pytest.fixture(scope="module")
def secure_broker(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[EmbeddedBroker, Path]]:
    root = tmp_path_factory.mktemp("secure")
    certs, client = make_certificates(root / "certs")
    ssl_port, sasl_port, sasl_ssl_port = free_port(), free_port(), free_port()
    plain = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="admin" password="admin-secret" user_admin="admin-secret" '
        f'user_{PLAIN_USER[0]}="{PLAIN_USER[1]}";'
    )
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    broker = EmbeddedBroker(
        root / "kafka",
        extra_listeners={
            "SSL": ("SSL", ssl_port),
            "SASL_PLAINTEXT": ("SASL_PLAINTEXT", sasl_port),
            "SASL_SSL": ("SASL_SSL", sasl_ssl_port),
        },
        extra_properties={
            "listener.name.ssl.ssl.keystore.type": "PEM",
            "listener.name.ssl.ssl.keystore.location": str(certs / "broker.pem"),
            "listener.name.ssl.ssl.truststore.type": "PEM",
            "listener.name.ssl.ssl.truststore.location": str(certs / "ca.pem"),
            "listener.name.ssl.ssl.client.auth": "required",
            "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
            "listener.name.sasl_ssl.ssl.keystore.type": "PEM",
            "listener.name.sasl_ssl.ssl.keystore.location": str(certs / "broker.pem"),
            **{
                f"listener.name.{listener}.{mechanism}.sasl.jaas.config": config
                for listener in ("sasl_plaintext", "sasl_ssl")
                for mechanism, config in (
                    ("plain", plain),
                    ("scram-sha-256", scram),
                    ("scram-sha-512", scram),
                )
            },
        },
        format_arguments=[
            "--add-scram",
            f"SCRAM-SHA-256=[name={SCRAM_USER[0]},password={SCRAM_USER[1]}]",
            "--add-scram",
            f"SCRAM-SHA-512=[name={SCRAM_512_USER[0]},password={SCRAM_512_USER[1]}]",
        ],
    )
    broker.start()
    yield broker, client
    broker.stop()


def _serve_twenty(shop: str, tmp_path: Path, connection: dict[str, str]) -> dict[str, str]:
    till = run_fishshop(
        "till",
        "--shop",
        shop,
        "--create-topics",
        "--max-orders",
        "20",
        "--orders-per-minute",
        "0",
        "--metrics-port",
        "0",
        timeout=120,
        **connection,
    )
    assert till.returncode == 0, till.stderr
    preparer = Worker(
        "preparer",
        tmp_path,
        f"preparer-{shop}",
        shop=shop,
        prep_min="0",
        prep_max="0",
        metrics_port="0",
        **connection,
    )
    preparer.start()
    try:
        audit = run_fishshop(
            "audit", "--shop", shop, "--wait", "60", "--json", timeout=120, **connection
        )
    finally:
        assert preparer.terminate() == 0, preparer.log()
    assert audit.returncode == 0, audit.stderr
    return dict(json.loads(audit.stdout))


def test_mutual_tls_from_a_certificates_folder(
    secure_broker: tuple[EmbeddedBroker, Path], shop_name: str, tmp_path: Path
) -> None:
    broker, client = secure_broker
    ssl_port = broker.extra_listeners["SSL"][1]
    report = _serve_twenty(
        shop_name,
        tmp_path,
        {
            "bootstrap_servers": f"127.0.0.1:{ssl_port}",
            "certs_dir": str(client),
        },
    )
    assert report["orders_served"] == 20
    assert report["duplicates"] == 0


@pytest.mark.parametrize(
    ("mechanism", "user"), [("PLAIN", PLAIN_USER), ("SCRAM-SHA-256", SCRAM_USER)]
)
def test_sasl_plain_and_scram(
    secure_broker: tuple[EmbeddedBroker, Path],
    shop_name: str,
    tmp_path: Path,
    mechanism: str,
    user: tuple[str, str],
) -> None:
    broker, _ = secure_broker
    sasl_port = broker.extra_listeners["SASL_PLAINTEXT"][1]
    report = _serve_twenty(
        shop_name,
        tmp_path,
        {
            "bootstrap_servers": f"127.0.0.1:{sasl_port}",
            "sasl_mechanism": mechanism,
            "sasl_username": user[0],
            "sasl_password": user[1],
        },
    )
    assert report["orders_served"] == 20
    assert report["duplicates"] == 0


def test_sasl_password_from_a_file(
    secure_broker: tuple[EmbeddedBroker, Path], shop_name: str, tmp_path: Path
) -> None:
    """FISHSHOP_SASL_PASSWORD_FILE, as a pod reads a mounted Secret: the file's
    trailing newline is not part of the password, and nothing shows it in `ps`."""
    broker, _ = secure_broker
    sasl_port = broker.extra_listeners["SASL_PLAINTEXT"][1]
    password_file = tmp_path / "sasl-password"
    password_file.write_text(SCRAM_USER[1] + "\n")
    report = _serve_twenty(
        shop_name,
        tmp_path,
        {
            "bootstrap_servers": f"127.0.0.1:{sasl_port}",
            "sasl_mechanism": "SCRAM-SHA-256",
            "sasl_username": SCRAM_USER[0],
            "sasl_password_file": str(password_file),
        },
    )
    assert report["orders_served"] == 20
    assert report["duplicates"] == 0


def test_a_wrong_password_is_a_clear_error(
    secure_broker: tuple[EmbeddedBroker, Path], shop_name: str
) -> None:
    broker, _ = secure_broker
    sasl_port = broker.extra_listeners["SASL_PLAINTEXT"][1]
    result = run_fishshop(
        "audit",
        "--shop",
        shop_name,
        timeout=60,
        bootstrap_servers=f"127.0.0.1:{sasl_port}",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username="bob",
        sasl_password="not-bobs",
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "fishshop:" in result.stderr


@pytest.mark.usefixtures("fishshop_operator")
def test_the_operator_and_the_pods_use_the_shops_tls_secret(
    secure_broker: tuple[EmbeddedBroker, Path],
    cluster: Cluster,
    namespace: str,
    tmp_path: Path,
) -> None:
    """spec.kafka.tlsSecret with caSecret, as Strimzi hands them out: the KafkaUser's
    Secret (ca.crt, user.crt, user.key, user.p12) whose ca.crt is the clients CA, which
    did not sign the brokers, and the cluster CA's Secret (ca.crt, ca.p12). The operator
    creates the topics over mutual TLS trusting the cluster CA, the pods get the user's
    certificate and the cluster CA in one folder under the names they read, and serve."""
    broker, client = secure_broker
    bootstrap = f"127.0.0.1:{broker.extra_listeners['SSL'][1]}"
    _, clients_ca = make_certificates(tmp_path / "clients-ca")
    cluster.kubectl(
        "create", "secret", "generic", "harbour", "-n", namespace,
        f"--from-file=ca.crt={clients_ca / 'ca.pem'}",
        f"--from-file=user.crt={client / 'service.cert'}",
        f"--from-file=user.key={client / 'service.key'}",
        "--from-literal=user.p12=not read",
    )  # fmt: skip
    cluster.kubectl(
        "create", "secret", "generic", "my-cluster-cluster-ca-cert", "-n", namespace,
        f"--from-file=ca.crt={client / 'ca.pem'}", "--from-literal=ca.p12=not read",
    )  # fmt: skip
    shop = small_shop(bootstrap)
    shop["spec"]["kafka"]["tlsSecret"] = "harbour"
    shop["spec"]["kafka"]["caSecret"] = "my-cluster-cluster-ca-cert"
    apply(cluster, namespace, shop)
    wait_ready(cluster, namespace, "harbour", timeout=120)
    preparers = get(cluster, namespace, "deployment", "harbour-preparer")
    assert preparers is not None
    pod = preparers["spec"]["template"]["spec"]
    assert pod["volumes"][-1]["projected"]["sources"] == [
        {"secret": {"name": "harbour", "items": [
            {"key": "user.crt", "path": "service.cert"},
            {"key": "user.key", "path": "service.key"},
        ]}},
        {"secret": {"name": "my-cluster-cluster-ca-cert", "items": [
            {"key": "ca.crt", "path": "ca.pem"},
        ]}},
    ]  # fmt: skip
    shop_now = get(cluster, namespace, "fishshop", "harbour")
    said = "as Strimzi's user.crt, user.key with caSecret's ca.crt"
    assert said in condition(shop_now, "TopicsReady")["message"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["FISHSHOP_CERTS_DIR"] == "/etc/fishshop/kafka"

    def served() -> int:
        result = run_fishshop(
            "audit", "--shop", "harbour", "--namespace", namespace,
            "--bootstrap-servers", bootstrap, "--certs-dir", str(client), "--json",
        )  # fmt: skip
        assert result.returncode in (0, 1), result.stderr
        return int(json.loads(result.stdout)["orders_served"])

    assert wait_for("orders served over TLS", lambda: served() >= 3, timeout=90)


def _sasl_secret(cluster: Cluster, namespace: str, name: str, **data: str) -> None:
    args = [f"--from-literal={key}={value}" for key, value in data.items()]
    cluster.kubectl("create", "secret", "generic", name, "-n", namespace, *args)


@pytest.mark.usefixtures("fishshop_operator")
@pytest.mark.parametrize(
    ("listener", "mechanism", "user"),
    [("SASL_PLAINTEXT", "SCRAM-SHA-512", SCRAM_512_USER), ("SASL_SSL", "PLAIN", PLAIN_USER)],
)
def test_the_operator_and_the_pods_log_in_with_the_shops_sasl_secret(
    secure_broker: tuple[EmbeddedBroker, Path],
    cluster: Cluster,
    namespace: str,
    listener: str,
    mechanism: str,
    user: tuple[str, str],
) -> None:
    """spec.kafka.sasl: the operator makes the topics as the shop's user, the pods get
    the password as a mounted file (never in the pod spec) and serve every order once.
    The SASL_SSL shop's Secret is named after its user, as Strimzi's KafkaUser Secrets
    are, with no username in it."""
    broker, client = secure_broker
    bootstrap = f"127.0.0.1:{broker.extra_listeners[listener][1]}"
    shop = small_shop(bootstrap)
    if listener == "SASL_SSL":
        _sasl_secret(cluster, namespace, user[0], password=user[1])
        cluster.kubectl(
            "create", "secret", "generic", "kafka-ca", "-n", namespace,
            f"--from-file=ca.pem={client / 'ca.pem'}",
        )  # fmt: skip
        shop["spec"]["kafka"]["tlsSecret"] = "kafka-ca"
        shop["spec"]["kafka"]["sasl"] = {"mechanism": mechanism, "secret": user[0]}
    else:
        _sasl_secret(cluster, namespace, "kafka-user", username=user[0], password=user[1])
        shop["spec"]["kafka"]["sasl"] = {"mechanism": mechanism, "secret": "kafka-user"}
    apply(cluster, namespace, shop)
    wait_ready(cluster, namespace, "harbour", timeout=120)
    preparers = get(cluster, namespace, "deployment", "harbour-preparer")
    assert preparers is not None
    pod = preparers["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["FISHSHOP_SASL_MECHANISM"] == mechanism
    assert env["FISHSHOP_SASL_USERNAME"] == user[0]
    assert env["FISHSHOP_SASL_PASSWORD_FILE"] == "/etc/fishshop/kafka-sasl/password"
    shown = cluster.kubectl("get", "fishshop,deploy,statefulset", "-n", namespace, "-o", "yaml")
    assert user[1] not in shown

    def served() -> int:
        result = run_fishshop(
            "audit", "--shop", "harbour", "--namespace", namespace, "--json",
            "--bootstrap-servers", bootstrap, "--sasl-mechanism", mechanism,
            "--sasl-username", user[0],
            *(["--certs-dir", str(client)] if listener == "SASL_SSL" else []),
            sasl_password=user[1],
        )  # fmt: skip
        assert result.returncode in (0, 1), result.stderr
        report = json.loads(result.stdout)
        assert report["duplicates"] == 0
        return int(report["orders_served"])

    assert wait_for(f"orders served over {listener}", lambda: served() >= 3, timeout=90)


@pytest.mark.usefixtures("fishshop_operator")
def test_a_refused_login_or_an_unverifiable_certificate_says_so(
    secure_broker: tuple[EmbeddedBroker, Path],
    cluster: Cluster,
    namespace: str,
    tmp_path: Path,
) -> None:
    """A wrong password, an unknown user and a CA that did not sign Kafka's certificate
    each leave the shop not Ready with reason KafkaAuthenticationFailed and a message
    that says which; no password reaches the status."""
    broker, _ = secure_broker
    plaintext = f"127.0.0.1:{broker.extra_listeners['SASL_PLAINTEXT'][1]}"
    tls = f"127.0.0.1:{broker.extra_listeners['SASL_SSL'][1]}"
    _, stranger = make_certificates(tmp_path / "another-ca")
    _sasl_secret(cluster, namespace, "wrong", username=SCRAM_512_USER[0], password="not-carols")
    _sasl_secret(cluster, namespace, "nobody", username="nobody", password="whatever")
    _sasl_secret(cluster, namespace, "carol", password=SCRAM_512_USER[1])
    cluster.kubectl(
        "create", "secret", "generic", "another-ca", "-n", namespace,
        f"--from-file=ca.pem={stranger / 'ca.pem'}",
    )  # fmt: skip
    cases = {
        "wrong-password": (plaintext, "wrong", "", "user 'carol': a wrong password"),
        "unknown-user": (plaintext, "nobody", "", "user 'nobody': a wrong password"),
        "untrusted": (tls, "carol", "another-ca", "certificate could not be verified"),
    }
    for name, (bootstrap, secret, ca, _) in cases.items():
        shop = small_shop(bootstrap, name=name)
        shop["spec"]["kafka"]["sasl"] = {"mechanism": "SCRAM-SHA-512", "secret": secret}
        shop["spec"]["kafka"]["tlsSecret"] = ca
        apply(cluster, namespace, shop)
    for name, (_, _, _, says) in cases.items():
        last: list[dict[str, Any]] = [{}]

        def refused(name: str = name, last: list[dict[str, Any]] = last) -> dict[str, Any] | None:
            last[0] = condition(get(cluster, namespace, "fishshop", name), "Ready")
            return last[0] if last[0].get("reason") == "KafkaAuthenticationFailed" else None

        try:
            ready = wait_for(f"{name}: KafkaAuthenticationFailed", refused, timeout=90)
        except AssertionError as error:
            raise AssertionError(f"{error}; it said {last[0]}") from None
        assert says in ready["message"], ready["message"]
    shown = cluster.kubectl("get", "fishshop,events", "-n", namespace, "-o", "yaml")
    assert "not-carols" not in shown and SCRAM_512_USER[1] not in shown


@pytest.mark.usefixtures("fishshop_operator")
def test_each_certificate_layout_reaches_a_tls_kafka(
    secure_broker: tuple[EmbeddedBroker, Path], cluster: Cluster, namespace: str
) -> None:
    """The talk's names, a Strimzi KafkaUser's and cert-manager's, each made from the
    same openssl certificates, take the operator to a broker that wants mutual TLS;
    the status says which layout it read. A Secret in none of them names them all."""
    broker, client = secure_broker
    bootstrap = f"127.0.0.1:{broker.extra_listeners['SSL'][1]}"
    files = {
        "ca": client / "ca.pem",
        "cert": client / "service.cert",
        "key": client / "service.key",
    }
    layouts = {
        "fishshop": ("ca.pem", "service.cert", "service.key"),
        "Strimzi": ("ca.crt", "user.crt", "user.key"),
        "cert-manager": ("ca.crt", "tls.crt", "tls.key"),
        "none": ("ca.cert", "client.crt", "client.key"),
    }
    for layout, keys in layouts.items():
        name = layout.lower().replace("-", "")
        cluster.kubectl(
            "create", "secret", "generic", name, "-n", namespace,
            *(f"--from-file={key}={files[part]}" for key, part in zip(keys, files, strict=True)),
        )  # fmt: skip
        shop = small_shop(bootstrap, name=name)
        shop["spec"]["kafka"]["tlsSecret"] = name
        shop["spec"]["tills"]["replicas"] = 0
        shop["spec"]["preparers"]["replicas"] = 0
        apply(cluster, namespace, shop)
    for layout, keys in layouts.items():
        name = layout.lower().replace("-", "")
        if layout == "none":
            refused = wait_for(
                "the Secret in no layout refused",
                lambda name=name: (
                    (ready := condition(get(cluster, namespace, "fishshop", name), "Ready"))
                    .get("reason") == "TLSSecretInvalid" and ready
                ),
            )  # fmt: skip
            message = refused["message"]
            assert "has keys ca.cert, client.crt, client.key, in no layout known" in message
            assert "ca.crt, tls.crt, tls.key (cert-manager)" in message
            continue
        topics = wait_for(
            f"{layout}: topics over mutual TLS",
            lambda name=name: (
                (ready := condition(get(cluster, namespace, "fishshop", name), "TopicsReady"))
                .get("status") == "True" and ready
            ),
            timeout=90,
        )  # fmt: skip
        assert f"as {layout}'s {', '.join(keys)}" in topics["message"]


def test_tls_with_the_systems_authorities_needs_no_secret(
    secure_broker: tuple[EmbeddedBroker, Path],
    cluster: Cluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """spec.kafka.tls: true with SASL and no tlsSecret (a managed Kafka with a public
    certificate): the operator trusts the system's CAs, here the test CA named by
    SSL_CERT_FILE as OpenSSL reads it; the workers' --tls does the same."""
    broker, client = secure_broker
    bootstrap = f"127.0.0.1:{broker.extra_listeners['SASL_SSL'][1]}"
    namespaces = namespace_of_its_own(cluster, "ix-")
    namespace = next(namespaces)
    operator = operator_process(cluster, tmp_path, "operator-system-tls", namespace)
    operator.environment["SSL_CERT_FILE"] = str(client / "ca.pem")
    operator.start()
    try:
        _sasl_secret(cluster, namespace, PLAIN_USER[0], password=PLAIN_USER[1])
        shop = small_shop(bootstrap)
        shop["spec"]["kafka"]["tls"] = True
        shop["spec"]["kafka"]["sasl"] = {"mechanism": "PLAIN", "secret": PLAIN_USER[0]}
        apply(cluster, namespace, shop)
        wait_for(
            "topics over SASL_SSL with the system's CAs",
            lambda: (
                condition(get(cluster, namespace, "fishshop", "harbour"), "TopicsReady").get(
                    "status"
                )
                == "True"
            ),
            timeout=90,
        )
        preparers = get(cluster, namespace, "deployment", "harbour-preparer")
        assert preparers is not None
        container = preparers["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["FISHSHOP_TLS"] == "true" and "FISHSHOP_CERTS_DIR" not in env
        # A client certificate without a CA (cert-manager's tls.crt and tls.key from a
        # public issuer): mutual TLS, and mutual TLS with SASL, on the system's CAs.
        cluster.kubectl(
            "create", "secret", "generic", "client-only", "-n", namespace,
            f"--from-file=tls.crt={client / 'service.cert'}",
            f"--from-file=tls.key={client / 'service.key'}",
        )  # fmt: skip
        mutual = small_shop(f"127.0.0.1:{broker.extra_listeners['SSL'][1]}", name="mutual")
        mutual["spec"]["kafka"]["tlsSecret"] = "client-only"
        both = small_shop(bootstrap, name="both")
        both["spec"]["kafka"]["tlsSecret"] = "client-only"
        both["spec"]["kafka"]["sasl"] = {"mechanism": "PLAIN", "secret": PLAIN_USER[0]}
        for made in (mutual, both):
            apply(cluster, namespace, made)
        for name in ("mutual", "both"):
            topics = wait_for(
                f"{name}: topics with a client certificate and the system's CAs",
                lambda name=name: (
                    (ready := condition(get(cluster, namespace, "fishshop", name), "TopicsReady"))
                    .get("status") == "True" and ready
                ),
                timeout=90,
            )  # fmt: skip
            said = "as cert-manager's tls.crt, tls.key with the system's CAs"
            assert said in topics["message"], topics["message"]
        monkeypatch.setenv("SSL_CERT_FILE", str(client / "ca.pem"))
        audit = run_fishshop(
            "audit", "--shop", "harbour", "--namespace", namespace, "--json", "--tls",
            "--bootstrap-servers", bootstrap, "--sasl-mechanism", "PLAIN",
            "--sasl-username", PLAIN_USER[0], sasl_password=PLAIN_USER[1],
        )  # fmt: skip
        assert audit.returncode == 0, audit.stderr
        assert json.loads(audit.stdout)["orders_served"] == 0
    finally:
        operator.terminate(30)
        next(namespaces, None)
