#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Generates configure from a git checkout; release tarballs do not need it.
set -e
cd "$(dirname "$0")"
autoreconf -fi
