# syntax=docker/dockerfile:1
# faqbot's image: one replica (the Slack server and its answer worker, which alone holds the
# model). Built and run by compose.yaml; see docs/deploy.md for what was tested where.
#
# The install and start steps are the repository's own scripts, the ones `make setup` (CI's
# .ci/run) and `make run` use: scripts/install.sh and scripts/start.sh.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtual environment with CPU torch, faqbot and the bundled model --------------
FROM ${PYTHON_IMAGE} AS build
# PyTorch's CPU-only index: the default index would bring a multi-GB CUDA build
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY faqbot ./faqbot
COPY scripts/install.sh ./scripts/install.sh
RUN TORCH_INDEX_URL="${TORCH_INDEX_URL}" scripts/install.sh /opt/venv image

# --- runtime: the environment, the start scripts, a non-root user ---------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV VENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    PORT=3000 \
    FAQBOT_KNOWLEDGE_DIR=/knowledge \
    FAQBOT_INDEX_DIR=/var/lib/faqbot/index \
    FAQBOT_STATE_DIR=/var/lib/faqbot/state
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin faqbot \
    && mkdir -p /var/lib/faqbot/index /var/lib/faqbot/state \
    && chown -R faqbot:faqbot /var/lib/faqbot
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY app.py ./
COPY scripts/start.sh scripts/healthcheck.py ./scripts/
# the bundled documents, for a first run; compose mounts the company's folder read-only here
COPY knowledge /knowledge
USER faqbot
EXPOSE 3000
# the index on its own volume (shared by the replicas); the state folder for SQLite
VOLUME ["/var/lib/faqbot/index", "/var/lib/faqbot/state"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "/app/scripts/healthcheck.py", "/healthz"]
CMD ["/app/scripts/start.sh"]
