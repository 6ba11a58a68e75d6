# One image for the operator and every worker: `fishshop operator`, `fishshop till`,
# `fishshop preparer`, `fishshop cook`, `fishshop audit`.
#
#   docker build -t fishshop:0.1.0 .
#
# The embedded broker (Java) is not in the image: in a cluster the shop uses a real
# Kafka. Build steps live here only; scripts/kind-up.sh calls `docker build` on it.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY workers ./workers
COPY operator ./operator
COPY cli ./cli
RUN python -m pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="fishshop" \
      org.opencontainers.image.description="A fish-and-chip shop on Apache Kafka, run by a Kubernetes operator" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-index --find-links=/wheels fishshop \
 && groupadd --gid 10001 fishshop \
 && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin fishshop
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000 8080
ENTRYPOINT ["fishshop"]
CMD ["--help"]
