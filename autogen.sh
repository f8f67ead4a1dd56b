#!/bin/sh
# Generates configure from a git checkout; release tarballs do not need it.
set -e
cd "$(dirname "$0")"
autoreconf -fi
