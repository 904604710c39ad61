# Container image of fix-status: a static binary on a distroless base, run as
# a non-root user.
#
# From source (needs the Go module proxy and the base images' registries):
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) \
#       --build-arg COMMIT=$(git rev-parse HEAD) -t fix-status .
#
# From a binary built beforehand, with no registry at all (scratch base, the
# CA bundle given beside the binary): scripts/build-image.sh does this, with
#
#   podman build --build-arg SOURCE=prebuilt --build-arg BASE=scratch \
#       -f Dockerfile DIR      # DIR holds fix-status and ca-certificates.crt
#
# The image runs `fix-status serve --config /etc/fix-status/config.yaml`;
# other commands replace the arguments (`... fix-status backfill --config ...`).

# SOURCE is the stage the binary comes from: build (compile here) or prebuilt.
ARG SOURCE=build
ARG BASE=gcr.io/distroless/static-debian12:nonroot
ARG GO_IMAGE=docker.io/library/golang:1.26-bookworm

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
# The context has no .git (.dockerignore), so the version and commit come in
# as build arguments; a static binary runs on distroless and scratch alike.
RUN CGO_ENABLED=0 go build -trimpath \
        -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
        -o /out/fix-status ./cmd/fix-status \
    && cp /etc/ssl/certs/ca-certificates.crt /out/ca-certificates.crt

FROM scratch AS prebuilt
COPY fix-status ca-certificates.crt /out/

FROM ${SOURCE} AS binary

FROM ${BASE}
ARG VERSION=dev
ARG COMMIT=
LABEL org.opencontainers.image.title="fix-status" \
      org.opencontainers.image.description="Repairs pull requests stuck on required status checks that will never be reported" \
      org.opencontainers.image.source="https://github.com/fix-status/fix-status" \
      org.opencontainers.image.url="https://github.com/fix-status/fix-status" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
# GitHub is reached over TLS: scratch has no CA bundle of its own.
COPY --from=binary /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=binary /out/fix-status /usr/local/bin/fix-status
# In a container the server must listen beyond loopback (the default).
ENV FIX_STATUS_SERVER_ADDRESS=0.0.0.0
# distroless's "nonroot" user; on scratch the numeric id is enough.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/fix-status"]
CMD ["serve", "--config", "/etc/fix-status/config.yaml"]
