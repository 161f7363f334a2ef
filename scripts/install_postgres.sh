#!/usr/bin/env bash
# Install Debian's PostgreSQL server for the shared-tuning test (tests/test_tune_postgres.py), which
# starts its own throw-away server on 127.0.0.1 and stops it again. Nothing is started here.
# Idempotent. Exits 0 with a message when it cannot install, so that the test then skips with the reason.
set -u
if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  echo "postgresql: already installed ($(ls -d /usr/lib/postgresql/*/ | head -1))"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "postgresql: not installed and not root; the PostgreSQL test will skip (apt-get install postgresql)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
(apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null) \
  || echo "postgresql: apt-get install failed; the PostgreSQL test will skip"
exit 0
