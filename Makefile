# fishshop: the commands the README names.
PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: locks demo install kube helm lint unit test bench bench-reconcile cluster cluster-down \
	chart-crd image kind-tools kind-up kind-e2e kind-check kind-logs kind-down actionlint screenshots

SCENARIO ?=
demo:  ## run the shop live in the terminal on the embedded broker (SCENARIO=cook, hot-cabinet, ...)
	bash scripts/install-demo-deps.sh $(if $(SCENARIO),$(SCENARIO),default)
	$(PYTHON) -m pip install -q -e .
	fishshop demo $(if $(SCENARIO),--scenario $(SCENARIO))

install:  ## install Java, promtool, the package with its dev tools, and the control plane
	bash scripts/install-test-deps.sh

kube:  ## build etcd, kube-apiserver, kube-controller-manager, kubectl (cached)
	bash scripts/build-kube.sh

cluster: kube  ## start a local control plane with the CRD; prints the KUBECONFIG to export
	$(PYTHON) -m tests.support.cluster up

cluster-down:  ## stop the control plane `make cluster` started
	$(PYTHON) -m tests.support.cluster down

helm:  ## build helm from the Go module proxy (cached); prints its folder
	bash scripts/build-helm.sh

chart-crd:  ## copy the CRD (manifests/crd, its one source) into the Helm chart
	cp manifests/crd/fishshops.fishshop.dev.yaml charts/fishshop/crds/

IMAGE ?= fishshop:dev
image:  ## build the image the operator and workers run (Docker, else Podman): IMAGE=registry/fishshop:TAG
	bash scripts/build-image.sh "$(IMAGE)" $(BUILD_FLAGS)

kind-tools:  ## kind, kubectl, helm at scripts/versions.env's versions (cached); prints their folders
	bash scripts/install-kind-tools.sh

kind-up:  ## kind cluster (Docker, or Podman), image, Kafka, monitoring, chart, a shop
	bash scripts/kind-up.sh

kind-e2e:  ## after kind-up: the end-to-end checks against the kind cluster (a skip fails)
	PYTHON=$(PYTHON) bash scripts/kind-e2e.sh

kind-check:  ## CI's kind stage: a new cluster with every sample, kind-e2e, logs on failure, kind-down
	PYTHON=$(PYTHON) bash scripts/kind-check.sh

kind-logs:  ## save the shops, pods, events and logs of the kind cluster in kind-logs/
	bash scripts/kind-logs.sh kind-logs

kind-down:  ## delete the kind cluster
	bash scripts/kind-down.sh

actionlint:  ## build actionlint from the Go module proxy (cached); prints its folder
	bash scripts/build-actionlint.sh

lint:  ## shellcheck; actionlint on .github/workflows (shellcheck on their scripts); ruff; mypy; import rules
	shellcheck -x scripts/*.sh scripts/kind/*.sh scripts/kind/*/*.sh .ci/run
	"$$(bash scripts/build-actionlint.sh)/actionlint"
	ruff check .
	ruff format --check .
	mypy
	lint-imports

unit:
	$(PYTHON) -m pytest tests/unit -q

# Two pytest workers, a test file each at a time, each with servers of its own:
# TEST_WORKERS=0 runs the tests one at a time (docs/testing.md, "Where it goes").
TEST_WORKERS ?= 2
test: install lint  ## everything CI runs: lint, unit and integration tests; the 25 slowest named
	$(PYTHON) -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=25 $(PYTEST_ARGS)

locks:  ## regenerate the pinned jar lists (Kafka; the JDBC sink plugin) from their pom.xml
	python scripts/lock-jars.py workers/fishshop_workers/embedded/locks/kafka/pom.xml workers/fishshop_workers/embedded/locks/kafka/kafka-jars.lock
	python scripts/lock-jars.py workers/fishshop_workers/embedded/locks/jdbc-sink/pom.xml workers/fishshop_workers/embedded/locks/jdbc-sink/jdbc-sink-jars.lock $(SINK_PROVIDED)

# Jars Kafka's runtime already provides (a second copy in the plugin breaks Jackson's
# module loading), and the drivers of databases the analyst does not use.
SINK_PROVIDED = $(addprefix --exclude ,org.apache.kafka:connect-api org.apache.kafka:kafka-clients \
	at.yawk.lz4:lz4-java org.lz4:lz4-java org.xerial.snappy:snappy-java com.github.luben:zstd-jni \
	org.slf4j:slf4j-api com.fasterxml.jackson.core:jackson-core com.fasterxml.jackson.core:jackson-databind \
	com.fasterxml.jackson.core:jackson-annotations org.mariadb.jdbc:mariadb-java-client \
	com.microsoft.sqlserver:mssql-jdbc com.mysql:mysql-connector-j com.oracle.database.jdbc:ojdbc11)

bench:  ## orders per second through the shop against textbook aiokafka and librdkafka loops, paired
	$(PYTHON) -m pip install -q -e '.[bench]'
	$(PYTHON) bench/pipeline.py

bench-reconcile:  ## apply-to-Ready for 20 shops against a bare baseline; resync, requests and memory at 300
	$(PYTHON) bench/reconcile.py

screenshots:  ## run each scenario on the embedded broker and save docs/screenshots/<scenario>.svg
	$(PYTHON) docs/screenshots.py
