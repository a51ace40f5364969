#!/bin/sh
# The container image's entrypoint: `tessera serve` on KServe's conventions. KServe's storage
# initializer puts the model repository at /mnt/models, and KServe routes to container port 8080
# (Knative also passes it as $PORT). Settings come from the environment; the container's
# arguments follow them, so an option given there wins (tessera serve takes an option's last value).
#
#   TESSERA_BIN                the tessera executable (default /usr/local/bin/tessera)
#   TESSERA_MODEL_REPOSITORY   the model repository folder (default /mnt/models)
#   TESSERA_HTTP_PORT          the HTTP port (default $PORT, else 8080)
#   TESSERA_GRPC_PORT          also serve gRPC on this port (KServe's gRPC port is 8081); unset: HTTP only
#   TESSERA_HOST               the address to listen on (default 0.0.0.0: the pod's network)
#   TESSERA_TOKEN_FILE         a file holding the inference bearer token (a mounted Secret)
#   TESSERA_ADMIN_TOKEN_FILE   a file holding the admin bearer token
#   TESSERA_TLS_CERT, TESSERA_TLS_KEY   PEM files: serve HTTPS, and TLS on gRPC
#
# TESSERA_SERVE_TOKEN and TESSERA_SERVE_ADMIN_TOKEN (say, from a Secret's key) reach tessera as
# they are. The health endpoints the probes call never need a token.
set -eu

bin=${TESSERA_BIN:-/usr/local/bin/tessera}
repository=${TESSERA_MODEL_REPOSITORY:-/mnt/models}

# Each optional setting is put in front of the container's arguments, which stay last.
if [ -n "${TESSERA_TLS_KEY:-}" ]; then set -- --tls-key "$TESSERA_TLS_KEY" "$@"; fi
if [ -n "${TESSERA_TLS_CERT:-}" ]; then set -- --tls-cert "$TESSERA_TLS_CERT" "$@"; fi
if [ -n "${TESSERA_ADMIN_TOKEN_FILE:-}" ]; then set -- --admin-token-file "$TESSERA_ADMIN_TOKEN_FILE" "$@"; fi
if [ -n "${TESSERA_TOKEN_FILE:-}" ]; then set -- --token-file "$TESSERA_TOKEN_FILE" "$@"; fi
if [ -n "${TESSERA_GRPC_PORT:-}" ]; then set -- --grpc-port "$TESSERA_GRPC_PORT" "$@"; fi

# exec: tessera replaces this shell (it is the container's process 1), so the SIGTERM Kubernetes
# sends at shutdown reaches it, and it unloads its models and exits 0.
exec "$bin" serve "$repository" --port "${TESSERA_HTTP_PORT:-${PORT:-8080}}" --host "${TESSERA_HOST:-0.0.0.0}" "$@"
