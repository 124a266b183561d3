#!/usr/bin/env bash
# .ci/install-interop.sh: installs the real SASL peers the interop tests in
# internal/interop talk to (GNU gsasl, Cyrus sasl2-bin, Dovecot's doveadm,
# swaks, curl, openssl, python3) on Debian or Ubuntu. Run it as root:
#
#   bash .ci/install-interop.sh
#
# It is idempotent and quiet, and fails on any error. Dovecot's package tries
# to start a system service; in a container that is refused, and if it did
# start, the script stops it so that tests own every process they talk to.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes

if [ "$(id -u)" -ne 0 ]; then
    echo "install-interop.sh: must run as root (try: sudo bash $0)" >&2
    exit 1
fi

apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    gsasl sasl2-bin libsasl2-modules swaks \
    dovecot-core dovecot-imapd dovecot-submissiond dovecot-pgsql \
    prosody postgresql-15 redis-server slapd ldap-utils slapd-contrib \
    curl openssl ca-certificates python3 >/dev/null

# Stop a Dovecot the package may have started.
if [ -e /run/dovecot/master.pid ]; then
    dovecot stop >/dev/null 2>&1 || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ -e /run/dovecot/master.pid ] || break
        sleep 0.5
    done
    if [ -e /run/dovecot/master.pid ] && kill -0 "$(cat /run/dovecot/master.pid)" 2>/dev/null; then
        echo "install-interop.sh: dovecot is still running" >&2
        exit 1
    fi
fi

# Stop a PostgreSQL or Prosody the packages may have started: the tests run
# their own.
if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
fi
if [ -e /run/slapd/slapd.pid ] && kill -0 "$(cat /run/slapd/slapd.pid)" 2>/dev/null; then
    kill "$(cat /run/slapd/slapd.pid)" || true
fi
if [ -e /run/redis/redis-server.pid ] && kill -0 "$(cat /run/redis/redis-server.pid)" 2>/dev/null; then
    kill "$(cat /run/redis/redis-server.pid)" || true
fi
if [ -e /run/prosody/prosody.pid ] && kill -0 "$(cat /run/prosody/prosody.pid)" 2>/dev/null; then
    kill "$(cat /run/prosody/prosody.pid)" || true
fi

# Fail loudly if a tool the tests need did not come with its package.
for tool in gsasl sasl-sample-client sasl-sample-server saslpasswd2 doveadm prosody prosodyctl /usr/lib/postgresql/15/bin/initdb psql redis-server slapd slapadd ldapadd slappasswd swaks curl openssl python3 stdbuf setsid; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        echo "install-interop.sh: $tool not found after install" >&2
        exit 1
    fi
done
