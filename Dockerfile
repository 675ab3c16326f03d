# syntax=docker/dockerfile:1
#
# The evident image: both static binaries, evidentd (the archive, the
# entrypoint) and evident (the CI client), on a distroless base without a
# shell or package manager, running as the non-root user 65532.
#
#   docker build -t evident --build-arg VERSION=$(git describe --tags --always) .
#   docker run -p 127.0.0.1:8080:8080 -v evidentd-data:/data evident
#   docker run --rm -v evidentd-data:/data evident token create --role ci --name release-pipeline
#   docker run --rm --entrypoint evident evident --help
#
# The build step is `make build`, the command used outside a container, so
# the image's binaries are the release binaries. go test ./deploy/... checks
# this file against the Makefile and the real evidentd flags.

ARG GO_VERSION=1.26

# The builder runs on the build machine's platform and cross-compiles to the
# target's (CGO_ENABLED=0: pure Go, nothing to link).
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
# The build context has no .git (.dockerignore), so the version comes from
# this argument instead of git describe.
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH make build VERSION="$VERSION" \
    && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/evidentd /src/bin/evident /usr/local/bin/
# The data directory of the embedded default (blobs, SQLite catalog, log
# key), owned by the non-root user so that a fresh volume mounted here is
# writable. Not used when --catalog, --blobs and --log-key point elsewhere.
COPY --from=build --chown=65532:65532 /out/data /data
# Every evidentd subcommand (serve, token, approver, fsck) finds the same
# data directory, also in `docker exec`.
ENV EVIDENTD_DATA=/data
# The numeric id of distroless's "nonroot" user: Kubernetes can check a
# numeric user against runAsNonRoot, a name it cannot.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/evidentd"]
CMD ["serve", "--addr=0.0.0.0:8080", "--data=/data"]
