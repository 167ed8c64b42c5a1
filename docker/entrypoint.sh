#!/bin/sh
# Reads secrets from files (Docker/compose secrets) when NAME_FILE is set, then runs
# the command. A secret never sits in the image or in `docker inspect` output this way.
set -eu
for name in RECEPTIONIST_ARI_PASSWORD OPENAI_API_KEY RECEPTIONIST_REALTIME_API_KEY; do
  file=$(printenv "${name}_FILE" || true)
  if [ -n "$file" ]; then
    if [ ! -r "$file" ]; then
      echo "receptionist: ${name}_FILE=$file is not a readable file" >&2
      exit 64
    fi
    value=$(cat "$file")
    export "$name=$value"
    unset "${name}_FILE"
  fi
done
exec "$@"
