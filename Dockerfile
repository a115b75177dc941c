# syntax=docker/dockerfile:1.7
#
# One image for every casetrail process: the three APIs, the console, the relay and the
# consumers are the same code (one uv workspace, one uv.lock) started with different `casetrail`
# arguments (the console: `python -m console_service`).
#
#   docker build -t casetrail:$(git rev-parse --short HEAD) .             # generic image
#   docker run --rm casetrail:TAG serve case --host 0.0.0.0 --port 8000
#   docker run --rm casetrail:TAG consume contact-log
#
# Named targets bake the right default command into the same layers (no second build):
#   docker build --target case-api -t casetrail-case-api:TAG .
#   targets: case-api, case-relay, contact-api, contact-log-consumer, billing-api,
#            billing-ledger-consumer (see also services/<svc>/Dockerfile)
#
# Kubernetes (deploy/k8s) runs the generic image and passes `args`, so one image digest is
# promoted through every environment. No secret is baked in: CASETRAIL_MASTER_KEY,
# CASETRAIL_API_KEYS and the *_DATABASE_URL variables come from the environment at run time.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

# ---------------------------------------------------------------------------------------------
FROM ${UV_IMAGE} AS uv

# ---------------------------------------------------------------------------------------------
# builder: resolve nothing, install exactly what uv.lock pins into /app/.venv
FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /uvx /usr/local/bin/
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app

# 1) third-party dependencies only: this layer is rebuilt when uv.lock or a pyproject changes,
#    not when source changes.
COPY uv.lock pyproject.toml ./
COPY shared/pyproject.toml shared/
COPY services/case-service/pyproject.toml services/case-service/
COPY services/contact-service/pyproject.toml services/contact-service/
COPY services/billing-service/pyproject.toml services/billing-service/
COPY services/console/pyproject.toml services/console/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --all-packages --no-install-workspace

# 2) the workspace packages themselves, installed as regular wheels (--no-editable): the venv
#    then holds the code and its package data (policy packs), and needs no source tree beside it.
COPY shared/src shared/src
COPY services/case-service/src services/case-service/src
COPY services/contact-service/src services/contact-service/src
COPY services/billing-service/src services/billing-service/src
COPY services/console/src services/console/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --all-packages --no-editable \
 && /app/.venv/bin/casetrail --help >/dev/null
# 3) the regulator PDF's embedded font: static instances of the packaged Noto Sans SC
RUN CASETRAIL_FONT_DIR=/app/fonts /app/.venv/bin/python -m casetrail.pdf_fonts

# ---------------------------------------------------------------------------------------------
# runtime: the same Python base, the venv, a non-root user; no compilers, no uv, no source tree
FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=dev
LABEL org.opencontainers.image.title="casetrail" \
      org.opencontainers.image.description="Event-sourced system of record for outsourced debt collection: APIs, relay and consumers" \
      org.opencontainers.image.version="${VERSION}"
RUN groupadd --system --gid 10001 casetrail \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin casetrail
COPY --from=builder --chown=root:root /app/.venv /app/.venv
COPY --from=builder --chown=root:root /app/fonts /app/fonts
ENV PATH=/app/.venv/bin:$PATH \
    CASETRAIL_FONT_DIR=/app/fonts \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CASETRAIL_LOG_JSON=true \
    CASETRAIL_VAR_DIR=/tmp/casetrail
WORKDIR /app
USER 10001:10001
ENTRYPOINT ["casetrail"]
CMD ["--help"]

# ---------------------------------------------------------------------------------------------
# Per-process targets: same layers as `runtime`, only the default command (and the ops port of
# workers) differ. HEALTHCHECK is for plain Docker/Compose; Kubernetes uses its own probes.
FROM runtime AS case-api
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["serve", "case", "--host", "0.0.0.0", "--port", "8000"]

FROM runtime AS contact-api
EXPOSE 8001
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8001/healthz', timeout=2)"]
CMD ["serve", "contact", "--host", "0.0.0.0", "--port", "8001"]

FROM runtime AS billing-api
EXPOSE 8002
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8002/healthz', timeout=2)"]
CMD ["serve", "billing", "--host", "0.0.0.0", "--port", "8002"]

FROM runtime AS worker
ENV CASETRAIL_METRICS_PORT=9100
EXPOSE 9100
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:9100/healthz', timeout=2)"]

FROM worker AS case-relay
CMD ["relay", "case"]

FROM worker AS contact-log-consumer
CMD ["consume", "contact-log"]

FROM worker AS billing-ledger-consumer
CMD ["consume", "billing-ledger"]

# ---------------------------------------------------------------------------------------------
# Default target (`docker build .` with no --target): the generic image.
FROM runtime AS casetrail
