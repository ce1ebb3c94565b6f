# Grapevine agent image: built from this repository, run as a non-root user on a read-only root
# filesystem. Gossip on 7946 (UDP and TCP), the HTTP API, health probes and metrics on 7980.
# SIGTERM (what Kubernetes and `docker stop` send) makes the agent leave the cluster gracefully.
#
#   docker build -t grapevine:0.1.0 .
#   docker run --rm --read-only -p 7946:7946/udp -p 7946:7946 -p 7980:7980 \
#     -e GRAPEVINE_HTTP_TOKEN=change-me grapevine:0.1.0 agent --name node-1

# --- build: compile TypeScript and the dashboard, then keep only what a running agent needs
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY web ./web
RUN npm run build
# The image's own manifest: the library's dependencies plus what the agent and CLI need (their optional peers),
# installed at the lockfile's versions; the plots' and the lab's packages stay out.
RUN mkdir -p /app/dist \
 && node scripts/image-manifest.mjs /app/package.json \
 && cp package-lock.json /app/ \
 && cp -r dist/src dist/web /app/dist/ \
 && cd /app && npm install --omit=dev --ignore-scripts --no-audit --no-fund

# --- run: distroless Node.js 20 (no shell, no package manager), user 65532
FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
COPY --from=build /app ./
USER 65532:65532
# Defaults for a container: listen on every interface, logs as JSON lines. The HTTP API off loopback
# needs GRAPEVINE_HTTP_TOKEN (the agent refuses to start without it). Data (snapshot, keyring file)
# goes under /var/lib/grapevine: mount a volume there, the root filesystem stays read-only.
ENV GRAPEVINE_BIND=0.0.0.0:7946 \
    GRAPEVINE_HTTP=0.0.0.0:7980 \
    GRAPEVINE_HTTP_ADDR=127.0.0.1:7980 \
    GRAPEVINE_LOG_FORMAT=json \
    NODE_ENV=production
EXPOSE 7946/udp 7946/tcp 7980/tcp
STOPSIGNAL SIGTERM
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/src/cli/cli.js"]
CMD ["agent"]
