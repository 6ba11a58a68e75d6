#!/usr/bin/env bash
# make image: build the one image the operator and every worker run, from the
# Dockerfile, with Docker where it runs, else Podman. IMAGE names it (fishshop:dev by
# default); PYTHON_IMAGE, when set, is the Python base to build on (the Dockerfile pins
# one from Docker Hub); more arguments go to the engine's build (make image
# BUILD_FLAGS="--network=host": a machine whose containers reach PyPI only through the
# host). Then push it to your registry, or load it into kind.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${1:-fishshop:dev}"
shift || true
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    engine=docker
elif command -v podman >/dev/null; then
    engine=podman
else
    echo "make image: neither Docker nor Podman runs here; install one (Debian: apt-get install podman)" >&2
    exit 3
fi
echo "make image: building $IMAGE with $engine" >&2
"$engine" build ${PYTHON_IMAGE:+--build-arg "PYTHON_IMAGE=$PYTHON_IMAGE"} "$@" --tag "$IMAGE" .
cat >&2 <<NEXT
make image: built $IMAGE. Next, either
  $engine push $IMAGE                  # to your registry, or
  kind load docker-image $IMAGE        # into a kind cluster (Podman: kind load image-archive)
then
  helm install fishshop charts/fishshop -n fishshop-system --create-namespace \\
    --set image.repository=${IMAGE%:*} --set image.tag=${IMAGE##*:}
NEXT
