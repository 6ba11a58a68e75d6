#!/bin/sh
# Import the node's image archives (/kind/images/*.tar) into containerd for the CRI,
# with the snapshotter the entrypoint chose in /etc/containerd/config.toml.
set -eu
snapshotter="$(sed -n 's/^ *snapshotter = "\(.*\)"/\1/p' /etc/containerd/config.toml | head -n 1)"
for archive in /kind/images/*.tar; do
    ctr --namespace=k8s.io images import --all-platforms --digests \
        --snapshotter="${snapshotter:-overlayfs}" "$archive"
done
