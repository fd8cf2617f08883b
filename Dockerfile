# syntax=docker/dockerfile:1
#
# creators-onboard: the Slack bot, its health endpoint and the 1Password CLI.
#
#   docker build -t creators-onboard .
#   docker run --rm -p 3000:3000 --env-file bot.env \
#     -v creators-onboard-data:/data \
#     -v "$PWD/creators-onboard.yml:/config/creators-onboard.yml:ro" \
#     creators-onboard
#
# No secret is baked into the image: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET,
# GITHUB_TOKEN, LINEAR_API_KEY, OP_SERVICE_ACCOUNT_TOKEN (and the BFF smoke
# tokens) come from the environment at run time.

# ---------------------------------------------------------------- builder
FROM python:3.11.11-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
RUN python -m venv /opt/venv

# Build a wheel from the project and install it (with its pinned-by-range
# dependencies) into a self-contained virtualenv that the final stage copies.
COPY pyproject.toml README.md ./
COPY bot/ ./bot/
COPY handlers/ ./handlers/
RUN /opt/venv/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-cache-dir /wheels/*.whl

# ------------------------------------------------------------------ final
FROM python:3.11.11-slim-bookworm

LABEL org.opencontainers.image.title="creators-onboard" \
      org.opencontainers.image.description="Slack bot for the Amazon Creators API onboarding runbook"

# A fixed, unprivileged uid/gid (10001) so volume ownership is predictable.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /data \
       --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /data /config \
    && chown app:app /data

# The 1Password CLI, from 1Password's official image (a static binary).
COPY --from=1password/op:2 /usr/local/bin/op /usr/local/bin/op
COPY --from=builder /opt/venv /opt/venv

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    OP_CLI_PATH=/usr/local/bin/op \
    DATABASE_URL=sqlite:////data/creators-onboard.sqlite \
    CREATORS_ONBOARD_CONFIG=/config/creators-onboard.yml

# The default SQLite database lives here; mount a volume to keep it.
WORKDIR /data
VOLUME ["/data"]

USER 10001:10001
EXPOSE 3000

# slim has no curl: ask /healthz with the standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=4); sys.exit(0 if r.status == 200 else 1)"]

# SIGINT reaches Python even as PID 1 (it installs a handler for it), so a
# `docker stop` shuts the server down cleanly without an init process.
STOPSIGNAL SIGINT

ENTRYPOINT ["creators-onboard"]
CMD ["serve"]
