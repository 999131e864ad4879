#!/bin/sh
# Entry point of the platform image: `ignite-entrypoint <role> [args...]`.
set -eu

role="${1:-${IGNITE_ROLE:-}}"
[ "$#" -gt 0 ] && shift

case "$role" in
  api | compile-worker | runner)
    exec node "/app/apps/$role/dist/main.js" "$@"
    ;;
  migrate)
    # prisma migrate deploy: applies prisma/migrations not yet applied (DATABASE_URL); idempotent.
    cd /opt/prisma
    exec ./node_modules/.bin/prisma migrate deploy "$@"
    ;;
  *)
    echo "usage: ignite-entrypoint api|compile-worker|runner|migrate (got '${role}')" >&2
    exit 64
    ;;
esac
