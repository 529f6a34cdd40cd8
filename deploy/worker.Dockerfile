# A dask.distributed worker (and scheduler) image with cairn installed, for clusters on
# EC2, ECS and Fargate through dask-cloudprovider, or Kubernetes. Build it from the
# repository root, so the image holds the same cairn as the client (the cluster scheduler
# refuses workers of another cairn version):
#
#   docker build -f deploy/worker.Dockerfile -t cairn-worker:$(git rev-parse --short HEAD) .
#
# then push it to a registry the cluster can pull from (ECR for ECS/Fargate) and pass it as
# `image=` (FargateCluster, ECSCluster) or `docker_image=` (EC2Cluster); see docs/cluster.md.
FROM python:3.11-slim-bookworm AS build
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      g++ libssl-dev git \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml CMakeLists.txt ./
COPY cmake cmake
COPY cpp cpp
COPY python python
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libssl3 tini \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
# The client and every worker must run the same versions of cairn, dask and distributed.
RUN pip install --no-cache-dir /wheels/*.whl "dask[bag]" distributed cloudpickle \
      scikit-learn boto3 \
 && rm -rf /wheels
# No credentials in the image: on AWS the task's or instance's IAM role is used (Arrow's
# default credential chain); elsewhere pass AWS_* environment variables at run time.
ENTRYPOINT ["tini", "-g", "--"]
CMD ["dask", "worker", "--help"]
