/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A config.h with every optional extra turned off, for make check-strict:
 * the library must build as plain C11 + POSIX without them. */
