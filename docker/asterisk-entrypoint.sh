#!/bin/sh
# Puts the secrets into Asterisk's configs at start, so the image holds none:
# - ari.conf's password from RECEPTIONIST_ARI_PASSWORD or RECEPTIONIST_ARI_PASSWORD_FILE;
# - every *.conf in /etc/asterisk/local/ (your pjsip.conf with trunk and desk-phone
#   passwords, or any other file to replace) over the shipped one.
# Then refuses to start while a CHANGE-ME-AT-INSTALL password is left anywhere.
set -eu
etc=/etc/asterisk
if [ -n "${RECEPTIONIST_ARI_PASSWORD_FILE:-}" ]; then
  if [ ! -r "$RECEPTIONIST_ARI_PASSWORD_FILE" ]; then
    echo "asterisk: RECEPTIONIST_ARI_PASSWORD_FILE=$RECEPTIONIST_ARI_PASSWORD_FILE is not readable" >&2
    exit 64
  fi
  RECEPTIONIST_ARI_PASSWORD=$(cat "$RECEPTIONIST_ARI_PASSWORD_FILE")
fi
if [ -z "${RECEPTIONIST_ARI_PASSWORD:-}" ]; then
  echo "asterisk: set RECEPTIONIST_ARI_PASSWORD (or RECEPTIONIST_ARI_PASSWORD_FILE)" >&2
  exit 64
fi
if [ -d "$etc/local" ] && { [ ! -r "$etc/local" ] || [ ! -x "$etc/local" ]; }; then
  echo "asterisk: $etc/local is not readable by $(id -un) (uid $(id -u)): chmod it" >&2
  exit 64
fi
for file in "$etc"/local/*.conf; do
  [ -e "$file" ] || continue
  cat "$file" > "$etc/$(basename "$file")"
done
# The password goes through the environment, never a command line (ps would show it).
export RECEPTIONIST_ARI_PASSWORD
awk '/^[[:space:]]*password[[:space:]]*=/ { print "password = " ENVIRON["RECEPTIONIST_ARI_PASSWORD"]; next } { print }' \
  "$etc/ari.conf" > "$etc/ari.conf.new"
cat "$etc/ari.conf.new" > "$etc/ari.conf"
rm -f "$etc/ari.conf.new"
unset RECEPTIONIST_ARI_PASSWORD RECEPTIONIST_ARI_PASSWORD_FILE
left=$(grep -l 'CHANGE-ME-AT-INSTALL' "$etc"/*.conf || true)
if [ -n "$left" ]; then
  echo "asterisk: CHANGE-ME-AT-INSTALL passwords are still in: $left" >&2
  echo "asterisk: put your pjsip.conf (with real passwords) in the directory mounted at $etc/local" >&2
  exit 64
fi
exec "$@"
