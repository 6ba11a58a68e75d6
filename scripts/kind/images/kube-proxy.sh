#!/bin/sh
# Choose the iptables mode the node already uses (as kind's node entrypoint and the
# upstream kube-proxy image do), then run kube-proxy.
legacy=$( (iptables-legacy-save || true; ip6tables-legacy-save || true) 2>/dev/null | grep -c '^-' || true)
nft=$( (timeout 5 sh -c "iptables-nft-save; ip6tables-nft-save" || true) 2>/dev/null | grep -c '^-' || true)
mode=nft
if [ "$legacy" -ge "$nft" ] && [ "$legacy" -gt 0 ]; then mode=legacy; fi
update-alternatives --set iptables "/usr/sbin/iptables-$mode" >/dev/null
update-alternatives --set ip6tables "/usr/sbin/ip6tables-$mode" >/dev/null
exec /usr/local/libexec/kube-proxy "$@"
