#!/bin/sh
# scripts/lint.sh - the house rules (scripts/lint.py says which); exit 1 on any problem.
exec python3 "$(dirname "$0")/lint.py" "$@"
