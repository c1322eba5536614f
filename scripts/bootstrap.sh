#!/usr/bin/env bash
# Install what the project needs on a Debian machine (idempotent, as root):
# Debian packages, the Asterisk root filesystem (cached outside the checkout) and
# a virtualenv with the pinned Python dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS="debootstrap redis-server redis-tools baresip postgresql sox espeak-ng libsndfile1 sqlite3 procps chromium sip-tester nodejs openssh-server dovecot-imapd dovecot-lmtpd"
[ -f amd/DEBIAN_PACKAGES ] && DEBS="$DEBS $(grep -v '^#' amd/DEBIAN_PACKAGES | tr '\n' ' ')"
missing=""
for pkg in $DEBS; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "error: missing Debian packages:$missing (run as root, or install them)" >&2
        exit 2
    fi
    echo "bootstrap: installing Debian packages:$missing"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
    # openssh-server and dovecot are here for the tests' SFTP and IMAP servers only (each
    # test starts its own on loopback): a machine that had none gets none listening on
    # every address because of us
    case " $missing " in *" openssh-server "*)
        command -v systemctl >/dev/null && systemctl disable --now ssh.service ssh.socket 2>/dev/null || true ;;
    esac
    case " $missing " in *" dovecot-imapd "*)
        command -v systemctl >/dev/null && systemctl disable --now dovecot.service dovecot.socket 2>/dev/null || true ;;
    esac
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
    || { echo "error: Python 3.11 is required" >&2; exit 2; }
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.centrala-deps
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat $stamp 2>/dev/null)" != "$want" ]; then
    echo "bootstrap: installing Python dependencies (pinned by constraints.txt)"
    .venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
    echo "$want" > $stamp
fi

# Browser libraries the panel serves itself (no CDN): npm ci from package-lock.json (exact
# versions and integrity hashes), then one script per library into web/static/vendor/
# (git-ignored: built here, like the virtualenv). JsSIP publishes CommonJS only, so
# scripts/bundle_vendor.mjs packs it with its four small dependencies. Chart.js (the
# reports' charts) ships a self-contained UMD build: copied as it is.
npm_stamp=node_modules/.centrala-lock
npm_want=$(sha256sum package-lock.json | cut -c1-16)
if [ "$(cat $npm_stamp 2>/dev/null)" != "$npm_want" ] || [ ! -f web/static/vendor/jssip.js ] \
        || [ ! -f web/static/vendor/chart.umd.js ]; then
    # npm ships with NodeSource's nodejs and is a package of its own in Debian's: either will do
    if ! command -v npm >/dev/null; then
        [ "$(id -u)" = 0 ] || { echo "error: npm is missing (apt-get install npm)" >&2; exit 2; }
        echo "bootstrap: installing Debian's npm"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm
    fi
    echo "bootstrap: installing browser libraries (npm ci, pinned by package-lock.json)"
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    node scripts/bundle_vendor.mjs jssip JsSIP web/static/vendor/jssip.js
    cp node_modules/chart.js/dist/chart.umd.min.js web/static/vendor/chart.umd.js
    echo "$npm_want" > $npm_stamp
fi

.venv/bin/centrala asterisk provision
