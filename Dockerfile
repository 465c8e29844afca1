# One image for every role of Powiadom: `docker run powiadom api|worker|all|migrate` (default `all`), and
# `docker run powiadom cli status` for the operators' CLI. Build: `docker build -t powiadom .`
# Three stages: compile with dev dependencies, install production dependencies alone, then a runtime holding
# only dist/, templates/, the SQL files and production node_modules, run by the unprivileged `node` user.
# test/deploy-image.test.ts rebuilds the runtime tree from this file's COPY lines and starts it.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional drops TypeScript (24 MB; an optional peer of Bull Board's valibot and mjml's cosmiconfig, which
# npm installs for dev's sake), the unused pg-cloudflare and uglify-js, and msgpackr's native extractor (msgpackr
# falls back to JavaScript). Source maps and type declarations are never read at run time (licences stay).
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force \
    && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    PORT=3000 \
    OUTBOX_DIR=/app/outbox
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./package.json
COPY templates ./templates
COPY src/db/migrations ./src/db/migrations
COPY src/db/queries ./src/db/queries
COPY deploy/healthcheck.mjs ./deploy/healthcheck.mjs
# Code stays owned by root (read-only to the service); only the outbox (used when SMTP_URL is unset) is writable.
RUN mkdir -p /app/outbox && chown node:node /app/outbox
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=6s --start-period=40s --retries=3 CMD ["node", "deploy/healthcheck.mjs"]
# node itself is PID 1 (no npm, no shell): it receives SIGTERM and shuts down gracefully (SHUTDOWN_GRACE_MS).
ENTRYPOINT ["node", "dist/workers/run-role.js"]
CMD ["all"]
