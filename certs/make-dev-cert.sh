#!/bin/sh
# Make a self-signed key and certificate for STARTTLS in development and tests.
# Production: use a certificate for your MX name (e.g. from your ACME client) instead.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
name=${1:-localhost}
out=${2:-$dir}
openssl req -x509 -newkey rsa:2048 -nodes -days 365 \
  -subj "/CN=$name" -addext "subjectAltName=DNS:$name,IP:127.0.0.1" \
  -keyout "$out/server.key" -out "$out/server.crt" 2>/dev/null
chmod 600 "$out/server.key"
echo "wrote $out/server.key and $out/server.crt for $name"
