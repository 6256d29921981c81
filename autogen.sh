#!/bin/sh
# Regenerate the build system; nothing else.
exec autoreconf -fi
