# The worker image of a release, built by goreleaser (.goreleaser.yaml,
# dockers_v2) from the workqueue-worker binaries it built: nothing but the
# static binary at /workqueue-worker (internal/manifest.WorkerImageBinary), run
# as the non-root uid 65532 (internal/manifest.WorkerUID). `make worker-image`
# builds the local one.
FROM scratch
ARG TARGETPLATFORM
COPY $TARGETPLATFORM/workqueue-worker /workqueue-worker
USER 65532:65532
ENTRYPOINT ["/workqueue-worker"]
