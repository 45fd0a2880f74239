# syntax=docker/dockerfile:1

# svahub: API server, job worker and migrations in one static binary, plus the
# Qualifica simulator. Build from the repository root:
#
#   docker build -t svahub:local .
#   docker build --build-arg VERSION=$(git describe --tags --always) -t svahub:local .
#
# The final image is distroless (no shell, no curl) and runs as nonroot
# (uid 65532). Without SVAHUB_DATABASE_URL it uses SQLite at
# /var/lib/svahub/svahub.db (mount a volume there); see deploy/README.md.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src

# Dependencies first, so source edits do not invalidate the module cache layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .

ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
# CGO off: modernc SQLite and pgx are pure Go, so the binaries are static.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w -X github.com/svahub/svahub/internal/buildinfo.version=${VERSION}" \
        -o /out/bin/ ./cmd/svahub ./cmd/qualifica-sim \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot

LABEL org.opencontainers.image.title="svahub" \
      org.opencontainers.image.description="Content-platform add-ons (SVA) for ISPs" \
      org.opencontainers.image.source="https://github.com/svahub/svahub"

COPY --from=build /out/bin/svahub /out/bin/qualifica-sim /usr/local/bin/
# Writable home for the default SQLite database and its generated key file.
COPY --from=build --chown=65532:65532 /out/data /var/lib/svahub
WORKDIR /var/lib/svahub

USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/svahub"]
CMD ["serve"]
