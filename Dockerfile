# syntax=docker/dockerfile:1

# --- build: compile TypeScript to dist/, prebundle the workflows, copy the migrations ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The postinstall patch of the postgres driver (see the script) runs during npm install.
COPY scripts/patch-postgres-driver.mjs scripts/
# npm install, not npm ci: the lock lacks other platforms' optional builds (see .ci/run).
RUN npm install --no-audit --no-fund
COPY . .
# The worker deployment version (dist/build-id); .git is not in the context, so pass it:
# docker build --build-arg WORKER_BUILD_ID="$(node -p "require('./package.json').version")+$(git rev-parse --short=12 HEAD)" .
ARG WORKER_BUILD_ID=""
RUN WORKER_BUILD_ID="$WORKER_BUILD_ID" npm run build

# --- runtime: production dependencies and dist/ only ---
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# The postinstall patch of the postgres driver (see the script) runs during npm install.
COPY scripts/patch-postgres-driver.mjs scripts/
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# The API by default; the worker runs `node dist/workers/main.js`, the one-shot migration `node dist/db/setup.js`.
CMD ["node", "dist/api/server.js"]
