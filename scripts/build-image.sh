#!/usr/bin/env bash
# Builds the fix-status container image without reaching any registry: the
# binary is compiled here with Go, then packed by the Dockerfile's "prebuilt"
# source with podman. The base is distroless when that image is present or can
# be pulled, scratch (plus this host's CA bundle) when it cannot.
#
#   scripts/build-image.sh [IMAGE]        # IMAGE defaults to localhost/fix-status:VERSION
#
# Environment: BASE forces the base image (e.g. scratch); CONTAINER_TOOL
# replaces podman (docker works the same way); VERSION and COMMIT replace what
# git says.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
tool=${CONTAINER_TOOL:-podman}
distroless=gcr.io/distroless/static-debian12:nonroot

say() { printf 'build-image: %s\n' "$*" >&2; }

command -v go >/dev/null || { say "go is not on PATH"; exit 1; }
command -v "$tool" >/dev/null || { say "$tool is not on PATH (apt-get install podman)"; exit 1; }

version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || true)}
image=${1:-localhost/fix-status:$version}

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

say "compiling fix-status $version (commit ${commit:-unknown}) for linux/amd64, static"
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath \
  -ldflags "-s -w -X main.version=$version -X main.commit=$commit" \
  -o "$ctx/fix-status" ./cmd/fix-status
say "binary: $(du -h "$ctx/fix-status" | cut -f1), $("$ctx/fix-status" version | head -1)"

ca=
for f in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do
  if [[ -s $f ]]; then ca=$f; break; fi
done
[[ -n $ca ]] || { say "no CA bundle found on this host"; exit 1; }
cp "$ca" "$ctx/ca-certificates.crt"
say "CA bundle: $ca"

base=${BASE:-}
if [[ -z $base ]]; then
  if "$tool" image exists "$distroless" 2>/dev/null; then
    base=$distroless
    say "base: $distroless (present locally)"
  elif timeout 60 "$tool" pull -q "$distroless" >/dev/null 2>&1; then
    base=$distroless
    say "base: $distroless (pulled)"
  else
    base=scratch
    say "base: scratch ($distroless cannot be pulled from here)"
  fi
else
  say "base: $base (BASE)"
fi

say "$tool build --build-arg SOURCE=prebuilt --build-arg BASE=$base -t $image"
"$tool" build --quiet \
  --build-arg SOURCE=prebuilt --build-arg BASE="$base" \
  --build-arg VERSION="$version" --build-arg COMMIT="$commit" \
  -f "$repo/Dockerfile" -t "$image" "$ctx" >/dev/null

say "built $image:"
"$tool" image inspect "$image" --format \
  '  id {{.Id}}
  size {{.Size}} bytes
  user {{.Config.User}}
  entrypoint {{.Config.Entrypoint}} {{.Config.Cmd}}
  env {{.Config.Env}}
  exposed {{range $p, $_ := .Config.ExposedPorts}}{{$p}} {{end}}
  version label {{index .Config.Labels "org.opencontainers.image.version"}}' >&2

# No container can run on every build host; the binary inside the image can
# be checked from a mount of its file system where the tool allows it (root).
if [[ $tool == podman ]] && mnt=$(podman image mount "$image" 2>/dev/null); then
  say "the image's binary says: $("$mnt/usr/local/bin/fix-status" version | tr '\n' ' ')"
  podman image unmount "$image" >/dev/null
fi
echo "$image"
