# The images the e2e suite and the demo run, for clusters that take images
# from Docker (kind: hack/images.sh loads them with `kind load docker-image`).
# The local test bed makes the same ones without Docker, from its own Debian
# rootfs (hack/localcluster/build.sh, hack/images.sh).
#
# testbed  localhost/lk8s/redis:7.0.15 and localhost/lk8s/pyredis:bookworm:
#          Debian bookworm with redis-server and redis-cli 7.0.15, python3 and
#          python3-redis, and sh; the default command is a Redis server.
# example  localhost/kubectl-workqueue/rediswq-worker:v1: the Kubernetes
#          docs' worker (worker.py and rediswq.py, the build context) as
#          uid 65534, so it also runs under `run --restricted`.
FROM debian:bookworm-slim AS testbed
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server redis-tools python3 python3-redis \
 && rm -rf /var/lib/apt/lists/*
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"]

FROM testbed AS example
WORKDIR /app
COPY rediswq.py worker.py /app/
ENV PYTHONUNBUFFERED=1
USER 65534:65534
ENTRYPOINT ["python3", "/app/worker.py"]
