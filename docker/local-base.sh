#!/usr/bin/env bash
# Make a local stand-in for the official python:3.11-slim image when no container registry is
# reachable: a Debian bookworm rootfs from debootstrap (Debian's own packages, from the mirror
# apt already uses), imported into podman, with a venv at /usr/local so that `python` and
# `pip` resolve as they do in the official image.
#
#   docker/local-base.sh [IMAGE]      # default localhost/credit-glm-base:bookworm
#   podman build --build-arg PYTHON_IMAGE=localhost/credit-glm-base:bookworm -f docker/Dockerfile .
#
# Reuses IMAGE when podman already has it (delete it with `podman rmi IMAGE` to rebuild).
# Needs root (debootstrap), podman, runc and debootstrap; pip inside the build uses the host's
# CA bundle. Takes about 4 minutes on 2 cores.
set -euo pipefail

image=${1:-localhost/credit-glm-base:bookworm}
podman=(podman --runtime runc --cgroup-manager cgroupfs)

if "${podman[@]}" image exists "$image"; then
  echo "base image $image exists: reused"
  exit 0
fi

for tool in debootstrap podman; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || {
    echo "error: $tool is not installed (apt-get install podman runc debootstrap)" >&2; exit 1; }
done
if [ "$(id -u)" -ne 0 ]; then
  echo "error: debootstrap needs root to make the base image $image" >&2
  exit 1
fi

mirror=${DEBIAN_MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources \
  2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}
ca_bundle=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/rootfs"
echo "debootstrap bookworm from $mirror"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
tar -C "$work/rootfs" -c . | "${podman[@]}" import - "$image-rootfs" >/dev/null
rm -rf "$work/rootfs"

printf '[global]\ncert = %s\n' "$ca_bundle" >"$work/pip.conf"
cat >"$work/Containerfile" <<CONTAINERFILE
FROM $image-rootfs
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8
RUN python3 -m venv /usr/local \
    && /usr/local/bin/pip install --no-cache-dir --upgrade pip setuptools wheel
CMD ["python3"]
CONTAINERFILE
"${podman[@]}" build --network host \
  -v "$(dirname "$ca_bundle"):$(dirname "$ca_bundle"):ro" -v "$work/pip.conf:/etc/pip.conf:ro" \
  -t "$image" -f "$work/Containerfile" "$work"
"${podman[@]}" rmi "$image-rootfs" >/dev/null || true
echo "base image $image built"
