# arc-controller image: a static binary on distroless, running as non-root.
#
#   docker build -t ghcr.io/artifact-conduit/arc-controller:dev .
#
# Multi-platform: docker buildx build --platform linux/amd64,linux/arm64 ...
# (the builder runs natively and cross-compiles; no emulation needed).

FROM --platform=$BUILDPLATFORM golang:1.25 AS builder
WORKDIR /src
# Dependencies first, so a change in ARC's code reuses this layer.
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY pkg/ pkg/
ARG TARGETOS=linux
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false -ldflags "-s -w" -o /out/arc-controller ./cmd/arc-controller

FROM gcr.io/distroless/static:nonroot
COPY --from=builder /out/arc-controller /arc-controller
# The numeric user lets Kubernetes check runAsNonRoot without an /etc/passwd lookup.
USER 65532:65532
ENTRYPOINT ["/arc-controller"]
