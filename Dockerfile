# One image for every role of Powiadom: `docker run powiadom api|worker|all|migrate` (default `all`), and
# `docker run powiadom cli status` for the operators' CLI. Build: `docker build -t powiadom .`
# Three stages: compile with dev dependencies, install production dependencies alone, then a runtime holding
# only the node binary, dist/, templates/, the SQL files and production node_modules on a distroless base
# (glibc and the C++ runtime, CA certificates, time zones; no shell, no package manager, no npm), run as the
# unprivileged user 65532. test/deploy-image.test.ts builds that runtime as a root filesystem from the same
# Debian packages and this file's COPY lines, and runs its ENTRYPOINT there (docs/deployment.md, "Image size").
ARG NODE_IMAGE=node:24-bookworm-slim
# Google's distroless C/C++ image for Debian 12, the Debian (and glibc) of NODE_IMAGE, whose node binary it runs.
# `nonroot` is a tag, moving with Debian 12's updates; pin its digest in your registry to freeze it. Without
# access to gcr.io: `--build-arg RUNTIME_IMAGE=debian:bookworm-slim` (larger; the same stage works on it, as it
# runs nothing and names its user by number).
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
RUN npm run build
# The runtime has no shell to make its one writable folder with: it is made here and copied in.
RUN mkdir /app/outbox

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional drops TypeScript (24 MB; an optional peer of Bull Board's valibot and mjml's cosmiconfig, which
# npm installs for dev's sake), the unused pg-cloudflare and uglify-js, and msgpackr's native extractor (msgpackr
# falls back to JavaScript). Source maps and type declarations are never read at run time (licences stay).
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force \
    && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete

# No RUN below this line: the runtime image has no shell to run one.
FROM ${RUNTIME_IMAGE}
ENV NODE_ENV=production \
    PORT=3000 \
    OUTBOX_DIR=/app/outbox
WORKDIR /app
# The node binary alone (not npm, corepack or the C headers of the Node.js image): it needs libc, libm, libdl,
# libpthread, libstdc++ and libgcc_s, all in the runtime image (Debian 12's, as the Node.js image has them).
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./package.json
COPY templates ./templates
COPY src/db/migrations ./src/db/migrations
COPY src/db/queries ./src/db/queries
COPY deploy/healthcheck.mjs ./deploy/healthcheck.mjs
# Code stays owned by root (read-only to the service); only the outbox (used when SMTP_URL is unset) is writable,
# owned by 65532, distroless's `nonroot`. USER is numeric so that a base without that user runs it the same.
COPY --from=build --chown=65532:65532 /app/outbox ./outbox
USER 65532:65532
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=6s --start-period=40s --retries=3 CMD ["/usr/local/bin/node", "/app/deploy/healthcheck.mjs"]
# node itself is PID 1 (no npm, no shell): it receives SIGTERM and shuts down gracefully (SHUTDOWN_GRACE_MS).
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/workers/run-role.js"]
CMD ["all"]
