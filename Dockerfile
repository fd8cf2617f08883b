# syntax=docker/dockerfile:1
#
# creators-onboard: the Slack bot, its health endpoint and the 1Password CLI.
#
#   docker build -t creators-onboard .
#   docker run --rm -p 3000:3000 --env-file deploy/.env \
#     -v creators-onboard-data:/data \
#     -v "$PWD/creators-onboard.yml:/config/creators-onboard.yml:ro" \
#     creators-onboard
#
# deploy/compose.yaml runs it with PostgreSQL; deploy/kubernetes/ as a StatefulSet.
# No secret is baked into the image: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET,
# GITHUB_TOKEN, LINEAR_API_KEY, OP_SERVICE_ACCOUNT_TOKEN (and the BFF smoke
# tokens) come from the environment at run time (deploy/.env.example lists them all).

# ---------------------------------------------------------------- builder
FROM python:3.11.11-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
RUN python -m venv /opt/venv

# Dependencies first, in their own layer: exactly the hashed pins of the lock file (the
# build backend included), so this layer is rebuilt only when requirements.lock changes.
COPY requirements.lock ./
RUN /opt/venv/bin/pip install --no-cache-dir --require-hashes -r requirements.lock

# Then the bot itself, without resolving anything (the lock has it all), and the venv
# loses the tools that only installed it.
COPY pyproject.toml README.md ./
COPY bot/ ./bot/
COPY handlers/ ./handlers/
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation . \
    && /opt/venv/bin/pip uninstall --yes setuptools wheel pip

# ------------------------------------------------------------------ final
FROM python:3.11.11-slim-bookworm

LABEL org.opencontainers.image.title="creators-onboard" \
      org.opencontainers.image.description="Slack bot for the Amazon Creators API onboarding runbook"

# No pip in the image: the base image's own (and the copy ensurepip could reinstall) go.
# A fixed, unprivileged uid/gid (10001) so volume ownership is predictable.
RUN python -m pip uninstall --yes pip setuptools wheel \
    && rm -rf /usr/local/lib/python3.11/ensurepip/_bundled \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /data \
       --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /data /config \
    && chown app:app /data

# The 1Password CLI, from 1Password's official image at an exact version (a static
# binary). To move it: change the tag here, and the test that checks the pin.
COPY --from=1password/op:2.39.0 /usr/local/bin/op /usr/local/bin/op
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
