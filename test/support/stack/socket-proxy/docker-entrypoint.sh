#!/bin/sh
# Renders the configuration into /tmp (the root filesystem may be read-only), then runs HAProxy.
set -e
case "$(echo "${DISABLE_IPV6:-0}" | tr 'A-Z' 'a-z')" in
  1|true|yes) bind=":2375" ;;
  *) bind="[::]:2375 v4v6" ;;
esac
sed "s/BIND_CONFIG/$bind/" /usr/local/etc/haproxy/haproxy.cfg.template > /tmp/haproxy.cfg
if [ "${1#-}" != "$1" ]; then set -- haproxy "$@"; fi
exec "$@"
