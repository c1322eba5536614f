#!/usr/bin/env bash
# Build (once) a Debian sid root filesystem holding Asterisk 22, cached outside
# the checkout. Debian bookworm has no Asterisk package; sid has 22.
# Usage: asterisk-rootfs.sh ROOT        (idempotent: a ready ROOT is reused)
# The package gives the chroot's `asterisk` user the next free system id, which may be a
# host account's (uid 101 was postgres here): `centrala asterisk provision` (which runs this
# script) then renumbers it to ids no host account has, on a new root and on a cached one
# (controlplane/security/chroot_ids.py).
set -euo pipefail
ROOT=${1:?usage: asterisk-rootfs.sh ROOT}
MIRROR=${CENTRALA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES="asterisk asterisk-modules asterisk-core-sounds-en-gsm asterisk-moh-opsound-gsm"

if [ -f "$ROOT/.centrala-ready" ]; then
    echo "asterisk root filesystem: reusing $ROOT"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "error: building the Asterisk root filesystem needs root (debootstrap, chroot)" >&2
    exit 2
fi
parent=$(dirname "$ROOT")
mkdir -p "$parent"
avail_kb=$(df -Pk "$parent" | awk 'NR==2 {print $4}')
if [ "$avail_kb" -lt 1500000 ]; then
    echo "error: $parent has $((avail_kb / 1024)) MiB free; the Asterisk root filesystem needs about 1500 MiB" >&2
    exit 3
fi
command -v debootstrap >/dev/null || { apt-get update -q && apt-get install -y -q --no-install-recommends debootstrap; }

# A half-built root from an interrupted run is thrown away, never trusted.
rm -rf "$ROOT.partial"
echo "asterisk root filesystem: debootstrap sid into $ROOT (a few minutes, once)"
debootstrap --variant=minbase sid "$ROOT.partial" "$MIRROR"
# The mirror's Release file may be past its validity date (snapshot mirrors).
chroot "$ROOT.partial" apt-get -o Acquire::Check-Valid-Until=false update -q
chroot "$ROOT.partial" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends $PACKAGES
chroot "$ROOT.partial" apt-get clean
# No /etc/hosts in a minbase root: without it every lookup of localhost goes to DNS.
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost\n' > "$ROOT.partial/etc/hosts"
mkdir -p "$ROOT.partial/var/spool/asterisk/recording"
chroot "$ROOT.partial" asterisk -V > "$ROOT.partial/.centrala-version"
touch "$ROOT.partial/.centrala-ready"
mv "$ROOT.partial" "$ROOT"
echo "asterisk root filesystem: ready ($(cat "$ROOT/.centrala-version"))"
